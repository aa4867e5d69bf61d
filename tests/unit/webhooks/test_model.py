"""Secrets, retry schedules and routing rules."""

from __future__ import annotations

import base64
import random

import pytest

from crossdock.webhooks.errors import RouteError, SecretUnavailable, SourceError
from crossdock.webhooks.models import (
    Delivery,
    DeliveryStatus,
    Route,
    Source,
    check_secret,
)
from crossdock.webhooks.operations import build_source
from crossdock.webhooks.providers.standard import new_key_pair
from crossdock.webhooks.routing import parse_filter, select_routes
from crossdock.webhooks.secrets import describe, resolve


def test_secrets_never_show_their_value() -> None:
    secret = resolve("hunter2-hunter2-hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{[secret]}"
    assert describe("hunter2-hunter2-hunter2") == "literal:***"
    assert describe("env:GH_SECRET") == "env:GH_SECRET"


def test_env_secrets_are_read_from_the_environment() -> None:
    assert resolve("env:X", {"X": "value-of-16-bytes"}).value == "value-of-16-bytes"
    with pytest.raises(SecretUnavailable, match="X is not set"):
        resolve("env:X", {})


@pytest.mark.parametrize("value", ["", "fifteen-bytes!!"])
def test_an_env_secret_empty_or_under_16_bytes_is_no_secret(value: str) -> None:
    with pytest.raises(SecretUnavailable, match="X"):
        resolve("env:X", {"X": value})


WHSEC = "whsec_" + base64.b64encode(b"k" * 24).decode()
WHPK = new_key_pair()[1]


@pytest.mark.parametrize(("provider", "reference"), [
    ("github", "sixteen-bytes-ok"), ("gitlab", "env:GL_TOKEN"), ("hmac", "é" * 8),
    ("standard", WHSEC), pytest.param("standard", WHPK, id="standard-whpk"),
    ("standard", "env:STANDARD_KEY"),
])
def test_secrets_of_16_bytes_and_standard_keys_are_accepted(
    provider: str, reference: str,
) -> None:
    check_secret(provider, reference)


@pytest.mark.parametrize(("provider", "reference", "message"), [
    ("github", "", "at least 16 bytes"),
    ("gitlab", "fifteen-bytes!!", "at least 16 bytes"),
    ("github", "env:", "does not name an environment variable"),
    ("github", "env:NOT A NAME", "does not name an environment variable"),
    ("standard", "a-plain-secret-of-many-bytes", "starts with whsec_ .* or whpk_"),
    ("standard", "whsec_" + base64.b64encode(b"k" * 15).decode(), "at least 16 bytes"),
    ("standard", "whsec_not base64 at all!", "must be base64"),
    ("standard", "whpk_" + base64.b64encode(b"k" * 31).decode(), "ed25519 public key"),
    # A fresh key's id would differ between xdist workers: name it.
    pytest.param("standard", new_key_pair()[0], "starts with whsec_", id="standard-whsk"),
])
def test_short_secrets_and_unprefixed_standard_keys_are_refused_with_a_clear_line(
    provider: str, reference: str, message: str,
) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        check_secret(provider, reference)
    if reference and not reference.startswith("env:"):
        assert reference not in str(caught.value)


def test_a_source_is_built_only_with_valid_secrets() -> None:
    with pytest.raises(SourceError, match="at least 16 bytes"):
        build_source("gh", "github", ["good-secret-0123456", "short"])


def test_a_sources_default_retry_doubles_from_five_seconds_with_jitter() -> None:
    schedule = Source(name="s", provider="github", secrets=("x" * 16,)).retry
    rng = random.Random(1)
    delays = [schedule.delay(tries, rng) for tries in range(1, 9)]
    assert delays[-1] is None
    nominal = [5, 10, 20, 40, 80, 160, 320]
    for delay, expected in zip(delays, nominal, strict=False):
        assert delay is not None
        assert expected * 0.8 <= delay <= expected * 1.2
    assert len({round(d, 6) for d in delays[:-1] if d}) == 7


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
