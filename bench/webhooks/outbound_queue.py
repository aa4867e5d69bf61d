"""The outbound queue alone: publish, claim and record through OutboundStore, no HTTP.

Publishes ``--messages`` messages to ``--endpoints`` endpoints of one application (one
destination each), a share of them behind ordering keys whose heads are failing and waiting
for a retry an hour away (``--blocked``: messages queued behind such heads), then claims and
records them in batches as a sending worker would. Prints publish rate, the claim statement's
latency (p50/p95) with the blocked backlog present, and claimed-and-recorded destinations per
second: the floor under the worker's cost per delivery, and a check that a backlog held back
by failing heads is never scanned by a claim.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/webhooks/outbound_queue.py [--messages 5000] [--endpoints 50] \\
        [--blocked 20000] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from harness import fresh_database

from crossdock.core.database import Database
from crossdock.webhooks.outbound.models import (
    Application,
    AttemptRecord,
    AttemptStatus,
    EndpointSettings,
    NewMessage,
    Next,
)
from crossdock.webhooks.outbound.store import OutboundStore


async def block(store: OutboundStore, blocked: int) -> None:
    """``blocked`` messages queued behind ten failing heads (one per key)."""
    for n in range(blocked):
        await store.publish(NewMessage(app="blocked", event_type="t", payload={"n": n},
                                       ordering_key=f"key-{n % 10}"))
    for claim in await store.claim_due(100):
        await store.record_attempt(AttemptRecord(
            destination_id=claim.destination_id, status=AttemptStatus.FAILED, next=Next.RETRY,
            retry_in=3600, duration_ms=1.0, error="failing head"))


async def run(url: str, messages: int, endpoints: int, blocked: int, batch: int) -> None:
    database = Database(url, max_size=4)
    await database.open()
    store = OutboundStore(database)
    for app in ("acme", "blocked"):
        await store.add_application(Application(name=app))
    for n in range(endpoints):
        await store.add_endpoint("acme", EndpointSettings(url=f"http://127.0.0.1:9/{n}"))
    await store.add_endpoint("blocked", EndpointSettings(url="http://127.0.0.1:9/blocked"))
    await block(store, blocked)

    started = time.perf_counter()
    for n in range(messages):
        await store.publish(NewMessage(app="acme", event_type="t", payload={"n": n}))
    published = time.perf_counter() - started

    claim_latencies: list[float] = []
    done = 0
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        claims = await store.claim_due(batch)
        claim_latencies.append(time.perf_counter() - began)
        if not claims:
            break
        for claim in claims:
            await store.record_attempt(AttemptRecord(
                destination_id=claim.destination_id, status=AttemptStatus.SUCCEEDED,
                next=Next.DONE, duration_ms=1.0, response_code=200))
        done += len(claims)
    drained = time.perf_counter() - started
    await database.close()

    quantiles = statistics.quantiles(claim_latencies, n=20)
    print(f"published {messages} messages x {endpoints} endpoints in {published:.2f} s: "
          f"{messages / published:.0f} messages/s, {messages * endpoints / published:.0f} "
          "destinations/s")
    print(f"claimed and recorded {done} destinations in {drained:.2f} s: "
          f"{done / drained:.0f}/s ({drained / done * 1e3:.2f} ms each, batches of {batch})")
    print(f"claim of {batch} beside {blocked} destinations held back by failing heads: "
          f"p50 {quantiles[9] * 1e3:.2f} ms, p95 {quantiles[18] * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--blocked", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    with fresh_database() as url:
        asyncio.run(run(url, args.messages, args.endpoints, args.blocked, args.batch))


if __name__ == "__main__":
    sys.exit(main())
