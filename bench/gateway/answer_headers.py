"""What the subgraph client spends per request, and what reporting an answer's headers adds.

`uv run --frozen python bench/gateway/answer_headers.py [--requests 20000] [--rounds 5]`

Serves a fixed GraphQL answer (with the headers a typical subgraph sends) from a bare asyncio
server on 127.0.0.1, then POSTs to it through crossdock's pooled HTTP/1.1 client, one request
at a time: plainly (what a gateway without a plugin that reads answer headers does), and with
`answer_headers` (what the response-headers and compression plugins ask for). Prints the
CPU microseconds per request of each, the median over the rounds, and their ratio. Run it
under another checkout's sources (`PYTHONPATH=that/src`) to compare the plain path across
changes; `--plain-only` skips the second measure for a checkout whose client has no
`answer_headers`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

BODY = b'{"data":{"product":{"name":"Table","price":899,"reviews":[{"body":"Love it"}]}}}'
ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ndate: Sun, 06 Dec 2026 "
          b"15:00:00 GMT\r\nserver: uvicorn\r\ncache-control: public, max-age=60\r\n"
          b"set-cookie: cart=1; Path=/\r\ncontent-length: %d\r\n\r\n%b" % (len(BODY), BODY))


class Subgraph(asyncio.Protocol):
    """Answers each request (one per read, as the client sends them) with :data:`ANSWER`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(ANSWER)


async def measure(client: object, url: str, requests: int, *, headers: bool) -> float:
    """CPU microseconds per request."""
    post = client.post  # type: ignore[attr-defined]
    started = time.process_time()
    for _ in range(requests):
        if headers:
            found: list[tuple[str, str]] = []
            await post(url, b'{"query":"{ product { name } }"}', answer_headers=found)
        else:
            await post(url, b'{"query":"{ product { name } }"}')
    return (time.process_time() - started) / requests * 1e6


async def main(args: argparse.Namespace) -> None:
    from crossdock.gateway.http1 import Http1SubgraphClient

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Subgraph, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/graphql"
    client = Http1SubgraphClient()
    await measure(client, url, 2000, headers=False)  # warm up
    plain, reporting = [], []
    for _ in range(args.rounds):
        plain.append(await measure(client, url, args.requests, headers=False))
        if not args.plain_only:
            reporting.append(await measure(client, url, args.requests, headers=True))
    await client.aclose()
    server.close()
    print(f"plain: {statistics.median(plain):.1f} us CPU per request "
          f"(rounds: {', '.join(f'{v:.1f}' for v in plain)})")
    if reporting:
        ratio = statistics.median(reporting) / statistics.median(plain)
        print(f"with answer_headers: {statistics.median(reporting):.1f} us "
              f"(rounds: {', '.join(f'{v:.1f}' for v in reporting)}); ratio {ratio:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plain-only", action="store_true")
    asyncio.run(main(parser.parse_args()))
