"""GitSlice's loop latency on the in-package forge, with crossdock's receiver and a worker running.

    uv run python bench/gitslice/loop.py [--rounds 50] [--only push|command] [--timeout 30]

Two latencies, each over ``--rounds`` rounds, as p50, p95 and max (target: p95 under 2 s):

- push: from the forge's ``push`` webhook for a new upstream commit to the slice's branch
  updated (the forge's ``push`` webhook for the slice commit that carries its
  ``Upstream-Commit`` trailer);
- command: from the forge's ``issue_comment`` webhook for ``/git-slice push -m MSG -pr`` on a
  slice pull request to the upstream pull request opened (its ``pull_request`` webhook).

Both ends are timed where the forge sends: a listener in this script is each repository's
first hook, so it hears of each event just before crossdock's receiver does. Each round writes
new content (no cache helps) and starts once the forge and the job queue are quiet, as a
person's next push or comment would. Everything runs as a user runs it: the forge (``python -m
crossdock.gitslice.forge.fake serve``), ``crossdock webhooks serve`` and ``crossdock worker``
as subprocesses, the source, route and slice registered with the CLI. It also prints how the
worker hears of new jobs (the channels its connections LISTEN on, and its poll interval),
which is what bounds the latency.

PostgreSQL: DATABASE_URL (a scratch database is created and dropped).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

from crossdock.core.jobs import FETCH_POLL_SECONDS
from crossdock.webhooks.processing import Processor

SECRET = "bench-loop-secret-0123"
TARGET_P95 = 2.0
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_TERMINAL_PROMPT": "0"}


@dataclass(frozen=True, slots=True)
class Heard:
    """One webhook the listener received: when, which event, from which repository."""

    at: float
    event: str
    repo: str
    payload: dict[str, Any]


class Listener:
    """A hook target that notes when each webhook arrives and answers at once."""

    def __init__(self) -> None:
        self.heard: list[Heard] = []
        self.changed = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return

            def do_POST(self) -> None:
                at = time.monotonic()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(204)
                self.end_headers()
                payload = json.loads(body)
                with listener.changed:
                    listener.heard.append(Heard(at, self.headers["X-GitHub-Event"],
                                                payload["repository"]["full_name"], payload))
                    listener.changed.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, found: Callable[[Heard], bool], timeout: float) -> float:
        """When the first webhook ``found`` accepts arrived, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                match = next((heard for heard in self.heard if found(heard)), None)
                if match is not None:
                    return match.at
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no such webhook within the timeout")
                self.changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A new database on DATABASE_URL's server, dropped afterwards."""
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        sys.exit("set DATABASE_URL to a PostgreSQL server the benchmark may create a database on")
    name = f"crossdock_bench_loop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(admin)
    params["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo("", **params)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Services:
    """The forge, the receiver and the worker as subprocesses; their logs in files."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
        self.env.update({"CROSSDOCK_LOG_FORMAT": "json", **env})
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> Path:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            self.children.append(subprocess.Popen([sys.executable, "-m", *args], env=self.env,
                                                  stdout=out, stderr=subprocess.STDOUT,
                                                  cwd=self.root))
        return log

    def crossdock(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "crossdock", *args], env=self.env,
                              capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            sys.exit(f"crossdock {' '.join(args)} failed: {done.stderr.strip()}")

    def stop(self) -> None:
        """The worker first, the forge last: nothing is cut off mid-call."""
        for child in reversed(self.children):
            child.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=20)
            child.kill()  # nothing once it has exited
            child.wait()


def wait_for_log(log: Path, found: Callable[[str], str | None], timeout: float = 120) -> str:
    """What ``found`` makes of the first line of ``log`` it accepts, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            value = found(line)
            if value is not None:
                return value
        time.sleep(0.1)
    sys.exit(f"{log.name}: nothing expected within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def json_field(event: str, key: str) -> Callable[[str], str | None]:
    def found(line: str) -> str | None:
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("event") == event:
                return str(record.get(key))
        return None
    return found


class Bench:
    """One forge with ``client/app`` upstream and ``gitstart/app`` its slice, crossdock serving."""

    def __init__(self, root: Path, database_url: str, timeout: float) -> None:
        self.root = root
        self.database_url = database_url
        self.timeout = timeout
        self.listener = Listener()
        self.services = Services(root, {"DATABASE_URL": database_url,
                                        "XDG_DATA_HOME": str(root / "data"),
                                        "UP_TOKEN": "tok-gitstart",
                                        "SLICE_TOKEN": "tok-gitstart"})

    def start(self) -> None:
        log = self.services.start("forge", "crossdock.gitslice.forge.fake", "serve", "--port",
                                  "0", "--data", str(self.root / "forge"),
                                  "--user", "client:tok-client",
                                  "--user", "gitstart:tok-gitstart", "--user", "dev:tok-dev")
        self.forge = wait_for_log(log, lambda line: line.split()[-1]
                                  if line.startswith("forge:") else None)
        self.admin = wait_for_log(log, lambda line: line.split()[-1]
                                  if line.startswith("admin token:") else None)
        self.api = httpx.Client(timeout=30, trust_env=False)
        self.call("tok-client", "POST", "/user/repos", {"name": "app"})
        self.call("tok-gitstart", "POST", "/user/repos", {"name": "app"})
        self.call("tok-client", "PUT", "/repos/client/app/collaborators/gitstart",
                  {"permission": "write"})
        self.call("tok-gitstart", "PUT", "/repos/gitstart/app/collaborators/dev",
                  {"permission": "write"})
        self.upstream = self.clone("client/app", "tok-client", "client")
        (self.upstream / "app.py").write_text("print('hello')\n")
        git(self.upstream, "add", ".")
        git(self.upstream, "commit", "--quiet", "-m", "First")
        git(self.upstream, "push", "--quiet", "origin", "HEAD:main")
        self.services.crossdock("db", "upgrade")
        self.services.crossdock("webhooks", "source", "add", "forge", "--provider", "github",
                                "--secret", SECRET)
        self.services.crossdock("webhooks", "route", "add", "forge", "--handler", "bus")
        self.services.crossdock(
            "slice", "init", "app", "--upstream", f"{self.forge}/client/app.git",
            "--slice", f"{self.forge}/gitstart/app.git", "--forge", "github",
            "--forge-api-url", f"{self.forge}/api/v3", "--upstream-repo", "client/app",
            "--slice-repo", "gitstart/app", "--pr-label", "client")
        self.services.crossdock("slice", "credentials", "app", "--upstream-token",
                                "env:UP_TOKEN", "--slice-token", "env:SLICE_TOKEN")
        self.services.crossdock("slice", "pull", "app")
        receiver = self.services.start("receiver", "crossdock", "webhooks", "serve",
                                       "--port", "0")
        worker = self.services.start("worker", "crossdock", "worker")
        port = wait_for_log(receiver, json_field("webhooks_serving", "port"))
        wait_for_log(worker, json_field("worker_started", "event"))
        for repo, token in (("client/app", "tok-client"), ("gitstart/app", "tok-gitstart")):
            # The listener first: the forge sends to one hook after the other, in order.
            for url in (self.listener.url, f"http://127.0.0.1:{port}/webhooks/forge"):
                self.call(token, "POST", f"/repos/{repo}/hooks", {
                    "name": "web", "active": True, "events": ["*"],
                    "config": {"url": url, "content_type": "json", "secret": SECRET}})
        self.dev = self.clone("gitstart/app", "tok-dev", "dev")

    def call(self, token: str, method: str, path: str, body: dict[str, Any] | None = None, *,
             base: str = "/api/v3") -> Any:
        response = self.api.request(method, f"{self.forge}{base}{path}", json=body,
                                    headers={"Authorization": f"token {token}"})
        if response.status_code >= httpx.codes.BAD_REQUEST:
            sys.exit(f"the forge answered {response.status_code} to {method} {path}: "
                     f"{response.text}")
        return response.json() if response.content else None

    def clone(self, repo: str, token: str, folder: str) -> Path:
        url = self.forge.replace("http://", f"http://x:{token}@") + f"/{repo}.git"
        git(self.root, "clone", "--quiet", url, folder)
        return self.root / folder

    def settle(self) -> None:
        """Wait until the forge has sent every webhook and crossdock has done what they ask
        (twice in a row, since a job's push makes new webhooks): each round starts as a
        person's next push or comment would, on a quiet queue."""
        deadline = time.monotonic() + self.timeout
        quiet = 0
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while quiet < 2:
                if time.monotonic() > deadline:
                    sys.exit(f"still busy after {self.timeout:.0f} s; see {self.root}/*.log")
                time.sleep(0.05)
                sending = any(delivery["status"] is None and delivery["error"] is None
                              for delivery in self.call(self.admin, "GET", "/_forge/deliveries",
                                                        base=""))
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                    "OR (status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())))"
                    " + (SELECT count(*) FROM webhooks_deliveries WHERE status = 'received')"
                ).fetchone()
                quiet = quiet + 1 if not sending and row is not None and row[0] == 0 else 0

    def push_round(self, number: int) -> float:
        """An upstream commit pushed: seconds from its webhook to the slice's."""
        self.settle()
        (self.upstream / "data.txt").write_text(f"round {number} {uuid.uuid4()}\n")
        git(self.upstream, "add", "data.txt")
        git(self.upstream, "commit", "--quiet", "-m", f"Round {number}")
        git(self.upstream, "push", "--quiet", "origin", "HEAD:main")
        sha = git(self.upstream, "rev-parse", "HEAD")
        sent = self.listener.wait(lambda h: h.event == "push" and h.repo == "client/app"
                                  and h.payload["after"] == sha, self.timeout)
        trailer = f"Upstream-Commit: {sha}"
        sliced = self.listener.wait(
            lambda h: h.event == "push" and h.repo == "gitstart/app"
            and h.payload["ref"] == "refs/heads/main"
            and trailer in ((h.payload.get("head_commit") or {}).get("message") or ""),
            self.timeout)
        return sliced - sent

    def command_round(self, number: int) -> float:
        """A slice pull request and ``/git-slice push -pr`` on it: seconds from the comment's
        webhook to the upstream pull request's."""
        branch = f"round-{number}"
        git(self.dev, "fetch", "--quiet", "origin")
        git(self.dev, "checkout", "--quiet", "-B", branch, "origin/main")
        (self.dev / "work.txt").write_text(f"round {number} {uuid.uuid4()}\n")
        git(self.dev, "add", "work.txt")
        git(self.dev, "commit", "--quiet", "-m", "wip")
        git(self.dev, "push", "--quiet", "origin", branch)
        pull = self.call("tok-dev", "POST", "/repos/gitstart/app/pulls", {
            "title": f"Round {number}", "head": branch, "base": "main", "body": "A round."})
        self.settle()
        comment = self.call("tok-dev", "POST",
                            f"/repos/gitstart/app/issues/{pull['number']}/comments",
                            {"body": f'/git-slice push -m "Round {number}" -pr'})
        said = self.listener.wait(lambda h: h.event == "issue_comment"
                                  and h.payload["comment"]["id"] == comment["id"], self.timeout)
        opened = self.listener.wait(
            lambda h: h.event == "pull_request" and h.repo == "client/app"
            and h.payload["action"] == "opened"
            and h.payload["pull_request"]["head"]["ref"] == branch, self.timeout)
        return opened - said

    def listening(self) -> list[str]:
        """The channels the database's connections LISTEN on (the receiver's and the
        worker's)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute("SELECT DISTINCT query FROM pg_stat_activity WHERE "
                                "datname = current_database() AND query ILIKE 'LISTEN%'"
                                ).fetchall()
        return sorted(str(row[0]).strip().rstrip(";") for row in rows)

    def close(self) -> None:
        self.services.stop()
        self.listener.close()
        with contextlib.suppress(AttributeError):
            self.api.close()


def report(name: str, seconds: list[float]) -> None:
    p50 = statistics.median(seconds)
    p95 = statistics.quantiles(seconds, n=100, method="inclusive")[94]
    verdict = "ok" if p95 < TARGET_P95 else "over"
    print(f"{name:<34} {p50:7.3f} s {p95:7.3f} s {max(seconds):7.3f} s   "
          f"{verdict} (p95 < {TARGET_P95:.0f} s)")


def run(rounds: int, only: str | None, timeout: float, keep: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="crossdock-bench-loop-"))
    results: dict[str, list[float]] = {}
    try:
        with scratch_database() as url:
            bench = Bench(root, url, timeout)
            try:
                bench.start()
                kinds = {"push": bench.push_round, "command": bench.command_round}
                for kind, measure in kinds.items():
                    if only in {None, kind}:
                        results[kind] = [measure(number) for number in range(rounds)]
                bench.settle()
                channels = bench.listening()
            finally:
                bench.close()
    finally:
        if keep:
            print(f"kept: {root} (repositories, forge.log, receiver.log, worker.log)")
        else:
            shutil.rmtree(root, ignore_errors=True)
    poll = inspect.signature(Processor).parameters["poll_seconds"].default
    print(f"GitSlice loop on the in-package forge: {rounds} rounds each, one worker")
    print(f"worker: procrastinate with LISTEN/NOTIFY, polls every {FETCH_POLL_SECONDS:.1f} s "
          f"for scheduled jobs, due retries and released locks; webhooks processing woken by "
          f"NOTIFY, polls every {poll:.1f} s")
    print("connections listening: " + ("; ".join(channels) or "none"))
    print(f"{'':<34} {'p50':>9} {'p95':>9} {'max':>9}")
    names = {"push": "upstream push -> slice updated",
             "command": "/git-slice push -pr -> upstream PR"}
    for kind, seconds in results.items():
        report(names[kind], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="rounds of each measure")
    parser.add_argument("--only", choices=["push", "command"], help="one measure only")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds a round may take before the benchmark stops")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (repositories, the services' logs)")
    args = parser.parse_args()
    if args.rounds < 2:  # percentiles need two samples
        parser.error("--rounds must be at least 2")
    run(args.rounds, args.only, args.timeout, args.keep)


if __name__ == "__main__":
    main()
