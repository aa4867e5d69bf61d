"""A subgraph's fetch latency read back from its histogram, quantiles estimated from buckets."""

from __future__ import annotations

import math

import pytest

from crossdock.gateway.metrics import FetchLatency, FetchMetrics, fetch_latencies


def _latency(buckets: tuple[tuple[float, int], ...]) -> FetchLatency:
    return FetchLatency(count=buckets[-1][1], seconds=0.0, buckets=buckets, errors={})


def test_a_quantile_is_interpolated_inside_its_bucket() -> None:
    latency = _latency(((0.01, 0), (0.02, 4), (0.05, 8), (math.inf, 8)))
    assert latency.quantile(0.5) == pytest.approx(0.02)
    assert latency.quantile(0.25) == pytest.approx(0.015)
    assert latency.quantile(0.75) == pytest.approx(0.035)


def test_past_the_last_finite_bound_the_quantile_is_that_bound() -> None:
    latency = _latency(((0.01, 1), (math.inf, 10)))
    assert latency.quantile(0.95) == 0.01


def test_no_fetch_has_no_quantile() -> None:
    assert _latency(((0.01, 0), (math.inf, 0))).quantile(0.5) is None


def test_the_histograms_are_read_back_by_subgraph_with_their_errors() -> None:
    measured = FetchMetrics("latency-test")
    for seconds in (0.003, 0.004, 0.2):
        measured.observe(seconds)
    measured.failed("timeout")
    found = fetch_latencies()["latency-test"]
    assert found.count == 3
    assert found.seconds == pytest.approx(0.207)
    assert found.errors == {"timeout": 1}
    assert found.buckets[-1] == (math.inf, 3)
    assert dict(found.buckets)[0.005] == 2
