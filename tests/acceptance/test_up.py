"""``crossdock up`` in a subprocess: it starts, answers, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import CROSSDOCK
from tests.conftest import embedded_data_dir

READY = re.compile(r"platform\s+(http://\S+/readyz)")


def _start(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("CROSSDOCK_", "DATABASE_URL"))}
    full_env["XDG_DATA_HOME"] = str(tmp_path / "user-data")  # never the user's own folder
    # Every service on a free port, so tests can run side by side.
    full_env.update({"CROSSDOCK_PORT": "0", "CROSSDOCK_GATEWAY_PORT": "0",
                     "CROSSDOCK_WEBHOOKS_PORT": "0", "CROSSDOCK_ADMIN_GRAPH_PORT": "0",
                     "CROSSDOCK_DASHBOARD_PORT": "0",
                     "CROSSDOCK_DEMO": "false",
                     "COLUMNS": "200", **env})
    process = subprocess.Popen(
        [*CROSSDOCK, "up"], cwd=tmp_path, env=full_env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if match := READY.search(line):
            return process, match[1]
    process.kill()
    _, err = process.communicate()
    pytest.fail(f"crossdock up did not print its address; stderr:\n{err}")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    return out


def test_up_serves_readiness_and_stops_on_ctrl_c(tmp_path: Path, database_url: str) -> None:
    process, ready_url = _start(tmp_path, {"DATABASE_URL": database_url})
    try:
        response = httpx.get(ready_url, timeout=10)
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": True, "migrations": True}
        assert httpx.get(ready_url.replace("/readyz", "/metrics")).status_code == 200
    finally:
        out = _stop(process)
    assert "stopped." in out


def test_up_without_database_url_runs_embedded_postgres_and_reuses_its_data(
    tmp_path: Path,
) -> None:
    data_dir = embedded_data_dir()
    env = {"CROSSDOCK_DATA_DIR": str(data_dir)}
    process, ready_url = _start(tmp_path, env)
    try:
        assert httpx.get(ready_url, timeout=10).json()["status"] == "ok"
        assert (data_dir / "postgres" / "PG_VERSION").is_file()
    finally:
        _stop(process)
    # The server stopped with crossdock: no postmaster is left behind.
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    process, ready_url = _start(tmp_path, env)
    try:
        assert httpx.get(ready_url, timeout=10).json()["checks"]["migrations"] is True
    finally:
        _stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)
