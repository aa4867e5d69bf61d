"""The admin graph deployed by configuration: ``crossdock admin graph serve`` behind
``crossdock gateway serve``, with the supergraph ``admin graph supergraph`` prints and a
configuration file whose header rules propagate the token."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from crossdock.core.admin_graph.supergraph import AdminSupergraph
from tests.acceptance.conftest import Run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serving(args: list[str], env: dict[str, str], cwd: Path,
             health: str) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", "crossdock", *args], cwd=cwd, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")},
             **env})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"{args[0]} exited"
            assert time.monotonic() < deadline, f"{args[0]} did not come up"
            time.sleep(0.1)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err


def test_the_admin_graph_served_alone_is_federated_by_a_configured_gateway(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    token = crossdock("admin", "token", "create", "--role", "read", env=env).stdout.strip()
    graph_port, gateway_port = _free_port(), _free_port()
    base = f"http://127.0.0.1:{graph_port}"
    printed = crossdock("admin", "graph", "supergraph", "--base-url", base, env=env)
    assert printed.returncode == 0, printed.stderr
    (tmp_path / "supergraph.graphql").write_text(printed.stdout, encoding="utf-8")
    shutil.copy(AdminSupergraph.gateway_config(), tmp_path / "gateway.yaml")
    gateway = f"http://127.0.0.1:{gateway_port}"
    with _serving(["admin", "graph", "serve", "--port", str(graph_port)], env, tmp_path,
                  f"{base}/healthz"), \
            _serving(["gateway", "serve", "--supergraph", "supergraph.graphql", "--config",
                      "gateway.yaml", "--port", str(gateway_port)], env, tmp_path,
                     f"{gateway}/healthz"):
        query = {"query": "{ services { name } slices { name } }"}
        answer = httpx.post(f"{gateway}/graphql", json=query,
                            headers={"authorization": f"Bearer {token}"}, timeout=20).json()
        assert answer.get("errors") is None, answer
        assert "webhooks" in {s["name"] for s in answer["data"]["services"]}
        assert answer["data"]["slices"] == []
        refused = httpx.post(f"{gateway}/graphql", json=query, timeout=20).json()
        assert "UNAUTHENTICATED" in {e["extensions"]["code"] for e in refused["errors"]}


def test_a_supergraph_for_a_base_url_that_is_not_http_is_one_line_and_exit_2(
    crossdock: Run,
) -> None:
    result = crossdock("admin", "graph", "supergraph", "--base-url", "admin-graph:4010")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --base-url must be an http:// or https:// URL, "
                                     "not 'admin-graph:4010'")


def test_the_gateway_serves_its_own_admin_subgraph_and_federates_it_from_itself(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    """``gateway serve --admin-graph``: /gateway/graphql on the gateway's port checks tokens
    and describes this gateway; the supergraph lists it there, so the gateway fetches from
    itself, and the fetch shows in its latency of the last minutes."""
    env = {"DATABASE_URL": database_url}
    token = crossdock("admin", "token", "create", "--role", "read", env=env).stdout.strip()
    gateway = f"http://127.0.0.1:{_free_port()}"
    # The other admin subgraphs are not served here: only the gateway's is asked for.
    printed = crossdock("admin", "graph", "supergraph", "--base-url",
                        f"http://127.0.0.1:{_free_port()}", "--gateway-url",
                        f"{gateway}/gateway/graphql", env=env)
    assert printed.returncode == 0, printed.stderr
    (tmp_path / "supergraph.graphql").write_text(printed.stdout, encoding="utf-8")
    shutil.copy(AdminSupergraph.gateway_config(), tmp_path / "gateway.yaml")
    bearer = {"authorization": f"Bearer {token}"}
    query = {"query": "{ gateway { subgraphs { name url } } }"}
    with _serving(["gateway", "serve", "--supergraph", "supergraph.graphql", "--config",
                   "gateway.yaml", "--port", gateway.rsplit(":", 1)[1], "--admin-graph"], env,
                  tmp_path, f"{gateway}/healthz"):
        refused = httpx.post(f"{gateway}/gateway/graphql", json=query, timeout=20)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        direct = httpx.post(f"{gateway}/gateway/graphql", json=query, headers=bearer,
                            timeout=20).json()
        assert direct.get("errors") is None, direct
        names = {sub["name"]: sub["url"] for sub in direct["data"]["gateway"]["subgraphs"]}
        assert set(names) == {"core", "gateway", "gitslice", "webhooks"}
        assert names["gateway"] == f"{gateway}/gateway/graphql"
        federated = httpx.post(f"{gateway}/graphql", json=query, headers=bearer,
                               timeout=20).json()
        assert federated == direct
        windowed = httpx.post(f"{gateway}/graphql", headers=bearer, timeout=20, json={
            "query": "{ gateway { subgraphs { name latency(lastMinutes: 5) { count } } } }"}
        ).json()
        counts = {sub["name"]: sub["latency"]["count"]
                  for sub in windowed["data"]["gateway"]["subgraphs"]}
        # The federated query's fetch, and this one's own (counted once it ended: not yet).
        assert counts == {"core": 0, "gateway": 1, "gitslice": 0, "webhooks": 0}
        through = httpx.post(f"{gateway}/graphql", json=query, timeout=20).json()
        assert "UNAUTHENTICATED" in {e["extensions"]["code"] for e in through["errors"]}


def test_the_gateway_admin_subgraph_without_a_database_url_is_one_line_and_exit_2(
    crossdock: Run, tmp_path: Path
) -> None:
    printed = crossdock("admin", "graph", "supergraph", "--base-url", "http://127.0.0.1:9")
    (tmp_path / "supergraph.graphql").write_text(printed.stdout, encoding="utf-8")
    result = crossdock("gateway", "serve", "--supergraph", str(tmp_path / "supergraph.graphql"),
                       "--admin-graph")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --admin-graph checks admin tokens in the database: set DATABASE_URL (the "
        "database crossdock admin token create writes to)")
