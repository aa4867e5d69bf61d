"""One delivery attempt: a signed POST of a message to an endpoint, and what it came to.

The worker keeps an :class:`httpx.AsyncClient` per endpoint (:class:`Clients`): connections
to an endpoint are pooled and kept alive, and every connection goes through the SSRF guard. Each
attempt has a deadline of its own (the endpoint's timeout) over the whole exchange, so a
server that trickles its answer cannot hold a slot longer. Only the first bytes of the
response body are read and kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Self

import httpx

from crossdock.webhooks.errors import AddressRefused
from crossdock.webhooks.outbound.outcome import (
    Delivered,
    Failed,
    Gone,
    Outcome,
    Response,
    RetryAfter,
)
from crossdock.webhooks.outbound.signing import signature_headers
from crossdock.webhooks.outbound.ssrf import AddressPolicy, GuardedTransport

#: Seconds an endpoint has to answer unless it says otherwise.
DEFAULT_TIMEOUT = 15.0
#: Bytes of a response body kept with the attempt.
BODY_LIMIT = 2048
USER_AGENT = "crossdock-webhooks"

_OK = range(200, 300)
_GONE = 410
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One attempt to make: which message goes where, signed with which secrets."""

    url: str
    message_id: str
    body: bytes
    #: The endpoint's signing secrets, newest first (two during a rotation).
    secrets: Sequence[str]
    #: The endpoint's own headers; the signature headers win over them.
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    #: Whose connection pool carries it, and how many connections that pool may open.
    endpoint_id: int = 0
    connections: int = 16


class Clients:
    """A pooled client per endpoint, every connection checked by the SSRF guard.

    One pool per endpoint rather than one for all: an endpoint's slow answers hold its own
    connections only, and httpx's pool, which scans its connections for each request, stays
    small (one shared pool of hundreds of connections cost more CPU than the requests).
    """

    def __init__(self, policy: AddressPolicy, *, follow_redirects: bool = False,
                 max_redirects: int = 3) -> None:
        self.policy = policy
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.ssl_context = httpx.create_ssl_context(trust_env=False)
        self._clients: dict[int, httpx.AsyncClient] = {}

    def get(self, endpoint_id: int, *, connections: int = 16) -> httpx.AsyncClient:
        """The endpoint's client (made on first use with up to ``connections`` open)."""
        client = self._clients.get(endpoint_id)
        if client is None:
            limits = httpx.Limits(max_connections=connections,
                                  max_keepalive_connections=connections, keepalive_expiry=30.0)
            client = httpx.AsyncClient(
                transport=GuardedTransport(self.policy, limits=limits,
                                           ssl_context=self.ssl_context),
                follow_redirects=self.follow_redirects, max_redirects=self.max_redirects,
                trust_env=False, headers={"user-agent": USER_AGENT})
            self._clients[endpoint_id] = client
        return client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class Sender:
    """Makes attempts with a shared client."""

    def __init__(
        self, clients: Clients, *, max_retry_after: float,
        min_retry_after: float = 1.0, body_limit: int = BODY_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = clients
        self.min_retry_after = min_retry_after
        self.max_retry_after = max_retry_after
        self.body_limit = body_limit
        self.clock = clock

    async def send(self, request: Request) -> Outcome:
        """POST the message once; never raises for anything the endpoint or network does."""
        headers = {**request.headers, "content-type": "application/json",
                   **signature_headers(message_id=request.message_id, body=request.body,
                                       secrets=request.secrets, timestamp=int(self.clock()))}
        started = time.perf_counter()

        def took() -> float:
            return round((time.perf_counter() - started) * 1000, 3)

        try:
            async with asyncio.timeout(request.timeout):
                status, answer, retry_after, location = await self._exchange(request, headers)
        except (TimeoutError, httpx.TimeoutException):
            return Failed(reason=f"no answer within {request.timeout:g} s",
                          response=Response(duration_ms=took()))
        except AddressRefused as exc:
            return Failed(reason=f"refused by the SSRF guard: {exc}",
                          response=Response(duration_ms=took()))
        except httpx.HTTPError as exc:
            return Failed(reason=f"{type(exc).__name__}: {exc}".rstrip(": "),
                          response=Response(duration_ms=took()))
        response = Response(status=status, body=answer, duration_ms=took())
        return self._outcome(response, retry_after, location)

    async def _exchange(
        self, request: Request, headers: dict[str, str]
    ) -> tuple[int, str, str | None, str | None]:
        client = self.clients.get(request.endpoint_id, connections=request.connections)
        async with client.stream("POST", request.url, content=request.body,
                                      headers=headers,
                                      timeout=httpx.Timeout(request.timeout)) as answer:
            kept = bytearray()
            async for chunk in answer.aiter_raw():
                kept += chunk
                if len(kept) >= self.body_limit:
                    break
            text = bytes(kept[:self.body_limit]).decode("utf-8", errors="replace")
            return (answer.status_code, text, answer.headers.get("retry-after"),
                    answer.headers.get("location"))

    def _outcome(self, response: Response, retry_after: str | None,
                 location: str | None) -> Outcome:
        status = response.status or 0
        if status in _OK:
            return Delivered(response=response)
        if status == _GONE:
            return Gone(response=response)
        if status in _RETRY_AFTER_STATUSES and retry_after is not None:
            seconds = self.retry_after_seconds(retry_after)
            if seconds is not None:
                return RetryAfter(seconds=seconds, response=response)
        if location is not None and 300 <= status < 400:  # noqa: PLR2004 - the 3xx range
            return Failed(reason=f"HTTP {status}: a redirect to {location}, not followed",
                          response=response)
        return Failed(reason=f"HTTP {status}", response=response)

    def retry_after_seconds(self, value: str) -> float | None:
        """A ``Retry-After`` value (seconds or an HTTP date) within bounds; None if unreadable."""
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - self.clock()
        if math.isnan(seconds):
            return None
        return min(self.max_retry_after, max(self.min_retry_after, seconds))
