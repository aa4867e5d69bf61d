"""The admin graph's cost: a page of deliveries, direct to the subgraph and through the gateway.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        uv run --frozen python bench/admin_graph/pages.py [--deliveries 20000] [--requests 200]

Seeds a scratch database (dropped at the end) with deliveries of three sources, two attempts
each, then measures, one request at a time over real HTTP on 127.0.0.1:
- the statements a page costs, for 20 and 100 items (a constant: the loaders batch);
- a request that only passes the token check, the floor under every other row;
- latency of a page of 20 deliveries with bodies and attempts, direct to the webhooks subgraph
  and through the gateway (the token's check included), median and p95;
- the first page against a page deep in the list (keyset pages: the same cost);
- a filtered page (one source, one status) that the (source|status, received_at) indexes serve.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from crossdock.core.admin_graph.mount import AdminGraphs
from crossdock.core.admin_graph.supergraph import AdminSupergraph
from crossdock.core.runtime import Runtime
from crossdock.core.server import bind, make_server
from crossdock.core.settings import CoreSettings
from crossdock.core.tokens import Role, TokenStore
from crossdock.gateway.app import serving
from crossdock.gateway.settings import GatewaySettings
from crossdock.gateway.supergraph import Supergraph

PAGE = """query($first: Int!, $after: String, $source: String, $status: DeliveryStatus) {
  deliveries(first: $first, after: $after, source: $source, status: $status) {
    nodes { id eventType status body attempts { try status } }
    pageInfo { endCursor } } }"""


async def seed(runtime: Runtime, deliveries: int) -> None:
    async with runtime.database.transaction() as conn:
        await conn.execute("INSERT INTO webhooks_sources (name, provider, secrets)"
                           " SELECT 's' || n, 'github', '{env:X}' FROM generate_series(0, 2) n")
        await conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, event_type, status, body,"
            " body_size, received_at) SELECT 's' || (n %% 3), 'github', 'push',"
            " (ARRAY['processed', 'failed', 'dead'])[1 + n %% 3], convert_to(repeat('x', 500),"
            " 'UTF8'), 500, now() - make_interval(secs => %(n)s - n)"
            " FROM generate_series(1, %(n)s) n", {"n": deliveries})
        await conn.execute(
            "INSERT INTO webhooks_attempts (delivery_id, generation, try, route, handler,"
            " status, duration_ms) SELECT id, 0, t, 'default:bus', 'bus',"
            " CASE t WHEN 1 THEN 'failed' ELSE 'succeeded' END, 1"
            " FROM webhooks_deliveries, generate_series(1, 2) t")
        await conn.execute("ANALYZE")


async def timed(client: httpx.AsyncClient, url: str, token: str, variables: dict[str, Any],
                requests: int, query: str = PAGE) -> list[float]:
    headers = {"authorization": f"Bearer {token}"}
    took = []
    for _ in range(requests):
        start = time.perf_counter()
        response = await client.post(url, json={"query": query, "variables": variables},
                                     headers=headers)
        took.append((time.perf_counter() - start) * 1000)
        body = response.json()
        assert not body.get("errors"), body
    return took


def summary(took: list[float]) -> str:
    ordered = sorted(took)
    return (f"median {statistics.median(ordered):6.2f} ms  "
            f"p95 {ordered[int(len(ordered) * 0.95) - 1]:6.2f} ms")


async def statements(runtime: Runtime, client: httpx.AsyncClient, url: str, token: str,
                     first: int) -> int:
    counted = 0
    execute = psycopg.AsyncCursor.execute

    async def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal counted
        if query != "":
            counted += 1
        return await execute(self, query, *args, **kwargs)

    psycopg.AsyncCursor.execute = counting  # type: ignore[method-assign]
    try:
        await timed(client, url, token, {"first": first}, 1)
    finally:
        psycopg.AsyncCursor.execute = execute  # type: ignore[method-assign]
    del runtime
    return counted


async def measure(url: str, deliveries: int, requests: int) -> None:
    settings = CoreSettings(database_url=url, admin_graph_port=0)
    runtime = Runtime.create(settings, url)
    await runtime.open()
    try:
        async with runtime.database.connection() as conn:
            await runtime.migrator().upgrade(conn)
        await seed(runtime, deliveries)
        _, token = await TokenStore(runtime.database).create(role=Role.READ, name="bench")
        sock = bind("127.0.0.1", 0, option="bench")
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        graphs = make_server(AdminGraphs(runtime))
        tasks = [asyncio.create_task(graphs.serve(sockets=[sock]))]
        admin = AdminSupergraph(urls={n: f"{base}/{n}/graphql" for n in ("core", "gitslice",
                                                                          "webhooks")})
        gateway_settings = GatewaySettings(config=admin.gateway_config())
        async with serving(gateway_settings, Supergraph(admin.text(), source="bench"),
                           ops=False) as app:
            gateway_sock = bind("127.0.0.1", 0, option="bench")
            gateway = make_server(app)
            tasks.append(asyncio.create_task(gateway.serve(sockets=[gateway_sock])))
            while not (graphs.started and gateway.started):  # noqa: ASYNC110 (uvicorn sets a flag)
                await asyncio.sleep(0.01)
            direct = f"{base}/webhooks/graphql"
            through = f"http://127.0.0.1:{gateway_sock.getsockname()[1]}/graphql"
            async with httpx.AsyncClient(timeout=30) as client:
                print(f"{deliveries} deliveries, 2 attempts each; {requests} requests per row; "
                      f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
                for first in (20, 100):
                    print(f"statements for a page of {first:3}: "
                          f"{await statements(runtime, client, direct, token, first)}")
                await timed(client, direct, token, {"first": 20}, 20)  # warm up
                bare = await timed(client, direct, token, {}, requests, "{ __typename }")
                print(f"token check only            {summary(bare)}  (HTTP, the token's"
                      " lookup and its last-use update)")
                direct_page = await timed(client, direct, token, {"first": 20}, requests)
                gateway_page = await timed(client, through, token, {"first": 20}, requests)
                print(f"page of 20, subgraph        {summary(direct_page)}")
                print(f"page of 20, through gateway {summary(gateway_page)}  "
                      f"(x{statistics.median(gateway_page) / statistics.median(direct_page):.2f}"
                      " of direct)")
                after = None
                for _ in range(deliveries // 2 // 100):
                    response = await client.post(direct, json={"query": PAGE, "variables": {
                        "first": 100, "after": after}},
                        headers={"authorization": f"Bearer {token}"})
                    after = response.json()["data"]["deliveries"]["pageInfo"]["endCursor"]
                deep = await timed(client, direct, token, {"first": 20, "after": after},
                                   requests)
                print(f"page of 20 at the middle    {summary(deep)}  (x"
                      f"{statistics.median(deep) / statistics.median(direct_page):.2f}"
                      " of the first page)")
                filtered = await timed(client, direct, token, {
                    "first": 20, "source": "s1", "status": "FAILED"}, requests)
                print(f"page of 20, source+status   {summary(filtered)}")
            gateway.stop()
            await tasks[1]
            gateway_sock.close()
        graphs.stop()
        await tasks[0]
        sock.close()
    finally:
        await runtime.close()


async def main(deliveries: int, requests: int) -> None:
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_admin_graph_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        await measure(make_conninfo(admin_url, dbname=name), deliveries, requests)
    finally:
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    asyncio.run(main(options.deliveries, options.requests))
