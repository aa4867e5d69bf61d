"""What persisted queries and limits cost per request, without the network.

`uv run --frozen python bench/gateway/guards.py [--requests 5000] [--rounds 5]`

The demo supergraph's query (products, then reviews: two fetches) runs through crossdock's
`Gateway.handle` with its subgraph answers replayed in-process (recorded once from the demo
subgraphs), plan already cached, under four configurations: none, APQ (the client sends only
the hash, every request a hit), limits (all four operation limits and the parser limits),
and all of them with a persisted query list served by id. Prints the median and p95
microseconds per request of each and the difference with none: the per-request cost of an APQ
hit and of limits counting once the document has been seen. Then the one-time cost of
counting a document never seen (the text's tokens and the operation's measures) for
bench/gateway/queries/deep.graphql, the benchmark's deep query.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from graphql import OperationDefinitionNode, parse

from crossdock.gateway import demo
from crossdock.gateway.config import parse_config
from crossdock.gateway.context import RequestContext
from crossdock.gateway.engine import Gateway
from crossdock.gateway.plugins.base import GraphQLRequest
from crossdock.gateway.plugins.measure import measure_operation, measure_text
from crossdock.gateway.supergraph import Supergraph

HERE = Path(__file__).resolve().parent
QUERY = "query Top { topProducts { name price reviews { body stars } } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
URLS = {"products": "http://products.bench/graphql", "reviews": "http://reviews.bench/graphql"}
LIMITS = {"max_depth": 10, "max_height": 100, "max_aliases": 10, "max_root_fields": 10,
          "parser_max_tokens": 15000, "parser_max_recursion": 500}


class Replay:
    """The subgraph client port, answering from answers recorded off the demo subgraphs."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, bytes], bytes] = {}
        self.apps = {name: demo.DemoSubgraph(name) for name in URLS}

    async def record(self, url: str, body: bytes) -> bytes:
        name = next(n for n, u in URLS.items() if u == url)
        sent: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        await self.apps[name]({"type": "http", "method": "POST", "path": "/graphql",
                               "headers": []}, receive, send)
        return b"".join(sent)

    async def post(self, url: str, body: bytes, **_: Any) -> tuple[int, bytes]:
        found = self.answers.get((url, body))
        if found is None:
            found = self.answers[(url, body)] = await self.record(url, body)
        return 200, found


def gateway(config: dict[str, Any], client: Replay, workdir: Path) -> Gateway:
    manifest = workdir / "manifest.json"
    manifest.write_text(json.dumps({"top-1": QUERY}))
    text = json.dumps(config).replace("MANIFEST", str(manifest))
    return Gateway(Supergraph(demo.supergraph(URLS)), client, parse_config(json.loads(text)))


def request(**fields: Any) -> GraphQLRequest:
    return GraphQLRequest(context=RequestContext(request_id="bench"), **fields)


async def per_request(gw: Gateway, made: GraphQLRequest, args: argparse.Namespace,
                      ) -> tuple[float, float]:
    """Median and p95 microseconds of ``args.rounds`` x ``args.requests`` requests."""
    first = await gw.handle(made)
    if "errors" in first.body:
        raise SystemExit(f"the request failed: {orjson.dumps(first.body).decode()}")
    times: list[float] = []
    for _ in range(args.rounds):
        for _ in range(args.requests):
            start = time.perf_counter()
            await gw.handle(made)
            times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def counting_once(path: Path, repeat: int) -> tuple[float, float, float]:
    """Microseconds to measure ``path``'s text and its operation, never seen before, and to
    parse it (what the gateway does to any new text anyway)."""
    text = path.read_text(encoding="utf-8")
    document = parse(text)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    timings = []
    for work in (lambda: measure_text(text, max_tokens=15000, max_nesting=500),
                 lambda: measure_operation(document, operation), lambda: parse(text)):
        start = time.perf_counter()
        for _ in range(repeat):
            work()
        timings.append((time.perf_counter() - start) / repeat * 1e6)
    return timings[0], timings[1], timings[2]


async def main(args: argparse.Namespace) -> None:
    client = Replay()
    plain, by_hash = request(query=QUERY), request(query=None, extensions={
        "persistedQuery": {"version": 1, "sha256Hash": HASH}})
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        apq = gateway({"apq": {}}, client, workdir)
        await apq.handle(request(query=QUERY, extensions=by_hash.extensions))  # registers it
        cases = [
            ("none (query text)", gateway({}, client, workdir), plain),
            ("apq hit (hash only)", apq, by_hash),
            ("limits (query text)", gateway({"limits": LIMITS}, client, workdir), plain),
            ("persisted id + limits", gateway({
                "persisted_queries": {"enabled": True, "local_manifests": ["MANIFEST"]},
                "limits": LIMITS}, client, workdir),
             request(query=None, extensions={"persistedQuery": {"version": 1,
                                                                "sha256Hash": "top-1"}})),
        ]
        results = [(name, *await per_request(gw, made, args)) for name, gw, made in cases]
    base = results[0][1]
    print(f"{'configuration':<24} {'median us':>10} {'p95 us':>8} {'vs none':>9}")
    for name, median, p95 in results:
        print(f"{name:<24} {median:>10.1f} {p95:>8.1f} {median - base:>+8.1f}")
    deep = HERE / "queries" / "deep.graphql"
    lexed, measured, parsed = counting_once(deep, 200)
    print(f"\nfirst sight of {deep.name} ({len(deep.read_text())} chars): tokens and nesting "
          f"{lexed:.0f} us, operation measures {measured:.0f} us (then kept per text); "
          f"graphql-core parses it in {parsed:.0f} us ({(lexed + measured) / parsed:.0%})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
