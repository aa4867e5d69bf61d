"""Prometheus metrics of the gateway (served on ``/metrics`` by the ops wrapper).

Requests by operation type, subgraph fetches by subgraph, plans found in the plan cache or
made; with ``telemetry`` turning Prometheus on, requests by operation name too
(:class:`OperationMetrics`, made only then, so a gateway without it has no such series).
A histogram's ``_count`` is the number of requests or fetches, so no separate counter is
kept for them. Label lookups take a lock and hash the labels: the hot path uses children
looked up once (per operation type here, per subgraph in :class:`FetchMetrics`).
:func:`fetch_latencies` reads the fetch histograms back, for the gateway's admin subgraph, or
each subgraph's :class:`~crossdock.gateway.window.LatencyWindow` for the last minutes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily

from crossdock.gateway.window import LatencyWindow

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Histogram("crossdock_gateway_requests_seconds",
                     "GraphQL requests and their latency, by operation type.", ["operation"],
                     buckets=_BUCKETS)
REQUEST_ERRORS = Counter("crossdock_gateway_request_errors_total",
                         "GraphQL requests answered with errors, by operation type.",
                         ["operation"])
FETCHES = Histogram("crossdock_gateway_subgraph_fetch_seconds",
                    "Subgraph fetches and their latency, by subgraph.", ["subgraph"],
                    buckets=_BUCKETS)
FETCH_ERRORS = Counter(
    "crossdock_gateway_subgraph_fetch_errors_total",
    "Subgraph fetches that failed (timeout, unreachable, http, invalid), were sent again "
    "(retried) or answered GraphQL errors (graphql), by subgraph.", ["subgraph", "reason"])


class PlanCacheCounts:
    """Plans asked of the plan cache: found there (``hits``) or made (``misses``).

    Plain integers the engine adds to (about 0.05 us; a Counter's increment takes a lock, some
    ten times that), read when Prometheus scrapes: every request asks the cache once.
    """

    __slots__ = ("hits", "misses")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The counts as ``crossdock_gateway_plan_cache_total{result}``."""
        family = CounterMetricFamily(
            "crossdock_gateway_plan_cache",
            "Plans asked of the plan cache: found there (hit) or made (miss).",
            labels=["result"])
        family.add_metric(["hit"], self.hits)
        family.add_metric(["miss"], self.misses)
        yield family


PLAN_CACHE = PlanCacheCounts()
REGISTRY.register(PLAN_CACHE)

#: Distinct operation names that get series of their own; later ones are counted as
#: :data:`OTHER`, so a client making up names cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 100
OTHER = "other"
#: The name label of an operation without a name.
ANONYMOUS = "anonymous"

#: ``unknown``: the request failed before its operation was known (parse, validation).
OPERATIONS = ("query", "mutation", "subscription", "unknown")
_REQUESTS = {operation: REQUESTS.labels(operation) for operation in OPERATIONS}
_REQUEST_ERRORS = {operation: REQUEST_ERRORS.labels(operation) for operation in OPERATIONS}


def observe_request(operation: str, seconds: float, *, failed: bool) -> None:
    """Count one request of ``operation`` that took ``seconds``."""
    _REQUESTS[operation].observe(seconds)
    if failed:
        _REQUEST_ERRORS[operation].inc()


#: Each subgraph's fetches of the last minutes in this process (a reload keeps them).
WINDOWS: dict[str, LatencyWindow] = {}


def window_of(subgraph: str) -> LatencyWindow:
    """The :class:`LatencyWindow` of ``subgraph`` in this process."""
    found = WINDOWS.get(subgraph)
    if found is None:
        found = WINDOWS[subgraph] = LatencyWindow(_BUCKETS)
    return found


class FetchMetrics:
    """The fetch metrics of one subgraph: its histogram, error counters and latency window."""

    __slots__ = ("_errors", "_seconds", "_window", "subgraph")

    def __init__(self, subgraph: str) -> None:
        self.subgraph = subgraph
        self._seconds = FETCHES.labels(subgraph)
        self._errors: dict[str, Counter] = {}
        self._window = window_of(subgraph)

    def observe(self, seconds: float) -> None:
        """Count one fetch that took ``seconds``."""
        self._seconds.observe(seconds)
        self._window.observe(seconds)

    def failed(self, reason: str) -> None:
        """Count one failed fetch (the reason is one of a few fixed words)."""
        child = self._errors.get(reason)
        if child is None:
            child = self._errors[reason] = FETCH_ERRORS.labels(self.subgraph, reason)
        child.inc()
        self._window.failed(reason)


#: The operation names that have series of their own in this process.
_ADMITTED: set[str] = set()


@functools.cache
def _operation_families() -> tuple[Histogram, Counter]:
    """The per-operation-name families, registered on first use (once per process)."""
    return (
        Histogram("crossdock_gateway_operation_seconds",
                  "GraphQL requests and their latency, by operation name and type "
                  "(telemetry.exporters.metrics.prometheus).",
                  ["operation_name", "operation"], buckets=_BUCKETS),
        Counter("crossdock_gateway_operation_errors_total",
                "GraphQL requests answered with errors, by operation name and type.",
                ["operation_name", "operation"]),
    )


class OperationMetrics:
    """Requests by operation name: the first :data:`MAX_OPERATION_NAMES` names seen get
    series of their own, later ones are counted as :data:`OTHER`."""

    __slots__ = ("_children", "_errors", "_names", "_seconds", "limit")

    def __init__(self, limit: int = MAX_OPERATION_NAMES, names: set[str] | None = None) -> None:
        self.limit = limit
        self._seconds, self._errors = _operation_families()
        #: The names with series of their own: the process's, so that a configuration
        #: reload (a new plugin) does not admit another ``limit`` of them.
        self._names = _ADMITTED if names is None else names
        #: (name, operation type) -> its children, looked up once per admitted name.
        self._children: dict[tuple[str, str], tuple[Histogram, Counter]] = {}

    def observe(self, name: str | None, operation: str, seconds: float, *,
                failed: bool) -> None:
        """Count one request of the operation ``name`` that took ``seconds``."""
        key = (ANONYMOUS if name is None else name, operation)
        children = self._children.get(key)
        if children is None:
            children = self._child(key)
        children[0].observe(seconds)
        if failed:
            children[1].inc()

    def _child(self, key: tuple[str, str]) -> tuple[Histogram, Counter]:
        name, operation = key
        if name not in self._names:
            if len(self._names) >= self.limit:
                # Not kept under its own key: made-up names must not grow this dict either.
                key = (OTHER, operation)
                found = self._children.get(key)
                if found is not None:
                    return found
            else:
                self._names.add(name)
        found = self._children[key] = (self._seconds.labels(*key), self._errors.labels(*key))
        return found


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FetchLatency:
    """One subgraph's fetches since the process started (or in a window), as its histogram
    holds them."""

    count: int
    #: Their time added up.
    seconds: float
    #: (upper bound in seconds, fetches that took at most that long), the last bound +inf.
    buckets: tuple[tuple[float, int], ...]
    #: Failed fetches by reason (:data:`FETCH_ERRORS`).
    errors: Mapping[str, int]

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile in seconds (None: no fetch), estimated as Prometheus's
        ``histogram_quantile`` does: linearly within the bucket it falls in."""
        if self.count == 0:
            return None
        rank = q * self.count
        below, lower = 0, 0.0
        for bound, count in self.buckets:
            if count >= rank:
                if math.isinf(bound):
                    return lower  # past the last finite bound: that bound is all we know
                inside = count - below
                return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
            below, lower = count, bound
        return lower


def fetch_latencies(minutes: int | None = None) -> dict[str, FetchLatency]:
    """Each subgraph's :class:`FetchLatency` in this process, by subgraph name: since it
    started, or over the last ``minutes`` minutes."""
    if minutes is not None:
        return {name: FetchLatency(count=found.count, seconds=found.seconds,
                                   buckets=found.buckets, errors=found.errors)
                for name, window in WINDOWS.items()
                if (found := window.read(minutes)).count or found.errors}
    buckets: dict[str, list[tuple[float, int]]] = {}
    totals: dict[str, tuple[int, float]] = {}
    errors: dict[str, dict[str, int]] = {}
    for family in FETCHES.collect():
        for sample in family.samples:
            name = sample.labels["subgraph"]
            if sample.name.endswith("_bucket"):
                buckets.setdefault(name, []).append((float(sample.labels["le"]),
                                                     int(sample.value)))
            elif sample.name.endswith("_count"):
                totals[name] = (int(sample.value), totals.get(name, (0, 0.0))[1])
            elif sample.name.endswith("_sum"):
                totals[name] = (totals.get(name, (0, 0.0))[0], sample.value)
    for family in FETCH_ERRORS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                errors.setdefault(sample.labels["subgraph"], {})[sample.labels["reason"]] = \
                    int(sample.value)
    return {name: FetchLatency(count=count, seconds=seconds,
                               buckets=tuple(sorted(buckets.get(name, ()))),
                               errors=errors.get(name, {}))
            for name, (count, seconds) in totals.items()}
