"""crossdock gateway's CPU per request with telemetry off and on, without the network.

`python bench/gateway/telemetry.py [--query deep] [--requests 1000] [--rounds 5]`

Records the subgraphs' answers once through the benchmark's Node subgraphs (as overhead.py
does), then runs the query through crossdock's `Gateway` with every subgraph call answered
in-process, plan cached, under five `gateway.yaml`s: `off` (no telemetry key), `metrics+log`
(Prometheus by operation name and the access log line, written to /dev/null), `tracing`
(OTLP/HTTP to a collector on 127.0.0.1, every trace sampled), `tracing 10%` (one trace in
ten) and `all` (every trace). Rounds alternate
between them; a tracing round ends when the collector has every span it made (the export
thread's CPU counts: it is this process's). Prints the median CPU per request of each, its
cost over `off`, the spans the collector (bench/gateway/otlp_collector.py, a process of its
own) counted, and the one thing `off` adds to a request since telemetry exists: a plan cache
counter increment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
from pathlib import Path
from typing import Any

from overhead import REPO, record, reexec_in, replay_client
from run import load_queries

HERE = Path(__file__).resolve().parent
CONFIGS = {
    "off": "{}",
    "metrics+log": """
telemetry:
  exporters: {metrics: {prometheus: {enabled: true}}}
  instrumentation: {events: {router: {response: info}}}
""",
    "tracing": """
telemetry:
  exporters:
    tracing:
      otlp: {enabled: true, endpoint: "COLLECTOR"}
""",
    "tracing 10%": """
telemetry:
  exporters:
    tracing:
      common: {sampler: 0.1}
      otlp: {enabled: true, endpoint: "COLLECTOR"}
""",
    "all": """
telemetry:
  exporters:
    tracing:
      otlp: {enabled: true, endpoint: "COLLECTOR"}
    metrics: {prometheus: {enabled: true}}
  instrumentation: {events: {router: {response: info}}}
""",
}


def start_collector(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = workdir / "collector-port"
    proc = subprocess.Popen([sys.executable, str(HERE / "otlp_collector.py"), str(port_file)])
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the OTLP collector did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


def collector_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def flush(gateway: Any) -> None:
    """Blocks until the collector has every span ``gateway`` made."""
    for plugin in gateway.pipeline.plugins:
        if getattr(plugin, "tracing", None) is not None:
            plugin.tracing.flush()


async def round_cpu(gateway: Any, document: str, variables: list[dict[str, Any]],
                    requests: int) -> float:
    """CPU milliseconds per request over one round, the queued spans' export included."""
    start = time.process_time()
    for i in range(requests):
        await gateway.execute(document, None, variables[i % len(variables)])
    flush(gateway)
    return (time.process_time() - start) * 1000 / requests


async def main_async(args: argparse.Namespace) -> int:
    import yaml

    from crossdock.core.logging import configure_logging
    from crossdock.gateway import metrics
    from crossdock.gateway.config import parse_config
    from crossdock.gateway.engine import Gateway

    (query,) = load_queries([args.query])
    supergraph, answers, expected = await record(query.document, query.variables)
    configure_logging("info", "json")
    with tempfile.TemporaryDirectory() as tmp:
        collector, url = start_collector(Path(tmp))
        try:
            gateways = {
                name: Gateway(supergraph, replay_client(answers), parse_config(
                    yaml.safe_load(text.replace("COLLECTOR", url))))
                for name, text in CONFIGS.items()}
            cpu: dict[str, list[float]] = {name: [] for name in gateways}
            with contextlib.redirect_stderr(args.sink):  # the access log's lines
                for name, gateway in gateways.items():  # warm up, check the answers
                    for v, body in zip(query.variables, expected, strict=True):
                        if (await gateway.execute(query.document, None, v)).body != body:
                            raise SystemExit(f"{name}: the answer differs")
                    flush(gateway)
                made = collector_stats(url)["spans"]
                for i in range(args.rounds):
                    names = list(gateways)
                    names = names[i % len(names):] + names[:i % len(names)]
                    for name in names:
                        cpu[name].append(await round_cpu(
                            gateways[name], query.document, query.variables, args.requests))
                for gateway in gateways.values():
                    await gateway.pipeline.aclose()
            stats = collector_stats(url)
        finally:
            collector.terminate()
            collector.wait()
    counter = timeit.timeit("counts.hits += 1", globals={"counts": metrics.PLAN_CACHE},
                            number=1_000_000)
    report(args, cpu, stats, made, fetches=len(answers) / len(query.variables),
           counter_us=counter)
    return 0


def report(args: argparse.Namespace, cpu: dict[str, list[float]], stats: dict[str, int],
           warmup_spans: int, *, fetches: float, counter_us: float) -> None:
    print(f"query {args.query}: {fetches:.0f} subgraph fetches a request, answered "
          f"in-process, plan cached; {args.rounds} rounds x {args.requests} requests per "
          f"configuration; 1-minute load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    off = statistics.median(cpu["off"])
    print(f"{'telemetry':<12} {'CPU ms/request (median of rounds)':>34} {'over off':>10}")
    for name, rounds in cpu.items():
        median = statistics.median(rounds)
        extra = f"{(median - off) * 1000:+.0f} us" if name != "off" else ""
        print(f"{name:<12} {median:>34.3f} {extra:>10}   rounds: "
              + " ".join(f"{r:.3f}" for r in rounds))
    spans = stats["spans"] - warmup_spans
    per_trace = 3 + round(fetches)  # router, supergraph, query_planning, a subgraph a fetch
    full = 2 * args.rounds * args.requests * per_trace  # every request of tracing and all
    kept = (spans - full) / per_trace
    print(f"collector: {spans} spans from the measured rounds: {full} from tracing and all "
          f"({per_trace} a request), {spans - full} from the {kept:.0f} traces of "
          f"{args.rounds * args.requests} that tracing 10% kept; {stats['exports']} exports, "
          f"{stats['bytes'] / 1e6:.1f} MB in all")
    print(f"off adds one plan cache counter increment a request: {counter_us:.3f} us "
          f"({counter_us / 1000 / off:.3%} of off's CPU)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossdock-dir", type=Path, default=REPO)
    parser.add_argument("--query", choices=("deep", "simple"), default="deep")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    reexec_in(args.crossdock_dir.resolve())
    with Path(os.devnull).open("w") as args.sink:
        return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
