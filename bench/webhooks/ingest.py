"""Ingest benchmark: the receiver against the bare ceiling, fixed-rate ack latency, lag.

1. Ceiling ratio: ``wrk`` with 50 connections (50 concurrent senders) posts signed GitHub
   deliveries (the 329 octokit examples, each with a fresh delivery id) to
   ``crossdock webhooks serve``, then the same requests to the same server stack answering
   a bare 200 (bare.py). Only 2xx answers count; the receiver's are verified and committed.
2. Fixed rate: an open-loop client sends 1,000 deliveries/s over 50 keep-alive connections
   while ``crossdock worker`` processes them; latency is measured from each request's
   scheduled time (no coordinated omission).
3. Processing lag: ``processed_at - received_at`` of those deliveries, by window of receipt,
   and how long the backlog took to drain after the load stopped. Processing capacity: one
   worker drains the deliveries that step 1 stored.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/webhooks/ingest.py [--seconds 10] [--rate 1000] [--fixed-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid

import psycopg
from harness import (
    HERE,
    SECRET,
    CpuMeter,
    count_by_status,
    cpu_seconds,
    crossdock,
    examples,
    free_port,
    fresh_database,
    process,
    serve,
    wait_until_settled,
    worker,
)

from crossdock.webhooks.providers import make_provider

GITHUB = make_provider("github")


def write_data_file(payloads: list[tuple[str, bytes]]) -> str:
    (HERE / ".results").mkdir(exist_ok=True)
    path = HERE / ".results" / "signed.tsv"
    with path.open("w") as out:
        for event, body in payloads:
            signature = GITHUB.sign(body, SECRET, delivery_id="-", event_type=event)[
                "x-hub-signature-256"]
            out.write(f"{event}\t{signature}\t{body.decode()}\n")
    return str(path)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run_wrk(url: str, data_file: str, seconds: int, connections: int = 50) -> dict[str, float]:
    """wrk's figures, and the CPU seconds wrk itself used (the load costs CPU too)."""
    before = _children_cpu()
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(HERE / "post.lua"), url, "--", data_file, uuid.uuid4().hex[:8]],
        check=True, capture_output=True, text=True,
    ).stdout
    wrk_cpu = _children_cpu() - before
    total = int(re.search(r"(\d+) requests in", output).group(1))
    duration = float(re.search(r"requests in ([\d.]+)s", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "ok_per_second": (total - (int(bad.group(1)) if bad else 0)) / duration,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "socket_errors": errors.group(1) if errors else "",
        "wrk_cpu": wrk_cpu,
    }


async def fixed_rate(port: int, payloads: list[tuple[str, bytes]], rate: int, seconds: int,
                     connections: int = 50) -> tuple[list[float], dict[int, int]]:
    """Latencies (ms, from the scheduled send time) and answers by status."""
    signed = [(event, body, GITHUB.sign(body, SECRET, delivery_id="-", event_type=event)[
        "x-hub-signature-256"]) for event, body in payloads]
    run_id = uuid.uuid4().hex[:8]
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = rate * seconds

    async def producer() -> None:
        start = time.perf_counter() + 0.2
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            event, body, signature = signed[n % len(signed)]
            request = (
                f"POST /webhooks/gh HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
                f"content-type: application/json\r\nx-github-event: {event}\r\n"
                f"x-github-delivery: {run_id}-{n}\r\nx-hub-signature-256: {signature}\r\n"
                f"content-length: {len(body)}\r\n\r\n").encode() + body
            queue.put_nowait((due, request))
        for _ in range(connections):
            queue.put_nowait((0.0, b""))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            due, request = await queue.get()
            if not request:
                break
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - due) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(producer(), *[connection() for _ in range(connections)])
    return latencies, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lag_by_window(url: str, windows: int = 4) -> list[tuple[str, float, float]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM received_at) AS r, "
            "extract(epoch FROM processed_at - received_at) * 1000 AS lag "
            "FROM webhooks_deliveries WHERE status = 'processed' ORDER BY received_at"
        ).fetchall()
    if not rows:
        return []
    first, last = float(rows[0][0]), float(rows[-1][0])
    span = (last - first) / windows or 1
    out = []
    for w in range(windows):
        lags = [float(lag) for r, lag in rows
                if first + w * span <= float(r) < first + (w + 1) * span + (w == windows - 1)]
        if lags:
            out.append((f"{w * span:5.1f}-{(w + 1) * span:5.1f} s", statistics.median(lags),
                        percentile(lags, 0.99)))
    return out


def per_request(used: dict[str, float], requests: float) -> str:
    return ", ".join(f"{name} {seconds / requests * 1e6:.0f} us" for name, seconds in used.items())


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--fixed-seconds", type=int, default=20)
    parser.add_argument("--drain-timeout", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1, help="crossdock worker processes")
    parser.add_argument("--fixed-connections", type=int, default=50)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the ceiling ratio (apt-get install wrk)")
    payloads = examples()
    data_file = write_data_file(payloads)
    mean_size = statistics.mean(len(body) for _, body in payloads)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    print(f"payloads: {len(payloads)} octokit examples, mean {mean_size / 1024:.1f} KiB")

    bare_port = free_port()
    with process([str(HERE / "bare.py"), str(bare_port)], "", port=bare_port) as bare:
        run_wrk(f"http://127.0.0.1:{bare_port}/webhooks/gh", data_file, 2)  # warm-up
        bare_cpu = cpu_seconds(bare.pid)
        ceiling = run_wrk(f"http://127.0.0.1:{bare_port}/webhooks/gh", data_file, args.seconds)
        bare_cpu = cpu_seconds(bare.pid) - bare_cpu

    with fresh_database() as url:
        crossdock(url, "webhooks", "source", "add", "gh", "--provider", "github",
                  "--secret", SECRET)
        port = free_port()
        with serve(url, port) as server:
            run_wrk(f"http://127.0.0.1:{port}/webhooks/gh", data_file, 2)
            with CpuMeter(url, {"receiver": server.pid}) as saturated:
                receiver = run_wrk(f"http://127.0.0.1:{port}/webhooks/gh", data_file,
                                   args.seconds)
        # Processing capacity: one worker drains the saturated run's backlog.
        backlog = count_by_status(url).get("received", 0)
        with worker(url, concurrency=8):
            drain_seconds = wait_until_settled(url, timeout=args.drain_timeout * 10)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE webhooks_deliveries CASCADE")
            conn.execute("DELETE FROM procrastinate_jobs")

        port = free_port()
        with serve(url, port) as server, contextlib.ExitStack() as workers:
            children = {"receiver": server.pid}
            for n in range(args.workers):
                name = f"worker #{n + 1}" if args.workers > 1 else "worker"
                children[name] = workers.enter_context(worker(url, concurrency=8)).pid
            time.sleep(2)
            with CpuMeter(url, children) as fixed:
                latencies, statuses = asyncio.run(
                    fixed_rate(port, payloads, args.rate, args.fixed_seconds,
                               args.fixed_connections))
                load_ended = time.monotonic()
                try:
                    wait_until_settled(url, timeout=args.drain_timeout)
                    after = f"{time.monotonic() - load_ended:.1f} s"
                except TimeoutError:
                    waiting = count_by_status(url).get("received", 0)
                    after = f"not within {args.drain_timeout} s ({waiting} still waiting)"
        lags = lag_by_window(url)

    ratio = receiver["ok_per_second"] / ceiling["ok_per_second"]
    print()
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| bare 200 ceiling (wrk, 50 conns) | {ceiling['ok_per_second']:.0f} req/s | |")
    print(f"| receiver: verified + stored (wrk, 50 conns) | {receiver['ok_per_second']:.0f} "
          f"req/s (non-2xx {receiver['non_2xx']}) | |")
    print(f"| ingest / ceiling | {ratio:.0%} | >= 50% |")
    print(f"| receiver p99 under saturation | {receiver['p99_ms']:.1f} ms | |")
    print(f"| one worker draining the saturated run's {backlog} deliveries | "
          f"{backlog / drain_seconds:.0f}/s ({drain_seconds:.1f} s, start-up included) | |")
    print(f"| fixed {args.rate}/s for {args.fixed_seconds} s: answers | {statuses} | all 202 |")
    print(f"| ack latency p50 at {args.rate}/s | {percentile(latencies, 0.5):.1f} ms | |")
    print(f"| ack latency p99 at {args.rate}/s | {percentile(latencies, 0.99):.1f} ms | < 50 ms |")
    for window, p50, p99 in lags:
        print(f"| processing lag, received {window} | p50 {p50:.0f} ms, p99 {p99:.0f} ms | flat |")
    print(f"| backlog drained after the load stopped | {after} | ~0 |")
    print()
    print("CPU per request, from /proc (postgres: the backends serving the run's database)")
    served = ceiling["ok_per_second"] * args.seconds
    stored = receiver["ok_per_second"] * args.seconds
    saturated.used["wrk"] = receiver["wrk_cpu"]
    print(f"- bare 200 ceiling: bare server {bare_cpu / served * 1e6:.0f} us, "
          f"wrk {ceiling['wrk_cpu'] / served * 1e6:.0f} us")
    print(f"- receiver saturated: {per_request(saturated.used, stored)}")
    print(f"- fixed {args.rate}/s, load and drain: {per_request(fixed.used, len(latencies))}")
    half = ceiling["ok_per_second"] / 2
    per_delivery = sum(saturated.used.values()) / stored
    print(f"At half the ceiling ({half:.0f}/s), the saturated run's CPU per delivery "
          f"({per_delivery * 1e6:.0f} us, all processes above) needs {half * per_delivery:.2f} "
          f"cores; this machine has {os.cpu_count()}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
