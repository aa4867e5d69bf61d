"""Prometheus metrics of the gateway (served on ``/metrics`` by the ops wrapper).

Requests by operation type, subgraph fetches by subgraph. A histogram's ``_count`` is the
number of requests or fetches, so no separate counter is kept for them. Label lookups take a
lock and hash the labels: the hot path uses children looked up once (per operation type here,
per subgraph in :class:`FetchMetrics`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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

#: ``unknown``: the request failed before its operation was known (parse, validation).
OPERATIONS = ("query", "mutation", "subscription", "unknown")
_REQUESTS = {operation: REQUESTS.labels(operation) for operation in OPERATIONS}
_REQUEST_ERRORS = {operation: REQUEST_ERRORS.labels(operation) for operation in OPERATIONS}


def observe_request(operation: str, seconds: float, *, failed: bool) -> None:
    """Count one request of ``operation`` that took ``seconds``."""
    _REQUESTS[operation].observe(seconds)
    if failed:
        _REQUEST_ERRORS[operation].inc()


class FetchMetrics:
    """The fetch metrics of one subgraph."""

    __slots__ = ("_errors", "_seconds", "subgraph")

    def __init__(self, subgraph: str) -> None:
        self.subgraph = subgraph
        self._seconds = FETCHES.labels(subgraph)
        self._errors: dict[str, Counter] = {}

    def observe(self, seconds: float) -> None:
        """Count one fetch that took ``seconds``."""
        self._seconds.observe(seconds)

    def failed(self, reason: str) -> None:
        """Count one failed fetch (the reason is one of a few fixed words)."""
        child = self._errors.get(reason)
        if child is None:
            child = self._errors[reason] = FETCH_ERRORS.labels(self.subgraph, reason)
        child.inc()
