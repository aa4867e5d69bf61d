"""Shared parts of the webhooks benchmarks: the example payloads, a fresh database, servers.

Everything runs on this machine over 127.0.0.1: a database created for the run (on
DATABASE_URL, dropped at the end), ``crossdock webhooks serve`` and ``crossdock worker`` as
subprocesses, exactly as a user runs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import psycopg

HERE = Path(__file__).resolve().parent
NPM_DIR = HERE / ".npm"  # git-ignored (bench/**/node_modules/ and this folder's .gitignore)
EXAMPLES_PACKAGE = "@octokit/webhooks-examples@7"
SECRET = "bench-secret-0123456"


def examples() -> list[tuple[str, bytes]]:
    """The 329 ``(event, body)`` pairs of @octokit/webhooks-examples, installed if needed."""
    index = NPM_DIR / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com"
    if not (index / "index.json").exists():
        NPM_DIR.mkdir(exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund",
                        EXAMPLES_PACKAGE], check=True, stdout=subprocess.DEVNULL)
    groups = json.loads((index / "index.json").read_text())
    return [(group["name"], json.dumps(example, separators=(",", ":")).encode())
            for group in groups for example in group["examples"]]


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("set DATABASE_URL to a PostgreSQL server the benchmark may create a database on")
    return url


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated database for one run; dropped afterwards."""
    admin = admin_url()
    name = f"crossdock_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(admin)
    params["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**params)
    try:
        crossdock(url, "db", "upgrade")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def crossdock(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the ``crossdock`` CLI; its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "crossdock", *args], check=True, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": url, **(env or {})},
    )
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


@contextlib.contextmanager
def process(args: list[str], url: str, *, port: int | None = None,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A crossdock subprocess (``serve``, ``worker``...) for the duration of the block."""
    child = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, "DATABASE_URL": url, "CROSSDOCK_LOG_LEVEL": "warning",
             **(env or {})},
        stdout=subprocess.DEVNULL,
    )
    try:
        if port is not None:
            wait_for_port(port)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def serve(url: str, port: int) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return process(["-m", "crossdock", "webhooks", "serve", "--port", str(port)], url,
                   port=port)


def worker(url: str, concurrency: int = 16) -> contextlib.AbstractContextManager[
        subprocess.Popen[bytes]]:
    return process(["-m", "crossdock", "worker", "--concurrency", str(concurrency)], url)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the benchmark's database now."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            ).fetchall()
    return [int(pid) for (pid,) in rows]


class CpuMeter:
    """CPU seconds used by processes over a phase: our children and PostgreSQL's backends.

    Backends are those serving the benchmark's database at the start or the end of the
    phase (one that started within it counts whole); one that ended within it is missed,
    which the servers' pools make rare.
    """

    def __init__(self, url: str, processes: dict[str, int]) -> None:
        self.url = url
        self.processes = processes
        self.start: dict[str, float] = {}
        self.backends: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        used = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        used["this client"] = time.process_time()
        return used

    def __enter__(self) -> Self:
        self.backends = {pid: _cpu_or_zero(pid) for pid in backend_pids(self.url)}
        self.start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        self.used = {name: end[name] - self.start[name] for name in end}
        ended = {pid: _cpu_or_zero(pid) for pid in set(self.backends) | set(
            backend_pids(self.url))}
        self.used["postgres"] = sum(cpu - self.backends.get(pid, 0.0)
                                    for pid, cpu in ended.items() if cpu)


def _cpu_or_zero(pid: int) -> float:
    """0 for a process that is gone."""
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def count_by_status(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM webhooks_deliveries GROUP BY status").fetchall()
    return dict(rows)


def wait_until_settled(url: str, timeout: float = 600) -> float:
    """Wait until no delivery is waiting (received or failed); the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        counts = count_by_status(url)
        if not counts.get("received") and not counts.get("failed"):
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError("deliveries are still waiting")


def parse_port(text: str) -> int | None:
    found = re.search(r"port\D+(\d+)", text)
    return int(found.group(1)) if found else None
