"""A pooled keep-alive HTTP/1.1 client made for one job: POST a GraphQL body, read the answer.

The gateway sends every subgraph request through here, many per client request, so each
microsecond counts: the request head is prepared once per URL, the response is parsed by
httptools (llhttp, the parser of Node and uvicorn) in an ``asyncio.Protocol``, and idle
connections are reused newest first. General clients (httpx, aiohttp) spend several times
more CPU per request on features a subgraph call does not use: redirects, cookies, proxies,
streaming bodies, middlewares (docs/design/gateway-speed.md has the measurements).

What it does handle: ``Content-Length`` and chunked bodies, the answer's headers when the
caller asks for them (never decoded: a compressed body is returned as it came), bodies ended
by the server closing the connection, ``Connection: close``, HTTPS, a per-request deadline,
at most ``limit`` connections per host, and one retry on a fresh connection when a reused keep-alive
connection turns out closed before any byte of the answer arrived (the server dropped it while
idle; the request cannot have been processed).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httptools

from crossdock.gateway.errors import SubgraphTimeout, SubgraphUnreachable
from crossdock.gateway.transport import HEADERS, AnswerHeaders, SubgraphHeaders

if TYPE_CHECKING:
    from collections.abc import Awaitable


#: What a header name (an HTTP token) and value may hold on the wire.
_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _header_lines(headers: SubgraphHeaders) -> bytes:
    """``headers`` as request head lines; a name or value that could split the head is refused.

    The context only lets valid values through; this keeps any other caller of the port from
    smuggling a header or a second request into the connection.
    """
    lines = []
    for name, value in headers:
        if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise SubgraphUnreachable(f"the {name!r} header cannot be sent as given")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class _Closed(SubgraphUnreachable):
    """The connection closed before the answer was complete."""

    def __init__(self, *, received: bool) -> None:
        super().__init__("connection closed")
        self.received = received


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    __slots__ = ("_body", "_complete", "_framed", "_future", "_headers", "_headers_done",
                 "_parser", "_received", "_status", "keep_alive", "open", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.keep_alive = True
        self._parser = httptools.HttpResponseParser(self)
        self._future: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        #: Where the answer's headers go, when the caller asked for them.
        self._headers: AnswerHeaders | None = None
        self._status = 0
        self._received = False
        self._headers_done = False
        self._complete = False
        self._framed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open = True

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(SubgraphUnreachable(f"invalid HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 - protocol API
        self.open = False
        future = self._future
        if future is None or future.done():
            return
        if self._headers_done and not self._complete and not self._framed:
            # No Content-Length, not chunked: the body ends where the connection does.
            self._finish()
            return
        self._fail(_Closed(received=self._received))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers is not None:
            self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))
        if len(name) in {14, 17} and name.lower() in {b"content-length", b"transfer-encoding"}:
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True
        self._finish()

    # the client's side
    def request(self, data: bytes,
                headers: AnswerHeaders | None) -> Awaitable[tuple[int, bytes]]:
        assert self.transport is not None
        future = self._future = asyncio.get_running_loop().create_future()
        self._body = []
        self._headers = headers
        self._received = self._headers_done = self._complete = self._framed = False
        self.transport.write(data)
        return future

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    def _finish(self) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result((self._status, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_exception(exc)


class _Host:
    """The idle connections to one origin and the prepared request head."""

    __slots__ = ("address", "head", "idle", "limit", "ssl", "start")

    def __init__(self, url: str, limit: int) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SubgraphUnreachable(f"unsupported subgraph URL {url!r}")
        port = parts.port or (443 if secure else 80)
        self.address = (parts.hostname, port)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if secure else None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        default_port = port == (443 if secure else 80)
        host = parts.hostname if default_port else f"{parts.hostname}:{port}"
        if ":" in parts.hostname:  # IPv6 literal
            host = f"[{parts.hostname}]" if default_port else f"[{parts.hostname}]:{port}"
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in HEADERS.items()]
        #: The request head up to the request's own headers, and with none of them.
        self.start = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self.head = self.start + b"Content-Length: "
        self.idle: list[_Connection] = []
        self.limit = asyncio.Semaphore(limit)


class Http1SubgraphClient:
    """The subgraph port over pooled HTTP/1.1 keep-alive connections."""

    def __init__(self, *, timeout: float = 30.0, limit: int = 100) -> None:
        self.timeout = timeout
        self.limit = limit
        self._hosts: dict[str, _Host] = {}

    async def post(self, url: str, body: bytes, *, headers: SubgraphHeaders = (),
                   time_limit: float | None = None,
                   answer_headers: AnswerHeaders | None = None) -> tuple[int, bytes]:
        host = self._hosts.get(url)
        if host is None:
            host = self._hosts[url] = _Host(url, self.limit)
        if headers:
            data = b"%b%bContent-Length: %d\r\n\r\n%b" % (
                host.start, _header_lines(headers), len(body), body)
        else:
            data = b"%b%d\r\n\r\n%b" % (host.head, len(body), body)
        async with host.limit:
            try:
                async with asyncio.timeout(self.timeout if time_limit is None else time_limit):
                    return await self._send(host, data, answer_headers)
            except TimeoutError as exc:
                raise SubgraphTimeout from exc

    async def _send(self, host: _Host, data: bytes,
                    headers: AnswerHeaders | None) -> tuple[int, bytes]:
        while host.idle:
            conn = host.idle.pop()
            if not conn.open:
                continue
            try:
                return await self._exchange(host, conn, data, headers)
            except _Closed as exc:
                if exc.received:
                    raise SubgraphUnreachable("the connection closed mid-answer") from exc
                # A stale keep-alive connection: try the next one, then a new one.
        conn = await self._connect(host)
        try:
            return await self._exchange(host, conn, data, headers)
        except _Closed as exc:
            raise SubgraphUnreachable("the connection closed before the answer") from exc

    async def _exchange(self, host: _Host, conn: _Connection, data: bytes,
                        headers: AnswerHeaders | None) -> tuple[int, bytes]:
        try:
            result = await conn.request(data, headers)
        except BaseException:
            conn.close()  # a half-read answer (timeout, cancel) leaves it unusable
            raise
        if conn.keep_alive and conn.open:
            host.idle.append(conn)
        else:
            conn.close()
        return result

    async def _connect(self, host: _Host) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                _Connection, *host.address, ssl=host.ssl,
                server_hostname=host.address[0] if host.ssl else None)
        except OSError as exc:
            raise SubgraphUnreachable(type(exc).__name__) from exc
        return conn

    async def aclose(self) -> None:
        """Close every idle connection."""
        for host in self._hosts.values():
            for conn in host.idle:
                conn.close()
            host.idle.clear()
