"""Backoff: waits grow from ``base_seconds`` or follow a schedule; capped, jittered, then stop."""

from __future__ import annotations

import dataclasses
import random

import pytest

from crossdock.core.backoff import Backoff


def test_without_jitter_the_waits_grow_by_the_factor_up_to_the_cap() -> None:
    backoff = Backoff(max_tries=10, base_seconds=2, max_seconds=60, jitter=0)
    assert [backoff.delay(attempt) for attempt in range(1, 11)] == [
        2, 4, 8, 16, 32, 60, 60, 60, 60, None]


def test_the_factor_sets_the_growth() -> None:
    backoff = Backoff(max_tries=5, base_seconds=1, factor=3, jitter=0)
    assert [backoff.delay(attempt) for attempt in range(1, 6)] == [1, 3, 9, 27, None]


def test_the_default_doubles_from_five_seconds_for_eight_tries() -> None:
    backoff = Backoff()
    assert [backoff.nominal(attempt) for attempt in range(1, 8)] == [
        5, 10, 20, 40, 80, 160, 320]
    assert backoff.delay(7) is not None
    assert backoff.delay(8) is None


def test_after_the_last_try_there_is_no_wait() -> None:
    assert Backoff(max_tries=1).delay(1) is None
    assert Backoff(max_tries=3).delay(5) is None


@pytest.mark.parametrize("jitter", [0.2, 0.5])
def test_jittered_waits_stay_within_the_bounds_and_spread_out(jitter: float) -> None:
    backoff = Backoff(max_tries=100, base_seconds=10, max_seconds=10, jitter=jitter)
    rng = random.Random(7)
    delays = [backoff.delay(1, rng) for _ in range(2000)]
    assert all(d is not None and 10 * (1 - jitter) <= d <= 10 * (1 + jitter) for d in delays)
    waits = [d for d in delays if d is not None]
    # Spread over the whole band, not bunched at the nominal wait.
    assert min(waits) < 10 * (1 - jitter * 0.9)
    assert max(waits) > 10 * (1 + jitter * 0.9)


def test_the_same_random_source_gives_the_same_waits() -> None:
    backoff = Backoff()
    first = [backoff.delay(n, random.Random(3)) for n in range(1, 8)]
    again = [backoff.delay(n, random.Random(3)) for n in range(1, 8)]
    assert first == again


def test_the_cap_holds_where_the_growth_would_overflow_a_float() -> None:
    backoff = Backoff(max_tries=5000, base_seconds=5, max_seconds=3600, jitter=0)
    assert backoff.delay(3000) == 3600


def test_a_zero_base_retries_at_once_whatever_the_try() -> None:
    backoff = Backoff(max_tries=5000, base_seconds=0, jitter=0.2)
    assert backoff.delay(1) == 0
    assert backoff.delay(4000) == 0


SVIX = (5, 300, 1800, 7200, 18000, 36000, 36000)


def test_a_schedule_gives_its_waits_in_order_then_gives_up() -> None:
    backoff = Backoff.from_schedule(SVIX, jitter=0)
    assert [backoff.delay(n) for n in range(1, 9)] == [*SVIX, None]
    assert backoff.max_tries == 8
    assert backoff.max_seconds == 36000


def test_a_schedule_repeats_its_last_step_when_more_tries_are_asked() -> None:
    backoff = dataclasses.replace(Backoff.from_schedule((1, 2), jitter=0), max_tries=5)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 2, 2, None]


def test_a_scheduled_wait_is_jittered_within_its_bounds() -> None:
    backoff = Backoff.from_schedule((100,), jitter=0.1)
    waits = {backoff.delay(1, random.Random(seed)) for seed in range(50)}
    assert all(90 <= wait <= 110 for wait in waits if wait is not None)
    assert len(waits) > 1


@pytest.mark.parametrize("waits", [(), (5, -1)])
def test_a_schedule_without_waits_or_with_a_negative_one_is_refused(
    waits: tuple[float, ...],
) -> None:
    with pytest.raises(ValueError, match="retry schedule"):
        Backoff.from_schedule(waits)
