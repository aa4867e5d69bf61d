"""The gateway's subgraph client against real sockets: framing, keep-alive, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from crossdock.gateway.errors import SubgraphTimeout, SubgraphUnreachable
from crossdock.gateway.http1 import Http1SubgraphClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A TCP server on an ephemeral port; yields its URL and the count of connections."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/graphql", connections
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's body, or None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%b\r\n%b"
            % (len(body), extra, body))


async def echo_keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while (body := await read_request(reader)) is not None:
        writer.write(answer(b'{"data":' + body + b"}"))
        await writer.drain()


async def test_posts_the_body_and_reuses_one_keep_alive_connection() -> None:
    async with raw_server(echo_keep_alive) as (url, connections):
        client = Http1SubgraphClient()
        for i in range(5):
            assert await client.post(url, b'{"n":%d}' % i) == (200, b'{"data":{"n":%d}}' % i)
        await client.aclose()
    assert len(connections) == 1


async def test_sends_the_graphql_headers_and_the_host() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer(b"{}"))
        await writer.drain()

    async with raw_server(handler) as (url, _):
        await Http1SubgraphClient().post(url + "?x=1", b"{}")
    head = seen[0].decode().lower()
    assert head.startswith("post /graphql?x=1 http/1.1\r\n")
    assert "\r\nhost: 127.0.0.1:" in head
    assert "\r\ncontent-type: application/json\r\n" in head
    assert "\r\ncontent-length: 2\r\n" in head


async def test_sends_the_request_headers_after_the_fixed_ones() -> None:
    heads: list[bytes] = []

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            heads.append(head)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            writer.write(answer(b"{}"))
            await writer.drain()

    async with raw_server(recording) as (url, connections):
        client = Http1SubgraphClient()
        await client.post(url, b"{}", headers=(("traceparent", "00-ab-cd-01"),
                                                ("tracestate", "a=1")))
        await client.post(url, b"{}")
        await client.aclose()
    first, second = (head.decode() for head in heads)
    assert "\r\ntraceparent: 00-ab-cd-01\r\ntracestate: a=1\r\ncontent-length: 2\r\n" in (
        first.lower())
    assert "traceparent" not in second
    assert len(connections) == 1


@pytest.mark.parametrize(("name", "value"), [
    ("x-trace", "a\r\nx-injected: 1"), ("x-trace", "a\nb"), ("bad name", "1"), ("", "1")])
async def test_a_header_that_could_split_the_request_is_refused_unsent(name: str,
                                                                        value: str) -> None:
    async with raw_server(echo_keep_alive) as (url, connections):
        client = Http1SubgraphClient()
        with pytest.raises(SubgraphUnreachable, match="cannot be sent"):
            await client.post(url, b"{}", headers=((name, value),))
        await client.aclose()
    assert connections == []


async def test_concurrent_requests_each_get_their_own_answer() -> None:
    async with raw_server(echo_keep_alive) as (url, connections):
        client = Http1SubgraphClient(limit=3)
        results = await asyncio.gather(*(client.post(url, b"%d" % i) for i in range(20)))
        await client.aclose()
    assert [body for _, body in results] == [b'{"data":%d}' % i for i in range(20)]
    assert len(connections) <= 3


async def test_reads_a_chunked_answer() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b'5\r\n{"dat\r\n8\r\na":null}\r\n0\r\n\r\n')
        await writer.drain()
        await read_request(reader)

    async with raw_server(handler) as (url, _):
        assert await Http1SubgraphClient().post(url, b"{}") == (200, b'{"data":null}')


async def test_reads_an_answer_that_ends_with_the_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\nupstream down")
        await writer.drain()

    async with raw_server(handler) as (url, connections):
        client = Http1SubgraphClient()
        assert await client.post(url, b"{}") == (502, b"upstream down")
        assert await client.post(url, b"{}") == (502, b"upstream down")
    assert len(connections) == 2  # Connection: close is not reused


async def test_retries_once_when_an_idle_connection_was_closed_by_the_server() -> None:
    async def one_answer_per_connection(reader: asyncio.StreamReader,
                                        writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b'{"data":{}}'))  # keep-alive promised, then closed
        await writer.drain()

    async with raw_server(one_answer_per_connection) as (url, connections):
        client = Http1SubgraphClient()
        assert await client.post(url, b"{}") == (200, b'{"data":{}}')
        await asyncio.sleep(0.05)
        assert await client.post(url, b"{}") == (200, b'{"data":{}}')
    assert len(connections) == 2


async def test_a_connection_closed_mid_answer_is_unreachable_not_retried() -> None:
    async def truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"data"')
        await writer.drain()

    async with raw_server(truncated) as (url, connections):
        with pytest.raises(SubgraphUnreachable):
            await Http1SubgraphClient().post(url, b"{}")
    assert len(connections) == 1


async def test_garbage_instead_of_http_is_unreachable() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)

    async with raw_server(garbage) as (url, _):
        with pytest.raises(SubgraphUnreachable, match="invalid HTTP"):
            await Http1SubgraphClient().post(url, b"{}")


async def test_a_slow_answer_times_out_and_its_connection_is_dropped() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await read_request(reader)) is not None:
            await asyncio.sleep(1.0)

    async with raw_server(slow) as (url, connections):
        client = Http1SubgraphClient(timeout=0.1)
        with pytest.raises(SubgraphTimeout):
            await client.post(url, b"{}")
        with pytest.raises(SubgraphTimeout):
            await client.post(url, b"{}")
    assert len(connections) == 2


async def test_a_closed_port_is_unreachable() -> None:
    async with raw_server(echo_keep_alive) as (url, _):
        pass  # closed again: nothing listens there now
    with pytest.raises(SubgraphUnreachable):
        await Http1SubgraphClient().post(url, b"{}")


async def test_a_url_that_is_not_http_is_unreachable() -> None:
    with pytest.raises(SubgraphUnreachable, match="unsupported"):
        await Http1SubgraphClient().post("ftp://example.invalid/graphql", b"{}")
