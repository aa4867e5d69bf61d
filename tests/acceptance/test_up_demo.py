"""What ``crossdock up`` prints to try each demo works when pasted into a shell, as printed."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Run
from tests.acceptance.test_up import _start
from tests.conftest import embedded_data_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    folder = embedded_data_dir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bash(line: str, cwd: Path) -> str:
    result = subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _see_the_gateway_pages_data(address: str, token: str) -> None:
    """Up lends its gateway to the gateway admin subgraph, which plans the demo query across
    the demo subgraphs."""
    answer = httpx.post(f"{address}graphql", json={"query": """{
        gateway { subgraphs { name } }
        queryPlan(query: "{ topProducts { name reviews { body } } }") { json } }"""},
        headers={"authorization": f"Bearer {token}"}, timeout=30).json()
    assert answer.get("errors") is None, answer
    assert {"gateway", "products", "reviews"} <= {
        s["name"] for s in answer["data"]["gateway"]["subgraphs"]}
    plan = answer["data"]["queryPlan"]["json"]["node"]
    assert plan["kind"] == "Sequence"
    assert [node["kind"] for node in plan["nodes"]] == ["Fetch", "Flatten"]


def test_each_demo_line_that_up_prints_works_in_a_shell(
    tmp_path: Path, data_dir: Path, crossdock: Run
) -> None:
    env = {"CROSSDOCK_DATA_DIR": str(data_dir), "CROSSDOCK_DEMO": "true",
           "CROSSDOCK_GATEWAY_DEMO_PRODUCTS_PORT": str(_free_port()),
           "CROSSDOCK_GATEWAY_DEMO_REVIEWS_PORT": str(_free_port())}
    process, _ = _start(tmp_path, env)
    try:
        assert process.stdout is not None
        printed = []
        while not (line := process.stdout.readline()).startswith("crossdock is up"):
            assert line, "up stopped before it said it was up"
            printed.append(line.rstrip("\n"))
        text = "\n".join(printed)
        assert "source 'demo' (github)" in text
        assert "secret crossdock-demo-secret" in text
        assert "slice 'demo'" in text
        if Path(sys.prefix).name == ".venv":  # a checkout's environment, as scripts/up makes
            assert f"source {sys.prefix}/bin/activate" in text

        signed = next(line for line in printed if "X-Hub-Signature-256" in line)
        assert _bash(signed.strip(), tmp_path).strip() == "202"
        # A second terminal sees what up received: both use the same embedded server.
        shown = crossdock("webhooks", "deliveries", "--source", "demo", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        # The one just sent, then the ping the demo source starts with.
        assert [(d["event_type"], d["provider_delivery_id"].startswith("demo-"))
                for d in json.loads(shown.stdout)] == [("ping", True), ("ping", False)]
        # The admin API wants a token; up printed one made for this run.
        listed = next(line for line in printed if "Authorization: Bearer" in line)
        deliveries = json.loads(_bash(listed.strip(), tmp_path))["deliveries"]
        assert [d["event_type"] for d in deliveries] == ["ping", "ping"]
        anonymous = _bash(listed.strip().replace("Authorization: Bearer", "X-Nothing:"),
                          tmp_path)
        assert "needs an admin token" in anonymous

        clone = next(line for line in printed if "git clone" in line)
        files = _bash(clone.strip(), tmp_path).split()
        assert "README.md" in files
        assert "src" in files
        assert "internal" not in files

        query = next(line for line in printed if "curl" in line and "/graphql" in line)
        answer = json.loads(_bash(query.strip(), tmp_path))
        assert answer["data"]["topProducts"][1]["reviews"][1]["body"] == "Comfy."

        # The admin graph, through the same gateway, with the token up made for it.
        admin = next(line for line in printed if "/graphql" in line and "Bearer" in line)
        answer = json.loads(_bash(admin.strip(), tmp_path))
        assert answer.get("errors") is None, answer
        assert [s["name"] for s in answer["data"]["slices"]] == ["demo"]
        assert [d["eventType"] for d in answer["data"]["deliveries"]["nodes"]] == ["ping", "ping"]
        assert "gitslice" in {s["name"] for s in answer["data"]["services"]}

        # The dashboard, at the address up printed, logs in with the token printed beside it.
        login = next(line for line in printed if line.startswith("dashboard: open "))
        address, token = login.split()[2], login.split()[-1]
        page = httpx.get(address, timeout=30)
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        answer = httpx.post(f"{address}graphql", json={"query": "{ services { name } }"},
                            headers={"authorization": f"Bearer {token}"}, timeout=30).json()
        assert "webhooks" in {s["name"] for s in answer["data"]["services"]}
        _see_the_gateway_pages_data(address, token)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
