"""``crossdock gateway``: serving a supergraph, printing plans, refusing bad files."""

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
import pytest

from tests.acceptance.conftest import Run

SUPERGRAPHS = Path(__file__).parents[1] / "integration" / "gateway" / "supergraphs"
SHOP = SUPERGRAPHS / "shop.graphql"


def wait_until_healthy(process: subprocess.Popen[str] | subprocess.Popen[bytes],
                       base: str) -> None:
    """Wait until the gateway at ``base`` answers /health (a minute at most)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "the gateway exited"
        assert time.monotonic() < deadline, "the gateway did not come up"
        time.sleep(0.1)


def test_plan_prints_fetches_in_order(crossdock: Run, tmp_path: Path) -> None:
    query = tmp_path / "q.graphql"
    query.write_text('query Q { product(upc: "1") { name inStock } }', encoding="utf-8")
    result = crossdock("gateway", "plan", "--supergraph", str(SHOP), str(query))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "QueryPlan {"
    products = next(i for i, line in enumerate(lines) if 'service: "products"' in line)
    inventory = next(i for i, line in enumerate(lines) if 'service: "inventory"' in line)
    assert products < inventory
    assert any("_entities" in line for line in lines)


def test_plan_of_an_invalid_query_says_why(crossdock: Run, tmp_path: Path) -> None:
    query = tmp_path / "q.graphql"
    query.write_text("{ product { nope } }", encoding="utf-8")
    result = crossdock("gateway", "plan", "--supergraph", str(SHOP), str(query))
    assert result.returncode == 1
    assert "nope" in result.stderr


def test_a_file_that_is_not_a_supergraph_is_refused_with_its_line(
        crossdock: Run, tmp_path: Path) -> None:
    bad = tmp_path / "schema.graphql"
    bad.write_text("# a subgraph, not a supergraph\nschema { query: Query }\n"
                   "type Query { a: Int }\n", encoding="utf-8")
    result = crossdock("gateway", "serve", "--supergraph", str(bad), "--port", "0")
    assert result.returncode == 1
    assert "not a supergraph" in result.stderr
    assert "line 2" in result.stderr


def test_a_supergraph_with_unenforced_security_features_is_not_served(crossdock: Run,
                                                                       tmp_path: Path) -> None:
    """Fail closed: fields guarded by a feature the gateway does not know would otherwise be
    answered to anyone."""
    unknown = tmp_path / "tenancy.graphql"
    unknown.write_text((SUPERGRAPHS / "secured.graphql").read_text().replace(
        "specs.apollo.dev/policy/v0.1", "specs.example.com/tenancy/v0.1"))
    result = crossdock("gateway", "serve", "--supergraph", str(unknown), "--port", "0")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "SECURITY features this gateway does not enforce" in result.stderr
    assert "tenancy/v0.1" in result.stderr


def test_serve_answers_health_and_graphql_until_terminated(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "crossdock", "gateway", "serve", "--supergraph", str(SHOP),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, base)
        response = httpx.post(base + "/graphql", json={"query": "{ __typename }"}, timeout=10)
        assert response.json() == {"data": {"__typename": "Query"}}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(("text", "key"), [
    ("traffic_shaping:\n  all:\n    timeout: soon\n", "traffic_shaping.all.timeout"),
    ("cors:\n  allow_any_origin: true\n  allow_credentials: true\n",
     "cors.allow_credentials"),
    ("headers:\n  all:\n    request:\n      - propagate:\n          matching: '('\n",
     "headers.all.request[0].propagate.matching"),
])
def test_an_invalid_config_value_is_one_line_naming_the_key_and_exit_2(
        crossdock: Run, tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(text, encoding="utf-8")
    result = crossdock("gateway", "serve", "--supergraph", str(SHOP), "--port", "0",
                       "--config", str(config))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert key in line
    assert "gateway.yaml" in line


def test_unsupported_config_keys_are_reported_at_start_one_line_each(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "gateway.yaml"
    config.write_text("supergraph:\n  listen: 0.0.0.0:4000\ncors:\n  policies: []\n"
                      "traffic_shaping:\n  all:\n    timeout: 2s\n    deduplicate_query: true\n",
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    env["CROSSDOCK_GATEWAY_CONFIG"] = str(config)
    process = subprocess.Popen(
        [sys.executable, "-m", "crossdock", "gateway", "serve", "--supergraph", str(SHOP),
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    # Not on a terminal, the log is JSON lines.
    warned = [json.loads(line) for line in output.splitlines()
              if "config_key_unsupported" in line]
    assert sorted(entry["key"] for entry in warned) == [
        "cors.policies", "supergraph.listen", "traffic_shaping.all.deduplicate_query"]
    assert all(entry["level"] == "warning" for entry in warned)
