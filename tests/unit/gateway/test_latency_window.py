"""A subgraph's fetches over its last minutes: per-minute slots in a ring, on a clock we move."""

from __future__ import annotations

import math

import pytest

from crossdock.gateway.metrics import FetchMetrics, fetch_latencies
from crossdock.gateway.window import MINUTES, LatencyWindow

BOUNDS = (0.01, 0.1, 1.0)


class Clock:
    """Seconds that the test moves on."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_holds_the_fetches_of_its_minutes_and_no_older_ones() -> None:
    clock = Clock()
    window = LatencyWindow(BOUNDS, clock)
    window.observe(0.5)
    window.failed("timeout")
    clock.now += 60 * 3
    window.observe(0.005)
    window.observe(0.05)
    recent = window.read(1)
    assert (recent.count, recent.errors) == (2, {})
    assert recent.seconds == pytest.approx(0.055)
    assert recent.buckets == ((0.01, 1), (0.1, 2), (1.0, 2), (math.inf, 2))
    older = window.read(4)
    assert (older.count, older.errors) == (3, {"timeout": 1})
    assert older.buckets == ((0.01, 1), (0.1, 2), (1.0, 3), (math.inf, 3))
    # Three minutes back reaches the minute under way and the two before it, not the first.
    assert window.read(3).count == 2


def test_a_fetch_of_exactly_a_bound_is_in_that_bound_and_one_past_all_bounds_in_the_last() -> None:
    window = LatencyWindow(BOUNDS, Clock())
    window.observe(0.1)
    window.observe(7.0)
    assert window.read(1).buckets == ((0.01, 0), (0.1, 1), (1.0, 1), (math.inf, 2))


def test_a_slot_used_again_an_hour_later_starts_empty() -> None:
    clock = Clock()
    window = LatencyWindow(BOUNDS, clock)
    window.observe(0.5)
    window.failed("http")
    clock.now += 60 * MINUTES  # the same slot of the ring, a new minute
    assert window.read(MINUTES).count == 0
    window.observe(0.005)
    found = window.read(MINUTES)
    assert (found.count, found.errors) == (1, {})
    assert found.buckets[0] == (0.01, 1)


def test_a_window_is_one_to_sixty_minutes() -> None:
    window = LatencyWindow(BOUNDS, Clock())
    for minutes in (0, MINUTES + 1):
        with pytest.raises(ValueError, match="a window is 1 to 60 minutes"):
            window.read(minutes)


def test_a_subgraphs_fetches_are_read_over_a_window_with_their_errors() -> None:
    measured = FetchMetrics("window-test")
    for seconds in (0.003, 0.2):
        measured.observe(seconds)
    measured.failed("graphql")
    found = fetch_latencies(5)["window-test"]
    assert (found.count, dict(found.errors)) == (2, {"graphql": 1})
    assert found.seconds == pytest.approx(0.203)
    assert found.quantile(0.5) == pytest.approx(0.005)  # the top of the 2.5-5 ms bucket
    assert "never-fetched" not in fetch_latencies(5)
