"""``crossdock gateway serve --workers N``: several processes on one port, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

SHOP = Path(__file__).parents[1] / "integration" / "gateway" / "supergraphs" / "shop.graphql"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(tmp_path: Path, port: int, *args: str, **env: str) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "crossdock", "gateway", "serve", "--supergraph", str(SHOP),
         "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=tmp_path, env={**clean, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    return [int(p) for p in text.split()]


def wait_for(done: Callable[[], bool], failure: str, process: subprocess.Popen[bytes] | None = None,
             *, seconds: float = 60, step: float = 0.1) -> None:
    """Poll ``done`` until it is true; fail with ``failure`` after ``seconds`` (or when the
    gateway ``process``, if given, exits first)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert process is None or process.poll() is None, "the gateway exited"
        assert time.monotonic() < deadline, failure
        time.sleep(step)


def wait_until_serving(process: subprocess.Popen[bytes], port: int, workers: int) -> None:
    def serving() -> bool:
        try:
            return len(children(process.pid)) == workers and httpx.get(
                f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(serving, "the gateway did not come up", process)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def stop_cleanly(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and the parent must exit 0."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_workers_serve_one_port_and_all_stop_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port, "--workers", "2")
    try:
        wait_until_serving(process, port, workers=2)
        workers = children(process.pid)
        for _ in range(10):  # a new connection each time: the kernel spreads them
            response = httpx.post(f"http://127.0.0.1:{port}/graphql",
                                  json={"query": "{ __typename }"}, timeout=10)
            assert response.json() == {"data": {"__typename": "Query"}}
    finally:
        stop_cleanly(process)
    assert not any(alive(pid) for pid in workers)


def test_workers_come_from_the_environment_too(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port, CROSSDOCK_GATEWAY_WORKERS="3")
    try:
        wait_until_serving(process, port, workers=3)
    finally:
        stop_cleanly(process)


def test_a_worker_that_dies_stops_the_others_and_the_exit_code_says_so(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port, "--workers", "2")
    try:
        wait_until_serving(process, port, workers=2)
        first, second = children(process.pid)
        os.kill(first, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
    finally:
        if process.poll() is None:
            process.kill()
    assert not alive(second)


def test_workers_refuse_a_port_in_use_with_the_option_to_change(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
        result = subprocess.run(
            [sys.executable, "-m", "crossdock", "gateway", "serve", "--supergraph", str(SHOP),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert f"port {port}" in result.stderr
    assert "--port" in result.stderr


def test_a_stop_while_workers_still_start_is_a_clean_stop(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port, "--workers", "2")
    try:
        # Forked, not yet serving.
        wait_for(lambda: len(children(process.pid)) >= 2, "the workers did not start", process,
                 step=0.005)
        workers = children(process.pid)
    finally:
        stop_cleanly(process)
    assert not any(alive(pid) for pid in workers)


def test_workers_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    port = free_port()
    process = start(tmp_path, port, "--workers", "2")
    try:
        wait_until_serving(process, port, workers=2)
        workers = children(process.pid)
        process.kill()  # SIGKILL: the parent cannot pass a stop on
        process.wait(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in workers),
                 "orphaned workers kept serving", seconds=30, step=0.05)
    finally:
        if process.poll() is None:
            process.kill()
