"""Outbound webhooks: publish -> delivered latency at a steady rate, and the highest rate.

    DATABASE_URL=postgresql://... uv run --frozen python bench/webhooks/outbound.py
    ... outbound.py --rate 500 --endpoints 50 --seconds 60 --workers 1 2

For each worker count: ``crossdock worker --queue webhooks`` processes (as a user runs them)
send to ``--endpoints`` local endpoints (one application each, allow-listed on 127.0.0.1),
served by a separate process that notes when each ``webhook-id`` arrived. This process
publishes ``--rate`` messages a second for ``--seconds`` through the Python API
(``Outbound.send``), round-robin over the applications, and reports the latency from the
call to send to the endpoint's receipt (p50/p95/p99), and the workers' CPU per delivery.
Then it publishes a backlog of ``--backlog`` messages with no worker running, starts the
workers and times how fast they drain it: the highest rate they sustain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import cpu_seconds, fresh_database

from crossdock.core.database import Database
from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.service import Outbound

EVENT = "bench.event"


# The endpoints: a bare HTTP/1.1 server on many ports that appends "id time" per request.

class _Receiver(asyncio.Protocol):
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").lower()
            length = 0
            webhook_id = ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name == "content-length":
                    length = int(value)
                elif name == "webhook-id":
                    webhook_id = value.strip()
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length:]
            self.log.append(f"{webhook_id} {time.time():.6f}")
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")


async def _serve_endpoints(count: int) -> list[str]:
    loop = asyncio.get_running_loop()
    log: list[str] = []
    servers = [await loop.create_server(lambda: _Receiver(log), "127.0.0.1", 0)
               for _ in range(count)]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print(" ".join(map(str, ports)), flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    return log


@contextlib.contextmanager
def endpoints(count: int) -> Iterator[tuple[list[int], Path, subprocess.Popen[str]]]:
    out = Path(tempfile.mkstemp(prefix="crossdock-bench-receipts-")[1])
    child = subprocess.Popen([sys.executable, __file__, "--serve-endpoints", str(count),
                              str(out)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    ports = [int(p) for p in child.stdout.readline().split()]
    try:
        yield ports, out, child
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=30)
        out.unlink(missing_ok=True)


def receipts(child: subprocess.Popen[str], out: Path) -> dict[str, float]:
    """Stop the endpoints; the first arrival of each webhook-id."""
    child.terminate()
    child.wait(timeout=30)
    first: dict[str, float] = {}
    for line in out.read_text().splitlines():
        uid, _, at = line.partition(" ")
        first.setdefault(uid, float(at))
    return first


# The workers.

@contextlib.contextmanager
def workers(url: str, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "DATABASE_URL": url, "CROSSDOCK_LOG_LEVEL": "warning",
           "CROSSDOCK_WEBHOOKS_OUTBOUND_ALLOW": "127.0.0.1/32"}
    children = [subprocess.Popen([sys.executable, "-m", "crossdock", "worker", "--queue",
                                  "webhooks"], env=env, stdout=subprocess.DEVNULL)
                for _ in range(count)]
    try:
        yield children
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def _count_succeeded(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM webhooks_out_destinations "
                           "WHERE status = 'succeeded'").fetchone()
    return int(row[0]) if row else 0


async def _setup(outbound: Outbound, ports: list[int]) -> list[str]:
    from crossdock.webhooks.outbound.models import Application, EventType

    await outbound.store.add_event_type(EventType(name=EVENT))
    apps = []
    for n, port in enumerate(ports):
        app = f"bench-{n}"
        await outbound.store.add_application(Application(name=app))
        await outbound.store.add_endpoint(app, EndpointSettings(
            url=f"http://127.0.0.1:{port}/hook"))
        apps.append(app)
    return apps


async def _publish(outbound: Outbound, apps: list[str], *, rate: float | None, total: int,
                   sent: dict[str, float]) -> float:
    """Send ``total`` messages at ``rate`` a second (None: as fast as it goes)."""
    slots = asyncio.Semaphore(32)
    started = time.monotonic()

    async def one(n: int) -> None:
        async with slots:
            at = time.time()
            published = await outbound.send(apps[n % len(apps)], EVENT, {"n": n, "pad": "x" * 200})
            sent[published.message.uid] = at

    tasks = []
    for n in range(total):
        if rate is not None:
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return time.monotonic() - started


def _wait_for(url: str, expected: int, timeout: float) -> float:
    """Seconds until ``expected`` deliveries succeeded (``timeout`` at most)."""
    started = time.monotonic()
    while _count_succeeded(url) < expected and time.monotonic() - started < timeout:
        time.sleep(0.05)
    return time.monotonic() - started


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


async def steady(args: argparse.Namespace, worker_count: int) -> None:
    total = int(args.rate * args.seconds)
    with fresh_database() as url, endpoints(args.endpoints) as (ports, out, child):
        database = Database(url, min_size=1, max_size=8)
        await database.open()
        outbound = Outbound(database)
        apps = await _setup(outbound, ports)
        sent: dict[str, float] = {}
        with workers(url, worker_count) as procs:
            await asyncio.sleep(3)  # the workers start (imports, pools)
            cpu_before = sum(cpu_seconds(p.pid) for p in procs)
            took = await _publish(outbound, apps, rate=args.rate, total=total, sent=sent)
            _wait_for(url, total, max(30.0, args.seconds))
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
            delivered = _count_succeeded(url)
        await database.close()
        arrived = receipts(child, out)
    latencies = sorted((arrived[uid] - at) * 1000 for uid, at in sent.items() if uid in arrived)
    print(f"{worker_count} worker(s), {args.rate:g} msg/s to {args.endpoints} endpoints for "
          f"{args.seconds:g} s: {len(latencies)}/{total} delivered, publish took {took:.1f} s "
          f"(achieved {total / took:.0f} msg/s)")
    print(f"  publish -> delivered ms: p50 {_pct(latencies, 50):.1f}  p95 "
          f"{_pct(latencies, 95):.1f}  p99 {_pct(latencies, 99):.1f}  max {latencies[-1]:.1f}")
    print(f"  worker CPU: {cpu:.1f} s, {cpu / max(delivered, 1) * 1000:.2f} ms per delivery")


async def highest_rate(args: argparse.Namespace, worker_count: int) -> None:
    with fresh_database() as url, endpoints(args.endpoints) as (ports, _, _child):
        database = Database(url, min_size=1, max_size=8)
        await database.open()
        outbound = Outbound(database)
        apps = await _setup(outbound, ports)
        await _publish(outbound, apps, rate=None, total=args.backlog, sent={})
        await database.close()
        with workers(url, worker_count) as procs:
            # Timed from the first delivery, so that process start-up is left out.
            _wait_for(url, 1, 60)
            cpu_before = sum(cpu_seconds(p.pid) for p in procs)
            took = _wait_for(url, args.backlog, 600)
            cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu_before
            delivered = _count_succeeded(url)
    print(f"{worker_count} worker(s), a backlog of {args.backlog} messages: {delivered} "
          f"delivered in {took:.1f} s, {delivered / took:.0f} deliveries/s; worker CPU "
          f"{cpu / max(delivered, 1) * 1000:.2f} ms per delivery")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backlog", type=int, default=10000,
                        help="messages drained to measure the highest rate (0: skip it)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--serve-endpoints", nargs=2, metavar=("COUNT", "FILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_endpoints:
        log = asyncio.run(_serve_endpoints(int(args.serve_endpoints[0])))
        Path(args.serve_endpoints[1]).write_text("\n".join(log))
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for count in args.workers:
        asyncio.run(steady(args, count))
    for count in args.workers if args.backlog else ():
        asyncio.run(highest_rate(args, count))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
