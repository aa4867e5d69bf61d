"""``crossdock admin token ...`` and ``crossdock webhooks serve --admin-port`` end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.acceptance.conftest import Run


def test_tokens_are_created_once_listed_without_values_and_revoked(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    created = crossdock("admin", "token", "create", "--role", "read", "--name", "dash", env=env)
    assert created.returncode == 0, created.stderr
    value = created.stdout.strip()
    assert value.startswith("cdx_")
    assert "shown only now" in created.stderr

    listed = crossdock("admin", "token", "list", "--json", env=env)
    tokens = json.loads(listed.stdout)
    assert [(t["name"], t["role"], t["last_used_at"]) for t in tokens] == [
        ("dash", "read", None)]
    assert value not in listed.stdout
    table = crossdock("admin", "token", "list", env=env)
    assert "dash" in table.stdout
    assert "never" in table.stdout

    revoked = crossdock("admin", "token", "revoke", str(tokens[0]["id"]), env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(crossdock("admin", "token", "list", "--json", env=env).stdout) == []
    again = crossdock("admin", "token", "revoke", str(tokens[0]["id"]), env=env)
    assert again.returncode == 1
    assert again.stderr.strip().endswith(f"no admin token with id {tokens[0]['id']}")

    bad = crossdock("admin", "token", "create", "--role", "root", env=env)
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    assert "unknown role 'root'" in bad.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_an_admin_port_keeps_the_api_off_the_receiver_port(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    token = crossdock("admin", "token", "create", "--role", "admin", env=env).stdout.strip()
    port, admin_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crossdock", "webhooks", "serve", "--port", str(port),
         "--admin-port", str(admin_port)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")},
             **env})
    public, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(admin + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "webhooks serve exited"
            assert time.monotonic() < deadline, "webhooks serve did not come up"
            time.sleep(0.1)
        auth = {"authorization": f"Bearer {token}"}
        assert httpx.get(public + "/api/sources", headers=auth).status_code == 404
        assert httpx.get(admin + "/api/sources").status_code == 401
        assert httpx.get(admin + "/api/sources", headers=auth).json() == {"sources": []}
        assert httpx.post(public + "/webhooks/nope", content=b"{}").status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
