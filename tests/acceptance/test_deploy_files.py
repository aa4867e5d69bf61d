"""The compose file and the Helm chart in ``deploy/`` start as shipped.

The chart is rendered by Helm's own template engine (in a subprocess: it is a Go library);
the compose file is read as compose reads it. Every command either runs is checked by the real
CLI, every file it mounts exists in the repository, and the supergraph it mounts loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crossdock.gateway.supergraph import load_supergraph
from tests.acceptance.conftest import Run

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "crossdock"

_RENDER = """
import json, sys
import helm_python
chart = helm_python.Chart.load(sys.argv[1])
print(json.dumps(chart.render(json.loads(sys.argv[2]), name="cd", namespace="crossdock",
                              is_install=True)))
"""


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The chart's manifests for ``values``, as Helm renders them for `helm install cd`."""
    result = subprocess.run([sys.executable, "-c", _RENDER, str(CHART), json.dumps(values or {})],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    manifests: list[dict[str, Any]] = []
    for text in json.loads(result.stdout).values():
        manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def accepted_by_the_cli(crossdock: Run, args: list[str]) -> None:
    """The CLI parses ``args`` (options and all) without running the command."""
    result = crossdock(*args, "--help")
    assert result.returncode == 0, f"crossdock {' '.join(args)}: {result.stderr}"


def supergraph_option(args: list[str]) -> str:
    return args[args.index("--supergraph") + 1]


_LINT = """
import json, sys
import helm_python
print(json.dumps(helm_python.lint(sys.argv[1], strict=True)))
"""


def test_the_chart_passes_helm_lint() -> None:
    result = subprocess.run([sys.executable, "-c", _LINT, str(CHART)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_chart_creates_the_supergraph_configmap_the_gateway_mounts(tmp_path: Path) -> None:
    manifests = render()
    gateway = of_kind(manifests, "Deployment")["cd-gateway"]
    pod = gateway["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    configmaps = of_kind(manifests, "ConfigMap")
    assert volume["configMap"]["name"] in configmaps
    (mount,) = container(gateway)["volumeMounts"]
    path = Path(supergraph_option(container(gateway)["args"]))
    assert path.parent == Path(mount["mountPath"])
    sdl = configmaps[volume["configMap"]["name"]]["data"][path.name]
    (tmp_path / "supergraph.graphql").write_text(sdl, encoding="utf-8")
    assert load_supergraph(tmp_path / "supergraph.graphql").subgraphs


def test_the_chart_uses_an_existing_configmap_when_named() -> None:
    manifests = render({"supergraph": {"existingConfigMap": "ours"}})
    assert of_kind(manifests, "ConfigMap") == {}
    gateway = of_kind(manifests, "Deployment")["cd-gateway"]
    (volume,) = gateway["spec"]["template"]["spec"]["volumes"]
    assert volume["configMap"]["name"] == "ours"


def test_the_chart_takes_webhook_secrets_from_kubernetes_secrets() -> None:
    manifests = render({"services": {"webhooks": {"secretEnv": [
        {"name": "GH_SECRET", "secretName": "crossdock-webhooks", "key": "github"}]}}})
    env = container(of_kind(manifests, "Deployment")["cd-webhooks"])["env"]
    (entry,) = [e for e in env if e["name"] == "GH_SECRET"]
    assert entry == {"name": "GH_SECRET", "valueFrom": {"secretKeyRef": {
        "name": "crossdock-webhooks", "key": "github"}}}
    assert all("value" not in e for e in env if e["name"] != "CROSSDOCK_LOG_FORMAT")


def test_every_deployment_serves_probes_on_the_port_its_command_listens_on() -> None:
    for name, deployment in of_kind(render(), "Deployment").items():
        pod = container(deployment)
        (port,) = pod["ports"]
        assert pod["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert pod["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        args = pod["args"]
        assert args[args.index("--port") + 1] == str(port["containerPort"]), name
        assert args[args.index("--host") + 1] == "0.0.0.0", name


def test_a_deployment_has_replicas_only_when_no_autoscaler_drives_it() -> None:
    manifests = render()
    autoscaled = {h["spec"]["scaleTargetRef"]["name"]
                  for h in of_kind(manifests, "HorizontalPodAutoscaler").values()}
    deployments = of_kind(manifests, "Deployment")
    assert autoscaled == {"cd-gateway", "cd-webhooks"}
    for name, deployment in deployments.items():
        assert ("replicas" in deployment["spec"]) == (name not in autoscaled), name


def test_every_command_of_the_chart_is_accepted_by_the_cli(crossdock: Run) -> None:
    manifests = render()
    pods = [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in {"Deployment", "Job"}]
    assert len(pods) == 4
    for pod in pods:
        (only,) = pod["containers"]
        accepted_by_the_cli(crossdock, only["args"])


@pytest.fixture
def compose() -> dict[str, Any]:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    parsed: dict[str, Any] = yaml.safe_load(text)
    return parsed


def test_every_path_compose_mounts_or_builds_from_is_in_the_repository(
        compose: dict[str, Any]) -> None:
    mounts = 0
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                mounts += 1
                assert (DEPLOY / source).exists(), f"{name} mounts {source}"
        if "build" in service:
            context = DEPLOY / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
    assert mounts


def test_the_compose_gateway_serves_a_supergraph_that_loads(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    path = Path(supergraph_option(gateway["command"]))
    (volume,) = gateway["volumes"]
    source, target, _ = volume.split(":")
    on_disk = DEPLOY / source / path.relative_to(target)
    assert load_supergraph(on_disk).subgraphs
    # One supergraph file for both: compose mounts the one the chart ships.
    assert on_disk.resolve() == (CHART / "files" / "supergraph.graphql").resolve()


def test_every_command_of_compose_is_accepted_by_the_cli(
        compose: dict[str, Any], crossdock: Run) -> None:
    commands = [s["command"] for s in compose["services"].values() if "build" in s]
    assert len(commands) == 4
    for command in commands:
        accepted_by_the_cli(crossdock, command)
