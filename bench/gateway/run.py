"""Federation gateway benchmark: crossdock against @apollo/gateway and @graphql-hive/gateway.

Run from anywhere: `python bench/gateway/run.py [--duration 20] [--processes 1,2] ...`.
It installs the Node peers (bench/gateway/peers, node_modules git-ignored), starts four
subgraphs that answer from precomputed responses, composes the supergraph, checks every
gateway's answers against crossdock's, then loads each gateway in turn with wrk (or
autocannon) from a separate process and prints RPS, latency percentiles, RSS and ratios.
Results are saved as JSON under bench/gateway/.results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
QUERIES = HERE / "queries"
RESULTS = HERE / ".results"
REPO = HERE.parent.parent
HOST = "127.0.0.1"
GATEWAYS = ("apollo", "hive", "hive-nodedupe", "crossdock")
PROFILES = ("default", "production")
#: The gateways the production profile runs (hive-nodedupe has no production config).
PRODUCTION_GATEWAYS = ("apollo", "hive", "crossdock")
SUBGRAPH_COUNT = 48  # rows per type in peers/subgraphs.mjs; the variable sets cycle over them

# What each gateway runs with, printed with the results so the comparison can be judged.
FEATURES = {
    "apollo": ("@apollo/gateway 2.14.4 + @apollo/server 5.5.1 standalone; document and "
               "query-plan caches on (defaults); no in-flight dedup; N>1 = node:cluster workers"),
    "hive": ("@graphql-hive/gateway 2.15.1 CLI, JS planner, defaults: in-flight dedup of "
             "identical subgraph requests ON, JIT off; N>1 = its --fork"),
    "hive-nodedupe": "as hive, with transportEntries '*.http' deduplicateInflightRequests: false",
    "crossdock": "crossdock gateway serve, defaults; N>1 = --workers if the CLI has it",
}
#: The production profile: what every gateway turns on (see peers/*-production.* and
#: crossdock_production_config below), and how each gets there.
PRODUCTION_FEATURES = {
    "all": ("JWT RS256 checked against a remote JWKS (issuer, audience; a token required), "
            "APQ hits (bodies carry only the sha256 hash, registered once), depth limit 15 "
            "and token limit 2000, authorization and x-tenant headers sent to every subgraph, "
            "OpenTelemetry traces batched to a local OTLP/HTTP collector"),
    "apollo": ("jose jwtVerify in the context function, Apollo Server's APQ cache, a depth "
               "validation rule + parseOptions.maxTokens, RemoteGraphQLDataSource headers, "
               "@apollo/gateway's own spans on a BasicTracerProvider + BatchSpanProcessor"),
    "hive": ("jwt (plugin-jwt, remote JWKS), @graphql-yoga/plugin-apq, maxDepth/maxTokens, "
             "propagateHeaders, openTelemetrySetup + openTelemetry.traces; dedup on"),
    "crossdock": ("gateway.yaml: authentication.router.jwt, authorization.require_authentication, "
                  "apq, limits, headers, telemetry.exporters.tracing.otlp"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    name: str
    document: str
    variables: list[dict[str, Any]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.document.encode()).hexdigest()

    def bodies(self, *, apq: bool = False) -> list[str]:
        """One body per variable set; with ``apq`` only the document's hash, no text."""
        if not apq:
            return [json.dumps({"query": self.document, "variables": v})
                    for v in self.variables]
        hashed = {"persistedQuery": {"version": 1, "sha256Hash": self.sha256}}
        return [json.dumps({"extensions": hashed, "variables": v}) for v in self.variables]

    def registration(self) -> str:
        """The APQ body that registers the document under its hash."""
        return json.dumps({"query": self.document, "variables": self.variables[0],
                           "extensions": {"persistedQuery": {"version": 1,
                                                             "sha256Hash": self.sha256}}})


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """What the gateways run with: their defaults, or the production features."""

    name: str
    #: Headers of every request (the token and the tenant in production).
    headers: dict[str, str] = field(default_factory=dict)
    #: The collector's base URL (JWKS and OTLP), production only.
    collector: str | None = None
    #: crossdock's gateway.yaml, production only.
    crossdock_config: Path | None = None

    @property
    def production(self) -> bool:
        return self.name == "production"


DEFAULT = Profile(name="default")


@dataclass(slots=True, kw_only=True)
class Result:
    gateway: str
    query: str
    processes: int
    rps: float
    profile: str = "default"
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    bad: int
    socket_errors: int
    rss_mb: float = 0.0
    rounds_rps: list[float] = field(default_factory=list)
    loadavg: list[float] = field(default_factory=list)  # 1-minute load average after each round


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def post(url: str, body: str, timeout: float = 10.0,
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body.encode(), headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def load_queries(names: list[str]) -> list[Query]:
    variables = {
        "deep": [{"offset": i} for i in range(SUBGRAPH_COUNT)],
        "simple": [{"upc": f"p{i + 1}"} for i in range(SUBGRAPH_COUNT)],
    }
    return [
        Query(name=n, document=(QUERIES / f"{n}.graphql").read_text(), variables=variables[n])
        for n in names
    ]


# --- setup -------------------------------------------------------------------------------


def install_peers() -> None:
    node = shutil.which("node")
    if node is None:
        raise BenchError("node not found: install Node.js 20 or later")
    version = subprocess.check_output([node, "--version"], text=True).strip()
    major = int(version.lstrip("v").split(".")[0])
    if major < 20:
        raise BenchError(f"Node {major} found; the peers need Node 20 or later")
    stamp = PEERS / "node_modules" / ".package-lock.json"
    lock = PEERS / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    log("installing the Node peers (npm ci in bench/gateway/peers)")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEERS, check=True
    )


def load_tool() -> str:
    if shutil.which("wrk"):
        return "wrk"
    log(
        "wrk not found (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk); "
        "falling back to autocannon, whose p95 column is its p97.5"
    )
    return "autocannon"


class Processes:
    """Every process the benchmark starts, each in its own process group, stopped at exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, argv: list[str], *, cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        logfile = (self.workdir / f"{name}.log").open("ab")
        env = {**os.environ, "NODE_ENV": "production", **(env or {})}
        proc = subprocess.Popen(
            argv, cwd=cwd or self.workdir, stdout=logfile, stderr=subprocess.STDOUT,
            env=env, start_new_session=True,
        )
        self.running[name] = proc
        return proc

    def log_tail(self, name: str) -> str:
        lines = (self.workdir / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(lines[-15:])

    def stop(self, name: str) -> None:
        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (cluster/fork workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def start_subgraphs(procs: Processes) -> dict[str, str]:
    ports_file = procs.workdir / "subgraph-ports.json"
    procs.start("subgraphs", ["node", str(PEERS / "subgraph-server.mjs"), str(ports_file)])
    deadline = time.monotonic() + 30
    while not ports_file.exists():
        if time.monotonic() > deadline or procs.running["subgraphs"].poll() is not None:
            raise BenchError(f"subgraphs did not start:\n{procs.log_tail('subgraphs')}")
        time.sleep(0.1)
    ports = json.loads(ports_file.read_text())
    return {name: f"http://{HOST}:{port}/graphql" for name, port in ports.items()}


def subgraph_requests(urls: dict[str, str]) -> int:
    total = 0
    for url in urls.values():
        with urllib.request.urlopen(url.replace("/graphql", "/stats"), timeout=5) as response:
            total += json.loads(response.read())["requests"]
    return total


def compose(urls: dict[str, str], workdir: Path) -> Path:
    sdl = subprocess.run(
        ["node", str(PEERS / "compose.mjs"), json.dumps(urls)],
        capture_output=True, text=True, check=False,
    )
    if sdl.returncode != 0:
        raise BenchError(f"composition failed:\n{sdl.stderr}")
    path = workdir / "supergraph.graphql"
    path.write_text(sdl.stdout)
    return path


# --- gateways ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Crossdock:
    directory: Path
    executable: Path
    workers_flag: str | None


def prepare_crossdock(directory: Path) -> Crossdock:
    executable = directory / ".venv" / "bin" / "crossdock"
    if not executable.exists():
        log(f"syncing the Python environment of {directory}")
        # --inexact: never remove packages from a checkout someone else may be using.
        subprocess.run(
            [sys.executable, "-m", "uv", "sync", "--inexact", "--all-extras"],
            cwd=directory, check=True,
        )
    help_text = subprocess.run(
        [str(executable), "gateway", "serve", "--help"], capture_output=True, text=True,
        check=False, env={**os.environ, "COLUMNS": "200"},
    )
    if help_text.returncode != 0:
        raise BenchError(
            f"`crossdock gateway serve --help` failed in {directory}:\n{help_text.stderr[-2000:]}"
        )
    flag = next((f for f in ("--workers", "--processes") if f in help_text.stdout), None)
    return Crossdock(directory=directory, executable=executable, workers_flag=flag)


def gateway_argv(
    name: str, *, supergraph: Path, port: int, processes: int, crossdock: Crossdock | None,
    profile: Profile = DEFAULT,
) -> list[str]:
    """The command line that serves ``supergraph`` on ``port`` with ``processes`` processes."""
    suffix = "-production" if profile.production else ""
    if name == "apollo":
        return ["node", str(PEERS / f"apollo{suffix}.mjs"), str(supergraph), HOST, str(port),
                str(processes)]
    if name in {"hive", "hive-nodedupe"}:
        hive = PEERS / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"
        return [
            "node", str(hive), "supergraph", str(supergraph), "--host", HOST,
            "--port", str(port), "--fork", str(processes),
            "--config-path", str(PEERS / f"{name}{suffix}.config.mjs"),
        ]
    if crossdock is None:
        raise BenchError(f"unknown gateway {name}")
    workers = [crossdock.workers_flag, str(processes)] if crossdock.workers_flag else []
    config = ["--config", str(profile.crossdock_config)] if profile.crossdock_config else []
    return [
        str(crossdock.executable), "gateway", "serve", "--supergraph", str(supergraph),
        "--host", HOST, "--port", str(port), *workers, *config,
    ]


def start_gateway(
    procs: Processes, label: str, name: str, *, supergraph: Path, processes: int,
    crossdock: Crossdock | None, profile: Profile = DEFAULT,
) -> tuple[str, subprocess.Popen[bytes]]:
    """Starts a gateway and waits until it answers; returns its URL and process."""
    port = free_port()
    url = f"http://{HOST}:{port}/graphql"
    argv = gateway_argv(name, supergraph=supergraph, port=port, processes=processes,
                        crossdock=crossdock, profile=profile)
    env = {"BENCH_COLLECTOR": profile.collector} if profile.collector else None
    proc = procs.start(label, argv, env=env)
    probe = json.dumps({"query": "{ __typename }"})
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{procs.log_tail(label)}")
        try:
            status, _ = post(url, probe, timeout=2, headers=profile.headers)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise BenchError(
                f"{name} did not answer on {url} within 90 s:\n{procs.log_tail(label)}")
        time.sleep(0.2)
    if processes > 1:
        time.sleep(2)  # let every worker finish booting, not just the first to answer
    return url, proc


def register(url: str, queries: list[Query], profile: Profile, processes: int) -> None:
    """Registers every query's hash (APQ) in production; each worker process keeps its own
    cache, so the registration is sent often enough to reach all of them."""
    if not profile.production:
        return
    for query in queries:
        for _ in range(8 * processes):
            status, raw = post(url, query.registration(), headers=profile.headers)
            if status != 200 or b'"errors"' in raw:
                raise BenchError(f"APQ registration of {query.name} failed: {status} {raw[:300]!r}")


# --- correctness -------------------------------------------------------------------------


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values differ (object key order included), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            what = "key order" if sorted(a) == sorted(b) else "keys"
            return f"{path or '/'}: {what} {list(a)} vs {list(b)}"
        pairs = [(a[k], b[k], f"{path}/{k}") for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        pairs = [(x, y, f"{path}/{i}") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    else:
        # 1 and 1.0 are the same Float; True and 1 are not the same value.
        same_kind = type(a) is type(b) or {type(a), type(b)} == {int, float}
        return None if a == b and same_kind else f"{path}: {a!r:.80} vs {b!r:.80}"
    for x, y, where in pairs:
        found = first_difference(x, y, where)
        if found:
            return found
    return None


def collect_answers(url: str, queries: list[Query], subgraphs: dict[str, str],
                    profile: Profile = DEFAULT) -> dict[str, Any]:
    """Every query with every variable set, once; and subgraph requests per gateway request."""
    answers: dict[str, Any] = {}
    for query in queries:
        before = subgraph_requests(subgraphs)
        for i, body in enumerate(query.bodies(apq=profile.production)):
            status, raw = post(url, body, headers=profile.headers)
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"errors": [{"message": f"HTTP {status}, not JSON: {raw[:200]!r}"}]}
            answers[f"{query.name}[{i}]"] = parsed
        fetches = (subgraph_requests(subgraphs) - before) / len(query.variables)
        answers[f"{query.name}:fetches"] = fetches
    return answers


def check_answers(
    answers: dict[str, dict[str, Any]], reference: str, queries: list[Query]
) -> dict[str, list[str]]:
    """Problems per gateway: GraphQL errors, or a difference from the reference gateway."""
    problems: dict[str, list[str]] = {name: [] for name in answers}
    for name, theirs in answers.items():
        for query in queries:
            for i in range(len(query.variables)):
                key = f"{query.name}[{i}]"
                if theirs[key].get("errors"):
                    errors = json.dumps(theirs[key]["errors"])[:300]
                    problems[name].append(f"{key}: errors {errors}")
                elif name != reference:
                    diff = first_difference(answers[reference][key], theirs[key])
                    if diff:
                        problems[name].append(f"{key} differs from {reference} at {diff}")
    return problems


def check_correctness(
    procs: Processes, names: list[str], queries: list[Query],
    subgraphs: dict[str, str], *, supergraph: Path, crossdock: Crossdock | None,
    profile: Profile = DEFAULT,
) -> tuple[dict[str, Any], set[str]]:
    """Every gateway (one process) answers every query and variable set before any timing."""
    answers: dict[str, dict[str, Any]] = {}
    for name in names:
        label = f"{name}-{profile.name}-check"
        url, _ = start_gateway(procs, label, name, supergraph=supergraph,
                               processes=1, crossdock=crossdock, profile=profile)
        register(url, queries, profile, 1)
        answers[name] = collect_answers(url, queries, subgraphs, profile)
        if profile.production:
            refused, _ = post(url, queries[0].bodies()[0])
            if refused == 200:
                answers[name]["refusal"] = "a request without a token was served"
        procs.stop(label)
    reference = "crossdock" if "crossdock" in answers else names[0]
    problems = check_answers(answers, reference, queries)
    for name, theirs in answers.items():
        if "refusal" in theirs:
            problems[name].append(theirs["refusal"])
    mismatched = {name for name, found in problems.items() if found}
    log(f"{profile.name} profile, correctness against {reference}'s answers:")
    for name in names:
        fetches = ", ".join(
            f"{q.name} {answers[name][f'{q.name}:fetches']:.1f}" for q in queries)
        status = "MISMATCH" if problems[name] else "ok"
        print(f"  {name:<14} {status:<8} subgraph requests per query: {fetches}", flush=True)
        for problem in problems[name][:5]:
            print(f"      ! {problem}", flush=True)
    correctness = {
        "reference": reference, "problems": problems,
        "subgraph_requests_per_query": {
            n: {q.name: answers[n][f"{q.name}:fetches"] for q in queries} for n in names
        },
    }
    return correctness, mismatched


# --- load --------------------------------------------------------------------------------


def run_load(
    tool: str, url: str, bodies_file: Path, *, connections: int, duration: int, threads: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    if tool == "wrk":
        extra = [arg for name, value in (headers or {}).items()
                 for arg in ("-H", f"{name}: {value}")]
        argv = [
            "wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s",
            "--timeout", f"{max(30, 2 * duration)}s", "-s", str(HERE / "load.lua"), *extra,
            url, "--", str(bodies_file),
        ]
    elif headers:
        raise BenchError("the production profile needs wrk (apt-get install -y wrk)")
    else:
        argv = [
            "node", str(PEERS / "load-autocannon.mjs"), url, str(bodies_file),
            str(connections), str(duration),
        ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return dict(json.loads(line.removeprefix("WRK_JSON ")))
    raise BenchError(f"{tool} gave no result:\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}")


def to_result(gateway: str, query: str, processes: int, raw: dict[str, Any]) -> Result:
    seconds = raw["duration_us"] / 1e6
    return Result(
        gateway=gateway, query=query, processes=processes,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000, p95_ms=raw["p95_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
        requests=raw["requests"], bad=raw["bad"], socket_errors=raw["socket_errors"],
    )


def measure_all(
    procs: Processes, tool: str, args: argparse.Namespace, queries: list[Query], *,
    bodies: dict[str, Path], supergraph: Path, processes: int, crossdock: Crossdock | None,
    profile: Profile = DEFAULT,
) -> list[Result]:
    """Loads every gateway with every query, in rounds that rotate the gateways' order.

    The machine may be shared: rounds spread any background load over all gateways instead
    of landing on whichever one runs at that moment. All gateways of the process count stay
    up (idle ones cost nothing) so that rounds need no restarts.
    """
    wanted = gateways_of(args, profile)
    names = [n for n in wanted if not (
        n == "crossdock" and processes > 1 and crossdock and not crossdock.workers_flag)]
    if len(names) < len(wanted):
        log("crossdock gateway serve has no --workers flag: crossdock runs 1 process only")
    urls: dict[str, str] = {}
    pids: dict[str, int] = {}
    for name in names:
        urls[name], proc = start_gateway(procs, f"{name}-{profile.name}-x{processes}", name,
                                         supergraph=supergraph, processes=processes,
                                         crossdock=crossdock, profile=profile)
        register(urls[name], queries, profile, processes)
        pids[name] = proc.pid
    raws: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        warmup = args.warmup if round_ == 0 else min(2, args.warmup)
        for query in queries:
            for name in order:
                run_load(tool, urls[name], bodies[query.name], connections=args.connections,
                         duration=warmup, threads=args.threads, headers=profile.headers)
                drain(urls[name], profile)
                raw = run_load(tool, urls[name], bodies[query.name],
                               connections=args.connections, duration=args.duration,
                               threads=args.threads, headers=profile.headers)
                drain(urls[name], profile)
                raws.setdefault((name, query.name), []).append(raw)
                raw["loadavg_1m"] = os.getloadavg()[0]
                log(f"{profile.name} round {round_ + 1}/{args.rounds} {name} x{processes} "
                    f"{query.name}: "
                    f"{raw['requests'] / (raw['duration_us'] / 1e6):.0f} RPS, "
                    f"p95 {raw['p95_us'] / 1000:.1f} ms (load average {raw['loadavg_1m']:.1f})")
    results = []
    for name in names:
        rss = tree_rss_mb(pids[name])
        for query in queries:
            result = combine(name, query.name, processes, raws[(name, query.name)])
            result.rss_mb = rss
            result.profile = profile.name
            results.append(result)
        procs.stop(f"{name}-{profile.name}-x{processes}")
    return results


def measure_ceiling(
    tool: str, args: argparse.Namespace, subgraphs: dict[str, str], workdir: Path
) -> Result:
    """One subgraph alone under the same load: what the gateways are measured against."""
    query = "query($r:[_Any!]!){_entities(representations:$r){...on User{reviews{id body}}}}"
    users = [{"__typename": "User", "id": f"u{i}"} for i in range(1, 5)]
    ceiling_file = workdir / "ceiling.bodies"
    ceiling_file.write_text(json.dumps({"query": query, "variables": {"r": users}}) + "\n")
    run_load(tool, subgraphs["reviews"], ceiling_file, connections=args.connections,
             duration=args.warmup, threads=args.threads)
    raw = run_load(tool, subgraphs["reviews"], ceiling_file, connections=args.connections,
                   duration=args.duration * args.rounds, threads=args.threads)
    ceiling = to_result("subgraph", "entity", 1, raw)
    log(f"one subgraph alone (reviews, _entities): {ceiling.rps:.0f} RPS, "
        f"p50 {ceiling.p50_ms:.2f} ms, p99 {ceiling.p99_ms:.2f} ms")
    return ceiling


def drain(url: str, profile: Profile = DEFAULT) -> None:
    """Waits until the requests wrk left in flight are answered.

    wrk stops with every connection's request still queued in the gateway; a slow gateway
    would otherwise start its measured run (or hand the next gateway its CPU) with that
    backlog. One probe queues behind them.
    """
    post(url, json.dumps({"query": "{ __typename }"}), timeout=120, headers=profile.headers)


def combine(gateway: str, query: str, processes: int, raws: list[dict[str, Any]]) -> Result:
    """RPS over all rounds together; each latency percentile as the median over rounds."""
    def median(key: str) -> float:
        values = sorted(r[key] for r in raws)
        return float(values[len(values) // 2]) / 1000
    requests = sum(r["requests"] for r in raws)
    seconds = sum(r["duration_us"] for r in raws) / 1e6
    return Result(
        gateway=gateway, query=query, processes=processes,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=median("p50_us"), p95_ms=median("p95_us"), p99_ms=median("p99_us"),
        requests=requests, bad=sum(r["bad"] for r in raws),
        socket_errors=sum(r["socket_errors"] for r in raws),
        rounds_rps=[r["requests"] / (r["duration_us"] / 1e6) for r in raws],
        loadavg=[r["loadavg_1m"] for r in raws],
    )


# --- report ------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def erring(result: Result) -> str:
    """A warning when more than 1% of a row's answers were errors: its RPS counts fast
    failures, so its ratio compares nothing."""
    failed = result.bad + result.socket_errors
    if failed * 100 <= result.requests:
        return ""
    return f" (NOT COMPARABLE: {failed} of its {result.requests} answers were errors)"


def print_table(results: list[Result], mismatched: set[tuple[str, str]]) -> list[str]:
    header = (f"{'profile':<10} {'query':<7} {'procs':>5} {'gateway':<14} {'RPS':>9} "
              f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'RSS MB':>8} {'bad':>5}  correct")
    lines = [header]
    lines.extend(
        f"{r.profile:<10} {r.query:<7} {r.processes:>5} {r.gateway:<14} {r.rps:>9.1f} "
        f"{r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.p99_ms:>8.2f} {r.rss_mb:>8.1f} "
        f"{r.bad + r.socket_errors:>5}  "
        f"{'MISMATCH' if (r.profile, r.gateway) in mismatched else 'yes'}"
        for r in results
    )
    groups = sorted({(r.profile, r.query, r.processes) for r in results})
    for profile, query, processes in groups:
        by = {r.gateway: r for r in results
              if (r.profile, r.query, r.processes) == (profile, query, processes)}
        cd = by.get("crossdock")
        if cd is None:
            continue
        parts = [
            f"crossdock/{peer} RPS {ratio(cd.rps, by[peer].rps)}, "
            f"p95 {cd.p95_ms:.2f} vs {by[peer].p95_ms:.2f} ms{erring(by[peer])}"
            for peer in ("apollo", "hive", "hive-nodedupe") if peer in by
        ]
        lines.append(f"{profile}, {query}, {processes} proc: " + "; ".join(parts))
    few = sorted({f"{r.gateway} {r.query} x{r.processes}" for r in results if r.requests < 30})
    if few:
        lines.append(f"fewer than 30 answers in all rounds (percentiles rough): {', '.join(few)}")
    for line in lines:
        print(line)
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds of measured load per gateway, query and round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over all gateways (order rotated each round)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--processes", default="1,2", help="process counts, e.g. 1,2")
    parser.add_argument("--only", default=",".join(GATEWAYS),
                        help=f"subset of {','.join(GATEWAYS)}")
    parser.add_argument("--queries", default="deep,simple", help="subset of deep,simple")
    parser.add_argument(
        "--crossdock-dir", type=Path, default=REPO,
        help="crossdock checkout whose gateway runs (default: this checkout)",
    )
    parser.add_argument("--skip-ceiling", action="store_true", help="skip the subgraph ceiling")
    parser.add_argument("--profiles", default=",".join(PROFILES),
                        help="default (every gateway as shipped), production (JWT, APQ, "
                             "limits, header rules, tracing on: apollo, hive, crossdock)")
    args = parser.parse_args()
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(args.only) - set(GATEWAYS)
    if unknown:
        parser.error(f"unknown gateways {sorted(unknown)}; choose from {','.join(GATEWAYS)}")
    args.processes = [int(p) for p in args.processes.split(",")]
    args.queries = [q.strip() for q in args.queries.split(",")]
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    if set(args.profiles) - set(PROFILES):
        parser.error(f"unknown profiles; choose from {','.join(PROFILES)}")
    return args


def gateways_of(args: argparse.Namespace, profile: Profile) -> list[str]:
    """The gateways ``profile`` runs of those asked for."""
    if not profile.production:
        return list(args.only)
    return [n for n in args.only if n in PRODUCTION_GATEWAYS]


def crossdock_production_config(collector: str, workdir: Path) -> Path:
    """crossdock's gateway.yaml for the production profile, in Apollo Router's keys."""
    path = workdir / "gateway-production.yaml"
    path.write_text(f"""\
authentication:
  router:
    jwt:
      jwks:
        - url: {collector}/jwks.json
          issuer: bench
          audiences: [gateway]
          algorithms: [RS256]
authorization:
  require_authentication: true
apq:
  enabled: true
limits:
  max_depth: 15
  parser_max_tokens: 2000
headers:
  all:
    request:
      - propagate: {{named: authorization}}
      - propagate: {{named: x-tenant}}
telemetry:
  exporters:
    tracing:
      common:
        service_name: crossdock
      otlp:
        enabled: true
        endpoint: {collector}
        protocol: http
""")
    return path


def start_production(procs: Processes, workdir: Path) -> Profile:
    """The production profile's key pair, token, JWKS and OTLP collector."""
    secrets = workdir / "production"
    secrets.mkdir()
    subprocess.run(["node", str(PEERS / "jwt.mjs"), str(secrets)], check=True)
    port_file = secrets / "collector-port"
    procs.start("collector", ["node", str(PEERS / "collector.mjs"),
                              str(secrets / "jwks.json"), str(port_file)])
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or procs.running["collector"].poll() is not None:
            raise BenchError(f"the collector did not start:\n{procs.log_tail('collector')}")
        time.sleep(0.1)
    collector = f"http://{HOST}:{port_file.read_text()}"
    token = (secrets / "token").read_text()
    return Profile(name="production", collector=collector,
                   headers={"authorization": f"Bearer {token}", "x-tenant": "acme"},
                   crossdock_config=crossdock_production_config(collector, workdir))


def collector_stats(profile: Profile) -> dict[str, Any]:
    """What the collector received: OTLP exports and bytes, JWKS fetches."""
    assert profile.collector is not None
    with urllib.request.urlopen(f"{profile.collector}/stats", timeout=5) as response:
        return dict(json.loads(response.read()))


def measure_profiles(
    procs: Processes, tool: str, args: argparse.Namespace, queries: list[Query], *,
    crossdock: Crossdock | None, workdir: Path, report: dict[str, Any],
) -> tuple[list[Result], set[tuple[str, str]]]:
    """Correctness of every profile first, then the ceiling, then the load of each profile;
    the mismatched (profile, gateway) pairs."""
    bodies: dict[str, dict[str, Path]] = {"default": {}, "production": {}}
    for query in queries:
        for name in PROFILES:
            path = bodies[name][query.name] = workdir / f"{query.name}.{name}.bodies"
            path.write_text("\n".join(query.bodies(apq=name == "production")) + "\n")
    subgraphs = start_subgraphs(procs)
    supergraph = compose(subgraphs, workdir)
    log(f"subgraphs up, supergraph composed: {supergraph}")
    profiles = [DEFAULT if name == "default" else start_production(procs, workdir)
                for name in args.profiles]
    results: list[Result] = []
    mismatched: set[tuple[str, str]] = set()
    report["correctness"] = {}
    for profile in profiles:
        found, wrong = check_correctness(
            procs, gateways_of(args, profile), queries, subgraphs, supergraph=supergraph,
            crossdock=crossdock, profile=profile)
        report["correctness"][profile.name] = found
        mismatched |= {(profile.name, name) for name in wrong}
    if not args.skip_ceiling:
        report["subgraph_ceiling"] = asdict(measure_ceiling(tool, args, subgraphs, workdir))
    for profile in profiles:
        for processes in args.processes:
            results += measure_all(procs, tool, args, queries, bodies=bodies[profile.name],
                                   supergraph=supergraph, processes=processes,
                                   crossdock=crossdock, profile=profile)
        if profile.production:
            stats = report["collector"] = collector_stats(profile)
            log(f"collector received {stats['exports']} OTLP exports "
                f"({stats['bytes'] / 1e6:.1f} MB), {stats['jwks']} JWKS fetches")
    return results, mismatched


def summary(args: argparse.Namespace, report: dict[str, Any], results: list[Result],
            crossdock: Crossdock | None) -> list[str]:
    """The lines after the table: the subgraph ceiling and what each gateway ran with."""
    lines = []
    if "subgraph_ceiling" in report and results:
        best = max(results, key=lambda r: r.rps)
        ceiling_rps = report["subgraph_ceiling"]["rps"]
        fetches = report["correctness"][best.profile]["subgraph_requests_per_query"][
            best.gateway][best.query]
        lines += [
            (f"single subgraph ceiling: {ceiling_rps:.0f} RPS = {ratio(ceiling_rps, best.rps)} "
             f"the fastest gateway row above ({best.gateway} {best.query} x{best.processes}: "
             f"{best.rps:.0f} RPS);"),
            (f"  that row asks the four subgraphs for {best.rps * fetches:.0f} requests/s in "
             f"all ({fetches:.1f} per query): one subgraph alone serves "
             f"{ratio(ceiling_rps, best.rps * fetches / 4)} its share"),
        ]
    lines += ["features (what each gateway ran with):"]
    lines += [f"  {name}: {FEATURES[name]}" for name in args.only]
    if "production" in args.profiles:
        lines += ["production profile:"]
        lines += [f"  {name}: {text}" for name, text in PRODUCTION_FEATURES.items()]
    if crossdock and not crossdock.workers_flag and any(p > 1 for p in args.processes):
        lines.append("  crossdock: `gateway serve` has no --workers flag: no multi-process rows")
    return lines


def main() -> int:
    args = parse_args()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = RESULTS / stamp
    workdir.mkdir(parents=True)
    install_peers()
    tool = load_tool()
    crossdock = (prepare_crossdock(args.crossdock_dir.resolve())
                 if "crossdock" in args.only else None)
    queries = load_queries(args.queries)
    procs = Processes(workdir)
    report: dict[str, Any] = {
        "started": stamp, "tool": tool, "connections": args.connections,
        "duration_s": args.duration, "rounds": args.rounds, "warmup_s": args.warmup,
        "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
        "features": {g: FEATURES[g] for g in args.only},
        "production_features": PRODUCTION_FEATURES, "profiles": args.profiles,
        "crossdock_dir": str(crossdock.directory) if crossdock else None,
        "crossdock_workers_flag": crossdock.workers_flag if crossdock else None,
    }
    try:
        results, mismatched = measure_profiles(procs, tool, args, queries, crossdock=crossdock,
                                               workdir=workdir, report=report)
    finally:
        procs.stop_all()

    print()
    lines = print_table(results, mismatched)
    extra = summary(args, report, results, crossdock)
    for line in extra:
        print(line)
    report["results"] = [asdict(r) for r in results]
    report["table"] = lines + extra
    out = RESULTS / f"{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nresults: {out}  (logs and supergraph: {workdir})")
    return 1 if mismatched else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
