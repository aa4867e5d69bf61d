"""What a client sees of a failed subgraph fetch, and how often a failed query is sent again.

The errors are Apollo Router's, so clients written against it read ours:
``SUBREQUEST_HTTP_ERROR`` when no usable HTTP answer came (refused, reset, timed out, a
4xx/5xx status, with ``extensions.http.status`` when there was one) and
``SUBREQUEST_MALFORMED_RESPONSE`` when the answer is not a GraphQL response (not JSON, or
JSON with neither ``data`` nor ``errors``). Each names its subgraph in
``extensions.service`` (and ``serviceName``, which @apollo/gateway's clients read) and has
the path where the fetch's data would have gone.

A subgraph's own GraphQL errors keep their path and code; their message is replaced by
"Subgraph errors redacted" unless ``include_subgraph_errors`` lets it through (the router's
default hides it: a message may carry a stack trace or an internal host name).
"""

from __future__ import annotations

import http
import time
from typing import TYPE_CHECKING, Any

from crossdock.core.logging import get_logger
from crossdock.gateway.plan import ALIAS_PREFIX

if TYPE_CHECKING:
    from collections.abc import Callable

    from crossdock.gateway.config import RetryPolicy
    from crossdock.gateway.plan import Path

log = get_logger("crossdock.gateway")

HTTP_ERROR = "SUBREQUEST_HTTP_ERROR"
MALFORMED = "SUBREQUEST_MALFORMED_RESPONSE"
REDACTED = "Subgraph errors redacted"
#: Statuses from which a GraphQL response body is still read (the GraphQL over HTTP spec
#: lets a server answer a request error with 4xx and ``errors``).
_LOWEST_ERROR = 400
_BUCKETS = 10


def fetch_path(path: Path) -> list[str | int]:
    """The client's response path where a fetch at ``path`` puts its data.

    It stops at the first list (the fetch's objects are spread over its items) and leaves
    out the type conditions, so it always names a field of the response.
    """
    out: list[str | int] = []
    for segment in path:
        if segment == "@":
            break
        if segment[0] != "|":
            out.append(segment.removeprefix(ALIAS_PREFIX))
    return out


def http_error(service: str, path: Path, reason: str, status: int | None = None
               ) -> dict[str, Any]:
    """A fetch that got no usable HTTP answer: no connection, no answer in time, 4xx/5xx."""
    if status is not None:
        reason = f"{status}: {_phrase(status)}"
    log.warning("subgraph_request_failed", subgraph=service, code=HTTP_ERROR, reason=reason)
    extensions: dict[str, Any] = {"code": HTTP_ERROR, "service": service,
                                  "serviceName": service, "reason": reason}
    if status is not None:
        extensions["http"] = {"status": status}
    return {"message": f"HTTP fetch failed from '{service}': {reason}",
            "path": fetch_path(path), "extensions": extensions}


def malformed(service: str, path: Path, reason: str) -> dict[str, Any]:
    """A fetch whose answer is not a GraphQL response."""
    log.warning("subgraph_request_failed", subgraph=service, code=MALFORMED, reason=reason)
    return {"message": f"service '{service}' response was malformed: {reason}",
            "path": fetch_path(path),
            "extensions": {"code": MALFORMED, "service": service, "serviceName": service,
                           "reason": reason}}


def failed_status(status: int) -> bool:
    """Whether an answer with ``status`` failed even if its body reads as GraphQL."""
    return status >= _LOWEST_ERROR


def subgraph_error(error: Any, service: str, map_path: Callable[[list[Any]], list[Any] | None],
                   *, include: bool) -> dict[str, Any]:
    """One of a subgraph's own GraphQL errors as the client gets it."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    out: dict[str, Any] = {"message": str(error.get("message", "subgraph error"))
                           if include else REDACTED}
    path = error.get("path")
    if isinstance(path, list):
        mapped = map_path(path)
        if mapped is not None:
            out["path"] = [p.removeprefix(ALIAS_PREFIX) if isinstance(p, str) else p
                           for p in mapped]
    given = error.get("extensions")
    extensions: dict[str, Any] = dict(given) if include and isinstance(given, dict) else {}
    if not include and isinstance(given, dict) and "code" in given:
        extensions["code"] = given["code"]
    extensions.setdefault("service", service)
    extensions.setdefault("serviceName", service)
    out["extensions"] = extensions
    return out


class RetryBudget:
    """How many retries one subgraph may still have: the router's ``experimental_retry``.

    Every request deposits ``retry_percent`` of a retry, every retry withdraws one; the
    deposits and withdrawals of the last ``ttl`` seconds count (kept in ten buckets), on top
    of ``min_per_sec`` retries a second that are always allowed. So a subgraph that is down
    costs at most 1 + ``retry_percent`` times its usual traffic, not a storm of retries.
    """

    __slots__ = ("_bucket_seconds", "_deposits", "_floor", "_percent", "_slot", "_withdrawals")

    def __init__(self, policy: RetryPolicy) -> None:
        self._percent = policy.retry_percent
        self._floor = policy.min_per_sec * policy.ttl
        self._bucket_seconds = policy.ttl / _BUCKETS
        self._deposits = [0] * _BUCKETS
        self._withdrawals = [0] * _BUCKETS
        self._slot = int(time.monotonic() / self._bucket_seconds)

    def deposit(self) -> None:
        """Count one request."""
        self._deposits[self._advance()] += 1

    def withdraw(self) -> bool:
        """Take one retry from the budget; False when there is none left."""
        index = self._advance()
        balance = self._floor + self._percent * sum(self._deposits) - sum(self._withdrawals)
        if balance < 1:
            return False
        self._withdrawals[index] += 1
        return True

    def _advance(self) -> int:
        """The current bucket's index, after emptying the buckets that have expired."""
        slot = int(time.monotonic() / self._bucket_seconds)
        passed = slot - self._slot
        if passed:
            for step in range(1, min(passed, _BUCKETS) + 1):
                index = (self._slot + step) % _BUCKETS
                self._deposits[index] = self._withdrawals[index] = 0
            self._slot = slot
        return slot % _BUCKETS


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
