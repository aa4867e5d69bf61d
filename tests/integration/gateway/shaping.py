"""A test subgraph behind a wrapper that shapes its traffic: headers added to its answers,
answers compressed for a client that accepts it, compressed requests decoded (and recorded),
and a switch that makes it fail."""

from __future__ import annotations

import gzip
import zlib
from typing import TYPE_CHECKING, Any

import brotli

from crossdock.core.asgi import send_bytes

if TYPE_CHECKING:
    from crossdock.core.asgi import Message, Receive, Scope, Send
    from tests.integration.gateway.subgraph import TestSubgraph

ENCODERS = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress}
DECODERS = {"gzip": gzip.decompress, "br": brotli.decompress, "deflate": zlib.decompress}


class Shaped:
    """``inner`` served with ``headers`` added to each answer, its answers compressed with
    ``encoding`` when the request accepts it, and a 503 while ``failing``."""

    def __init__(self, inner: TestSubgraph, *, headers: tuple[tuple[str, str], ...] = (),
                 encoding: str | None = None) -> None:
        self.inner = inner
        self.headers = headers
        self.encoding = encoding
        self.failing = False
        #: Answer with a body that is not in the coding the answer names.
        self.corrupt = False
        #: Per request: its Content-Encoding, Accept-Encoding and the body's size on the wire.
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        given = {name.decode(): value.decode() for name, value in scope["headers"]}
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        coding = given.get("content-encoding")
        self.seen.append({"content-encoding": coding, "size": len(raw),
                          "accept-encoding": given.get("accept-encoding")})
        if self.failing:
            await send_bytes(send, 503, b"down", b"text/plain")
            return
        body = DECODERS[coding](raw) if coding else raw
        compress = self.encoding if self.encoding and self.encoding in given.get(
            "accept-encoding", "") else None
        answer: dict[str, Any] = {}

        async def receive_decoded() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["start"] = message
                return
            start = answer["start"]
            content = message.get("body", b"")
            headers = [(n, v) for n, v in start["headers"] if n != b"content-length"]
            headers += [(n.encode(), v.encode()) for n, v in self.headers]
            if compress:
                content = b"garbled" if self.corrupt else ENCODERS[compress](content)
                headers.append((b"content-encoding", compress.encode()))
            headers.append((b"content-length", str(len(content)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.inner(scope, receive_decoded, capture)
