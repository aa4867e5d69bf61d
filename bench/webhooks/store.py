"""PostgreSQL alone taking deliveries: the receiver's INSERT without HTTP, verification or uvicorn.

Writers on their own connections send the octokit examples through
``store.insert_deliveries`` (the statement of the receiver's group commit) in batches, as fast
as PostgreSQL takes them. Prints rows/s, statement latency, and the CPU per row of every
PostgreSQL process on this machine (backends, WAL writer, checkpointer: run it on an
otherwise idle machine) and of this script. This is the floor under the receiver's cost: on
a machine where the receiver and PostgreSQL share the cores, a stored delivery costs at
least this much more than the bare ceiling's request.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/webhooks/store.py [--writers 2] [--batch 25] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

from harness import SECRET, crossdock, examples, fresh_database

from crossdock.core.database import Database
from crossdock.webhooks import store


def postgres_cpu_seconds() -> float:
    """User + system CPU of every process named postgres on this machine."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def run(url: str, writers: int, batch: int, seconds: float) -> None:
    payloads = examples()
    database = Database(url, max_size=writers + 1)
    await database.open()
    run_id = uuid.uuid4().hex[:8]
    stored = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal stored
        async with database.pool.connection() as conn:
            await conn.set_autocommit(True)
            while time.perf_counter() < deadline:
                rows = []
                for _ in range(batch):
                    stored += 1
                    event, body = payloads[stored % len(payloads)]
                    rows.append({
                        "source": "gh", "provider": "github",
                        "provider_delivery_id": f"{run_id}-{stored}", "event_type": event,
                        "action": None, "body": body, "body_size": len(body),
                        "headers": {"content-type": "application/json",
                                    "x-github-event": event,
                                    "x-github-delivery": f"{run_id}-{stored}",
                                    "x-hub-signature-256": "sha256=" + "0" * 64}})
                started = time.perf_counter()
                await store.insert_deliveries(conn, rows)
                latencies.append(time.perf_counter() - started)
            await conn.set_autocommit(False)

    postgres_before, own_before = postgres_cpu_seconds(), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    postgres = postgres_cpu_seconds() - postgres_before
    own = time.process_time() - own_before
    await database.close()
    latencies.sort()
    print(f"{writers} writers, batches of {batch}, {seconds:.0f} s: {stored / elapsed:.0f} rows/s; "
          f"statement p50 {latencies[len(latencies) // 2] * 1000:.2f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms")
    print(f"CPU per row: PostgreSQL (all its processes) {postgres / stored * 1e6:.0f} us, "
          f"this script {own / stored * 1e6:.0f} us")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with fresh_database() as url:
        crossdock(url, "webhooks", "source", "add", "gh", "--provider", "github",
                  "--secret", SECRET)
        asyncio.run(run(url, args.writers, args.batch, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
