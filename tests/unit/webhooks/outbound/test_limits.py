"""Per-endpoint gates: a token bucket for the rate, a count for the concurrency cap."""

from __future__ import annotations

import asyncio

import pytest

from crossdock.core.errors import ConfigError
from crossdock.webhooks.outbound.limits import Gate, Gates, TokenBucket
from crossdock.webhooks.outbound.settings import SCHEDULE, DeliverySettings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_spends_its_burst_then_says_how_long_until_the_next_token() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, clock=clock)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock.now = 0.5
    assert bucket.take() == 0.0


def test_a_bucket_saves_no_more_than_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, burst=3, clock=clock)
    clock.now = 100.0
    assert [bucket.take() for _ in range(4)][-1] == pytest.approx(1.0)


@pytest.mark.anyio
async def test_a_gate_holds_its_cap_lets_as_many_wait_and_turns_away_the_rest() -> None:
    gate = Gate(rate=None, cap=1)
    assert await gate.enter() == 0.0
    waiting = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    assert not waiting.done()
    assert await gate.enter() > 0  # one waits already: turned away
    gate.leave()
    assert await waiting == 0.0


@pytest.mark.anyio
async def test_a_gate_over_its_rate_says_how_long_and_keeps_no_place() -> None:
    clock = Clock()
    gate = Gate(rate=1.0, cap=5, clock=clock)
    assert await gate.enter() == 0.0
    assert await gate.enter() == pytest.approx(1.0)
    clock.now = 1.0
    assert await gate.enter() == 0.0


def test_changed_limits_give_a_new_gate() -> None:
    gates = Gates()
    first = gates.get(1, rate=None, cap=1)
    assert gates.get(1, rate=None, cap=1) is first
    assert gates.get(1, rate=5.0, cap=1) is not first


def test_the_schedule_and_allow_list_are_read_from_the_environment() -> None:
    settings = DeliverySettings.from_env({
        "CROSSDOCK_WEBHOOKS_OUTBOUND_SCHEDULE": "1, 2.5,60",
        "CROSSDOCK_WEBHOOKS_OUTBOUND_ALLOW": "127.0.0.1/32,hooks.internal",
    })
    assert settings.schedule == (1.0, 2.5, 60.0)
    assert settings.allow == ("127.0.0.1/32", "hooks.internal")
    assert settings.backoff.max_tries == 4


def test_by_default_the_schedule_is_svixs_and_nothing_private_is_allowed() -> None:
    settings = DeliverySettings.from_env({})
    assert settings.schedule == SCHEDULE
    assert settings.allow == ()
    assert settings.disable_after.days == 5


def test_a_negative_wait_in_the_schedule_is_refused() -> None:
    with pytest.raises(ConfigError, match="SCHEDULE"):
        DeliverySettings.from_env({"CROSSDOCK_WEBHOOKS_OUTBOUND_SCHEDULE": "5,-1"})
