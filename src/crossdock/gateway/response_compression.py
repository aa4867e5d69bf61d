"""Compressed responses to clients that accept them: ``traffic_shaping.router.compression``.

crossdock's own key (uvicorn compresses nothing, and this is off unless the file turns it
on): a response of at least :data:`MIN_SIZE` bytes goes in brotli or gzip, whichever the
client's ``Accept-Encoding`` allows (brotli first), with ``Vary: Accept-Encoding``. Smaller
bodies are sent as they are (compression would cost more than the bytes it saves), and so are
streamed bodies and bodies that already have a ``Content-Encoding``. An ASGI wrapper composed
in :mod:`crossdock.gateway.app`: a request without ``Accept-Encoding`` costs one header scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.gateway.codings import compress, negotiate

if TYPE_CHECKING:
    from crossdock.core.asgi import ASGIApp, Message, Receive, Scope, Send

#: The smallest body worth compressing (about one TCP segment's payload).
MIN_SIZE = 1024
_SKIPPED = frozenset({b"content-length", b"content-encoding"})


class ResponseCompression:
    """Compresses ``app``'s whole responses for clients that accept brotli or gzip."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = None
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"accept-encoding":
                    coding = negotiate(value.decode("latin-1"))
                    break
        if coding is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None

        async def compressing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            head, start = start, None
            body = message.get("body", b"")
            headers = head.get("headers", [])
            if message.get("more_body") or len(body) < MIN_SIZE \
                    or any(n.lower() == b"content-encoding" for n, _ in headers):
                await send(head)
                await send(message)
                return
            packed = compress(coding, body)
            await send({**head, "headers": [
                *((n, v) for n, v in headers if n.lower() not in _SKIPPED),
                (b"content-encoding", coding.encode()), (b"vary", b"accept-encoding"),
                (b"content-length", str(len(packed)).encode())]})
            await send({"type": "http.response.body", "body": packed})

        await self.app(scope, receive, compressing)
