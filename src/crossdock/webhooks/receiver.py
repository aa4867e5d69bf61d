"""The receiver: ``POST /webhooks/{source}``, a bare ASGI app on the hot path.

Order of checks: the source exists (404), the declared then the actual body size (413, before
and while reading), the signature on the raw bytes (401), the body and headers parse (400).
Then one transaction stores the delivery, which queues it, since the deliveries table is the
workers' queue (shared with the other requests waiting at that moment: see :mod:`.inbox`),
and only after the commit is the answer 202; a delivery id stored before answers 200 and
queues nothing. Refused requests are recorded as ``rejected`` rows without their body. When
PostgreSQL cannot take the delivery the answer is 503 with ``Retry-After`` (never a 2xx for
something not stored); the pool reconnects by itself when the server is back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable

import prometheus_client

from crossdock.core.asgi import Receive, Scope, Send, read_body, send_bytes, send_json
from crossdock.core.database import Connection, Database
from crossdock.core.logging import get_logger
from crossdock.webhooks import metrics, store
from crossdock.webhooks.errors import (
    Malformed,
    Rejected,
    SecretUnavailable,
    SourceError,
    StoreError,
)
from crossdock.webhooks.inbox import DeliveryWriter
from crossdock.webhooks.operations import SOURCE_NAME
from crossdock.webhooks.providers import Inbound, Provider, make_provider
from crossdock.webhooks.secrets import Secret, resolve
from crossdock.webhooks.settings import WebhooksSettings

logger = get_logger("crossdock.webhooks")

PREFIX = "/webhooks/"
#: Headers that carry a secret itself (GitLab's token) or credentials: never stored.
REDACTED = frozenset({"x-gitlab-token", "authorization", "proxy-authorization", "cookie"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadedSource:
    """A source ready to verify with: its provider built, its secrets resolved."""

    name: str
    provider: Provider
    secrets: tuple[Secret, ...]
    max_body_bytes: int
    expires: float
    #: The source's received and duplicate counters (a metric's ``labels`` lookup per
    #: request costs as much as verifying a small body).
    received: prometheus_client.Counter
    duplicates: prometheus_client.Counter


def read_headers(scope: Scope) -> tuple[dict[str, str], dict[str, str]]:
    """The request's headers, lower-case: as the provider reads them, and as stored.

    The stored copy joins repeated headers and redacts secrets; both come from one pass
    over the raw headers, which is on every request's path.
    """
    request: dict[str, str] = {}
    stored: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        request[name] = value
        kept = "***" if name in REDACTED else value
        stored[name] = f"{stored[name]}, {kept}" if name in stored else kept
    return request, stored


def _storable(inbound: Inbound) -> Inbound:
    """``inbound`` when the database can store what was read from it: a signed body may put
    U+0000 in its action or id, which a text column refuses (and with it the rows committed in
    the same batch), so that is a malformed request."""
    if "\x00" in f"{inbound.delivery_id}{inbound.event_type}{inbound.action or ''}":
        raise Malformed("the delivery id, event type or action has a NUL character")
    return inbound


class Receiver:
    """Verifies, stores and acknowledges webhook deliveries."""

    def __init__(
        self,
        database: Database,
        settings: WebhooksSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._sources: dict[str, LoadedSource] = {}
        self.writer = DeliveryWriter(database, timeout=settings.database_timeout,
                                     commit_timeout=settings.store_timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if not path.startswith(PREFIX) or "/" in path[len(PREFIX):].rstrip("/"):
            await send_json(send, 404, {"error": "not found"})
            return
        if scope["method"] != "POST":
            await send_bytes(send, 405, b'{"error":"method not allowed"}',
                             headers=[(b"allow", b"POST")])
            return
        started = time.perf_counter()
        try:
            await self._receive(path[len(PREFIX):].rstrip("/"), scope, receive, send)
        finally:
            metrics.ACK_LATENCY.observe(time.perf_counter() - started)

    async def _receive(  # noqa: PLR0911 - one early answer per refusal, in contract order
        self, name: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            source = await self._source(name)
        except StoreError:
            await self._unavailable(send)
            return
        except SourceError as exc:
            logger.error(  # noqa: TRY400 - a configuration error, its traceback says nothing
                "webhook_source_misconfigured", source=name, error=str(exc))
            await send_json(send, 500, {"error": f"source {name!r} is misconfigured"})
            return
        if source is None:
            metrics.REJECTED.labels("", "unknown_source").inc()
            await send_json(send, 404, {"error": f"no webhook source named {name!r}"})
            return
        headers, stored = read_headers(scope)
        declared = headers.get("content-length", "")
        body = None
        if not (declared.isdigit() and int(declared) > source.max_body_bytes):
            body = await read_body(receive, limit=source.max_body_bytes)
        if body is None:
            await self._reject(send, headers, stored, source, status=413, reason="too_large",
                               message=f"the body is larger than {source.max_body_bytes} bytes",
                               size=int(declared) if declared.isdigit() else 0)
            return
        try:
            source.provider.verify(headers, body, source.secrets)
            inbound = _storable(source.provider.parse(headers, body))
        except Rejected as exc:
            status = 401 if exc.reason == "bad_signature" else 400
            await self._reject(send, headers, stored, source, status=status, reason=exc.reason,
                               message=str(exc), size=len(body))
            return
        try:
            delivery_id = await self.writer.store({
                "source": source.name, "provider": source.provider.name,
                "provider_delivery_id": inbound.delivery_id, "event_type": inbound.event_type,
                "action": inbound.action, "headers": stored, "body": body,
                "body_size": len(body)})
        except StoreError as exc:
            logger.warning("webhook_store_failed", source=source.name, error=str(exc))
            await self._unavailable(send)
            return
        if delivery_id is None:
            source.duplicates.inc()
            await send_json(send, 200, {"status": "duplicate",
                                        "delivery_id": inbound.delivery_id})
            return
        source.received.inc()
        await send_json(send, 202, {"status": "accepted", "id": delivery_id,
                                    "delivery_id": inbound.delivery_id})

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        async with store.transaction(self.database,
                                     within=self.settings.database_timeout) as conn:
            yield conn

    async def _source(self, name: str) -> LoadedSource | None:
        now = self.clock()
        cached = self._sources.get(name)
        if cached is not None and cached.expires > now:
            return cached
        if not SOURCE_NAME.fullmatch(name):  # no source can have it (nor can the database)
            return None
        async with store.connection(self.database,
                                    within=self.settings.database_timeout) as conn:
            found = await store.find_source(conn, name)
        if found is None:
            self._sources.pop(name, None)
            return None
        secrets = []
        for reference in found.secrets:
            try:
                secrets.append(resolve(reference))
            except SecretUnavailable as exc:
                # While a secret rotates, the others still verify; with none left, 500.
                logger.warning("webhook_secret_unavailable", source=name, error=str(exc))
        if not secrets:
            raise SourceError(f"none of the secrets of source {name!r} is available")
        loaded = LoadedSource(
            name=found.name, provider=make_provider(found.provider, found.options),
            secrets=tuple(secrets),
            max_body_bytes=found.max_body_bytes,
            expires=now + self.settings.source_cache_seconds,
            received=metrics.RECEIVED.labels(found.name),
            duplicates=metrics.DUPLICATES.labels(found.name),
        )
        self._sources[name] = loaded
        return loaded

    async def _reject(
        self, send: Send, headers: dict[str, str], stored: dict[str, str], source: LoadedSource,
        *, status: int, reason: str, message: str, size: int,
    ) -> None:
        metrics.REJECTED.labels(source.name, reason).inc()
        try:
            async with self._transaction() as conn:
                await store.insert_rejection(
                    conn, source=source.name, provider=source.provider.name,
                    provider_delivery_id=source.provider.delivery_id(headers),
                    reason=reason, headers=stored, body_size=size)
        except StoreError as exc:
            # The request is refused either way; only its record is lost.
            logger.warning("webhook_rejection_not_recorded", source=source.name,
                           reason=reason, error=str(exc))
        logger.info("webhook_rejected", source=source.name, reason=reason, status=status)
        await send_json(send, status, {"error": message, "reason": reason})

    async def _unavailable(self, send: Send) -> None:
        metrics.UNAVAILABLE.inc()
        await send_bytes(send, 503, b'{"error":"the database is unavailable; retry later"}',
                         headers=[(b"retry-after", b"5")])
