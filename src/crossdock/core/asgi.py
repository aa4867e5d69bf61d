"""ASGI types and the operational endpoints every service mounts.

An app is ``Callable[[Scope, Receive, Send], Awaitable[None]]``; a middleware wraps an app and
is one. :class:`OpsApp` answers ``/healthz``, ``/readyz`` and ``/metrics`` and hands every
other path to the service's app, so the service's hot path gains one string comparison.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import prometheus_client

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ReadyCheck = Callable[[], Awaitable[dict[str, bool]]]
MetricsRefresh = Callable[[], Awaitable[None]]


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = b"application/json",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send a whole response in two messages."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, data: Any) -> None:
    """Send ``data`` as a JSON response."""
    await send_bytes(send, status, orjson.dumps(data))


async def read_body(receive: Receive, *, limit: int | None = None) -> bytes | None:
    """The whole request body, or None once it passes ``limit`` bytes."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class OpsApp:
    """``/healthz`` (process up), ``/readyz`` (dependencies ready), ``/metrics``; else ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        ready: ReadyCheck | None = None,
        refresh: MetricsRefresh | None = None,
        registry: prometheus_client.CollectorRegistry = prometheus_client.REGISTRY,
    ) -> None:
        self.app = app
        self.ready = ready
        #: Awaited before ``/metrics`` answers: sets gauges read from elsewhere (a database).
        self.refresh = refresh
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == "/healthz":
                await send_json(send, 200, {"status": "ok"})
                return
            if path == "/readyz":
                checks = await self.ready() if self.ready else {}
                ok = all(checks.values())
                await send_json(send, 200 if ok else 503,
                                {"status": "ok" if ok else "unavailable", "checks": checks})
                return
            if path == "/metrics":
                if self.refresh is not None:
                    await self.refresh()
                body = prometheus_client.generate_latest(self.registry)
                await send_bytes(send, 200, body,
                                 prometheus_client.CONTENT_TYPE_LATEST.encode())
                return
        await self.app(scope, receive, send)


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001 (ASGI)
    """A 404 for any request (the app behind :class:`OpsApp` when there is none)."""
    if scope["type"] == "lifespan":
        return
    await send_json(send, 404, {"error": "not found"})
