"""Secrets, retry schedules and routing rules."""

from __future__ import annotations

import random

import pytest

from crossdock.webhooks.errors import RouteError, SecretUnavailable
from crossdock.webhooks.models import Delivery, DeliveryStatus, RetrySchedule, Route
from crossdock.webhooks.routing import parse_filter, select_routes
from crossdock.webhooks.secrets import describe, resolve


def test_secrets_never_show_their_value() -> None:
    secret = resolve("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{[secret]}"
    assert describe("hunter2") == "literal:***"
    assert describe("env:GH_SECRET") == "env:GH_SECRET"


def test_env_secrets_are_read_from_the_environment() -> None:
    assert resolve("env:X", {"X": "value"}).value == "value"
    with pytest.raises(SecretUnavailable, match="X is not set"):
        resolve("env:X", {})


def test_the_default_retry_schedule_doubles_from_five_seconds_with_jitter() -> None:
    schedule = RetrySchedule()
    rng = random.Random(1)
    delays = [schedule.delay(tries, rng) for tries in range(1, 9)]
    assert delays[-1] is None
    nominal = [5, 10, 20, 40, 80, 160, 320]
    for delay, expected in zip(delays, nominal, strict=False):
        assert delay is not None
        assert expected * 0.8 <= delay <= expected * 1.2
    assert len({round(d, 6) for d in delays[:-1] if d}) == 7


def test_retry_delays_are_capped() -> None:
    schedule = RetrySchedule(max_tries=30, base_seconds=5, max_seconds=60, jitter=0)
    assert schedule.delay(20) == 60


def _delivery(event: str, action: str | None) -> Delivery:
    import datetime as dt

    return Delivery(id=1, source="s", provider="github", provider_delivery_id="d",
                    event_type=event, action=action, status=DeliveryStatus.RECEIVED,
                    reason=None, headers={}, body_size=0,
                    received_at=dt.datetime.now(dt.UTC), processed_at=None,
                    next_attempt_at=None, tries=0, generation=0, last_error=None)


def test_filters_parse_json_values_and_fall_back_to_strings() -> None:
    assert parse_filter("a.b == 3").value == 3
    assert parse_filter("a == true").value is True
    assert parse_filter("repository.full_name == octo/repo").value == "octo/repo"
    with pytest.raises(RouteError):
        parse_filter("a = 3")


def test_routes_select_by_event_action_and_filters() -> None:
    payload = {"repository": {"full_name": "octo/repo", "private": False},
               "commits": [{"id": "abc"}]}
    routes = [
        Route(id=1, source="s", handler="a", event_type="push"),
        Route(id=2, source="s", handler="b", event_type="push", action="opened"),
        Route(id=3, source="s", handler="c",
              filters=(parse_filter("repository.full_name == octo/repo"),
                       parse_filter("commits.0.id == abc"))),
        Route(id=4, source="s", handler="d", filters=(parse_filter("missing.path == 1"),)),
        Route(id=5, source="s", handler="e", filters=(parse_filter("missing.path != 1"),)),
    ]
    chosen = select_routes(routes, _delivery("push", None), payload)
    assert [r.handler for r in chosen] == ["a", "c", "e"]


def test_a_source_without_routes_publishes_everything_on_the_bus() -> None:
    chosen = select_routes([], _delivery("push", None), {})
    assert [(r.handler, r.key) for r in chosen] == [("bus", "default:bus")]
