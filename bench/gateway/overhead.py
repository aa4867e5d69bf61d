"""crossdock gateway's own cost per request, without the network.

`python bench/gateway/overhead.py [--crossdock-dir DIR] [--query deep] [--requests 2000]
[--answers FILE]`

Records the subgraphs' answers once (through the benchmark's Node subgraphs), then runs the
query through crossdock's public `Gateway` API again and again with every subgraph call
answered in-process from those recordings, plan already cached. What is left is parsing the
request's variables, running the plan, building subgraph bodies, decoding their answers,
merging and shaping the response: the gateway's overhead (target: under 1 ms). Prints the
per-request times and the top of a cProfile profile. `--answers FILE` saves crossdock's
answers, or compares them byte for byte with a file saved by another checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import load_queries  # the benchmark's queries and variable sets

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
REPO = HERE.parent.parent
TARGET_MS = 1.0


def reexec_in(directory: Path) -> None:
    """Runs this script with the crossdock checkout's own interpreter, once."""
    python = directory / ".venv" / "bin" / "python"
    if os.environ.get("CROSSDOCK_OVERHEAD_CHILD") or not python.exists():
        return
    if Path(sys.prefix).resolve() == (directory / ".venv").resolve():
        return
    env = {**os.environ, "CROSSDOCK_OVERHEAD_CHILD": "1"}
    sys.exit(subprocess.call([str(python), __file__, *sys.argv[1:]], env=env))


def start_subgraphs(workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    ports_file = workdir / "ports.json"
    proc = subprocess.Popen(
        ["node", str(PEERS / "subgraph-server.mjs"), str(ports_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not ports_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Node subgraphs did not start (run bench/gateway/run.py once "
                             "to install the peers)")
        time.sleep(0.1)
    ports = json.loads(ports_file.read_text())
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name, port in ports.items()}
    sdl = subprocess.run(["node", str(PEERS / "compose.mjs"), json.dumps(urls)],
                         capture_output=True, text=True, check=True).stdout
    supergraph = workdir / "supergraph.graphql"
    supergraph.write_text(sdl)
    return proc, supergraph


Answers = dict[tuple[str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]]


async def record(document: str, variables: list[dict[str, Any]]) -> tuple[
        Any, Answers, list[dict[str, Any]]]:
    """The supergraph, every subgraph answer and crossdock's answers, from the Node subgraphs."""
    import httpx  # only importable inside the crossdock environment

    from crossdock.gateway.engine import Gateway
    from crossdock.gateway.supergraph import load_supergraph

    answers: Answers = {}

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            content = await response.aread()
            answers[(str(request.url), request.content)] = (
                response.status_code, response.headers.raw, content)
            return httpx.Response(response.status_code, headers=response.headers.raw,
                                  content=content)

    with tempfile.TemporaryDirectory() as tmp:
        proc, supergraph_file = start_subgraphs(Path(tmp))
        try:
            supergraph = load_supergraph(supergraph_file)
            async with httpx.AsyncClient(transport=Recording()) as client:
                recorder = Gateway(supergraph, client)
                expected = []
                for v in variables:
                    result = await recorder.execute(document, None, v)
                    if result.body.get("errors"):
                        raise SystemExit(f"crossdock answered with errors: {result.body['errors']}")
                    expected.append(result.body)
        finally:
            proc.terminate()
            proc.wait()
    return supergraph, answers, expected


def replay_client(answers: Answers) -> Any:
    """A subgraph client answering from ``answers``: crossdock's port when the checkout has
    one (no httpx in the way), else an httpx client on a replaying transport."""
    import httpx

    try:
        from crossdock.gateway import transport  # noqa: F401
    except ImportError:

        class Replay(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                found = answers.get((str(request.url), request.content))
                if found is None:
                    body = request.content[:200]
                    raise RuntimeError(f"no recorded answer for {request.url} {body!r}")
                status, headers, content = found
                return httpx.Response(status, headers=headers, content=content)

        return httpx.AsyncClient(transport=Replay())

    class ReplayClient:
        """crossdock's SubgraphClient port answered from the recordings."""

        def __init__(self) -> None:
            self.recorded = {key: (status, content)
                             for key, (status, _, content) in answers.items()}

        async def post(self, url: str, body: bytes, *, headers: object = (),  # noqa: ARG002
                       time_limit: object = None,  # noqa: ARG002 - the port
                       answer_headers: object = None) -> tuple[int, bytes]:  # noqa: ARG002
            found = self.recorded.get((url, body))
            if found is None:
                raise RuntimeError(f"no recorded answer for {url} {body[:200]!r}")
            return found

    return ReplayClient()


def check_answers(path: Path, bodies: list[dict[str, Any]]) -> None:
    """Saves the answers to ``path``, or, when it exists, checks them against it byte for
    byte (key order included): how one checkout's answers are compared with another's."""
    encoded = [json.dumps(body, ensure_ascii=False) for body in bodies]
    if not path.exists():
        path.write_text("\n".join(encoded) + "\n")
        print(f"answers saved to {path}")
        return
    saved = path.read_text().splitlines()
    differing = [i for i, (a, b) in enumerate(zip(saved, encoded, strict=True)) if a != b]
    if differing:
        raise SystemExit(f"answers differ from {path} for variable sets {differing}")
    print(f"answers identical to {path} ({len(encoded)} variable sets)")


async def main_async(args: argparse.Namespace) -> int:
    from crossdock.gateway.engine import Gateway

    (query,) = load_queries([args.query])
    document, variables = query.document, query.variables
    supergraph, answers, expected = await record(document, variables)
    if args.answers:
        check_answers(args.answers, expected)
    gateway = Gateway(supergraph, replay_client(answers))
    for v, body in zip(variables, expected, strict=True):  # warm the caches, check replay
        result = await gateway.execute(document, None, v)
        if result.body != body:
            raise SystemExit("the replayed answer differs from the recorded one")
    times, cpu_ms, profiler = await time_requests(gateway, document, variables, args)
    return report(times, cpu_ms, profiler, fetches=len(answers) / len(variables), args=args)


async def time_requests(
    gateway: Any, document: str, variables: list[dict[str, Any]], args: argparse.Namespace
) -> tuple[list[float], float, cProfile.Profile]:
    """Wall and CPU milliseconds per request over ``args.requests``; then a profile."""
    times, cpu = [], []
    for i in range(args.requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        await gateway.execute(document, None, variables[i % len(variables)])
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.profile_requests):
        await gateway.execute(document, None, variables[i % len(variables)])
    profiler.disable()
    return sorted(times), sum(cpu) / len(cpu), profiler


def report(times: list[float], cpu_ms: float, profiler: cProfile.Profile, *, fetches: float,
           args: argparse.Namespace) -> int:
    """Prints the figures and the profile; exit status 0 when the target is met."""
    median = statistics.median(times)
    print(f"query {args.query}: {args.requests} requests, {fetches:.1f} subgraph calls each, "
          "answered in-process, plan cached")
    print(f"per request: median {median:.3f} ms, mean {statistics.fmean(times):.3f} ms, "
          f"p95 {times[int(len(times) * 0.95)]:.3f} ms, p99 {times[int(len(times) * 0.99)]:.3f} ms")
    # CPU time is what the gateway spends; wall time also counts waiting for a busy machine.
    print(f"CPU time per request (mean): {cpu_ms:.3f} ms; 1-minute load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    met = cpu_ms < TARGET_MS
    print(f"target < {TARGET_MS} ms of CPU per request: {'met' if met else 'NOT met'}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(args.top)
    print(f"\ntop {args.top} functions by own time over {args.profile_requests} requests:")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crossdock-dir", type=Path, default=REPO)
    parser.add_argument("--query", choices=("deep", "simple"), default="deep")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile-requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--answers", type=Path,
                        help="save the answers to this file, or compare with it if it exists")
    args = parser.parse_args()
    reexec_in(args.crossdock_dir.resolve())
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
