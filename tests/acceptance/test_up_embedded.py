"""``crossdock up`` on the embedded PostgreSQL: however it ends, no server is left behind."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.acceptance.conftest import Run
from tests.acceptance.test_up import _start
from tests.conftest import embedded_data_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = embedded_data_dir()
    yield folder
    _stop_leftovers(folder / "postgres")
    shutil.rmtree(folder, ignore_errors=True)


def _servers(pgdata: Path) -> list[psutil.Process]:
    return [process for process in psutil.process_iter(["name", "cmdline"])
            if process.info["name"] == "postgres"
            and str(pgdata) in (process.info["cmdline"] or [])]


def _no_server_left(pgdata: Path) -> bool:
    deadline = time.monotonic() + 10
    while _servers(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _servers(pgdata)


def _stop_leftovers(pgdata: Path) -> None:
    for process in _servers(pgdata):
        process.kill()


def test_after_up_is_killed_the_next_command_stops_the_server_it_left(
    tmp_path: Path, data_dir: Path, crossdock: Run
) -> None:
    env = {"CROSSDOCK_DATA_DIR": str(data_dir)}
    process, ready_url = _start(tmp_path, env)
    assert httpx.get(ready_url, timeout=10).status_code == 200
    process.kill()
    process.communicate(timeout=30)
    pgdata = data_dir / "postgres"
    assert _servers(pgdata), "SIGKILL leaves the PostgreSQL that up started running"

    listed = crossdock("webhooks", "source", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert _no_server_left(pgdata)


def test_up_stops_on_sighup_like_on_sigterm_and_leaves_no_server(
    tmp_path: Path, data_dir: Path
) -> None:
    process, ready_url = _start(tmp_path, {"CROSSDOCK_DATA_DIR": str(data_dir)})
    assert httpx.get(ready_url, timeout=10).status_code == 200
    process.send_signal(signal.SIGHUP)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "stopped." in out
    assert _no_server_left(data_dir / "postgres")


def test_a_command_run_while_up_runs_shares_its_server_and_leaves_it_running(
    tmp_path: Path, data_dir: Path, crossdock: Run
) -> None:
    env = {"CROSSDOCK_DATA_DIR": str(data_dir)}
    process, ready_url = _start(tmp_path, env)
    try:
        added = crossdock("webhooks", "source", "add", "from-a-second-terminal",
                          "--provider", "github", "--secret", "a-secret-of-16-bytes-or-more",
                          env=env)
        assert added.returncode == 0, added.stderr
        # up still has its database: the one-shot command did not stop the shared server.
        response = httpx.get(ready_url, timeout=10)
        assert response.json()["checks"]["database"] is True
        listed = crossdock("webhooks", "source", "list", "--json", env=env)
        assert "from-a-second-terminal" in listed.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert _no_server_left(data_dir / "postgres")
