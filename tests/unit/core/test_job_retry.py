"""A job's retry: after its backoff, or at the time a ``RetryLater`` names; never past its
tries."""

from __future__ import annotations

import datetime as dt

from procrastinate.jobs import Job

from crossdock.core.backoff import Backoff
from crossdock.core.errors import RetryLater
from crossdock.core.jobs import current_try, retry_strategy

BACKOFF = Backoff(max_tries=3, base_seconds=2.0, jitter=0.0)


def _job(attempts: int) -> Job:
    return Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def _seconds_until(when: dt.datetime) -> float:
    return (when - dt.datetime.now(dt.UTC)).total_seconds()


def test_a_plain_failure_retries_after_the_backoff() -> None:
    decision = retry_strategy(BACKOFF).get_retry_decision(exception=ValueError(), job=_job(0))
    assert decision is not None
    assert decision.retry_at is not None
    assert 1.5 < _seconds_until(decision.retry_at) <= 2.0


def test_retry_later_waits_until_its_time_even_past_the_backoff() -> None:
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    decision = retry_strategy(BACKOFF).get_retry_decision(
        exception=RetryLater("rate limited", retry_at=reset), job=_job(0))
    assert decision is not None
    assert decision.retry_at == reset


def test_retry_later_never_retries_sooner_than_the_backoff() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    decision = retry_strategy(BACKOFF).get_retry_decision(
        exception=RetryLater(retry_at=past), job=_job(1))
    assert decision is not None
    assert decision.retry_at is not None
    assert 3.5 < _seconds_until(decision.retry_at) <= 4.0


def test_retry_later_on_the_last_try_gives_up() -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert retry_strategy(BACKOFF).get_retry_decision(
        exception=RetryLater(retry_at=later), job=_job(2)) is None


def test_outside_a_job_the_try_is_the_first() -> None:
    assert current_try() == 1
    assert RetryLater(retry_at=dt.datetime.now(dt.UTC)).message == \
        "The job cannot go on before a given time (a rate limit's reset): try it again then."
