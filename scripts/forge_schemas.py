"""Re-extract the GitHub descriptions that the forge tests validate against.

Downloads (with ``npm pack``, into a temporary folder) GitHub's OpenAPI description
(``@octokit/openapi``), its webhooks description (``@octokit/openapi-webhooks``) and the
community's example payloads (``@octokit/webhooks-examples``), and writes into
``tests/data/forge/`` only what the tests need: the REST operations that the in-package forge
serves and the adapter calls, the payload schemas of the five webhook events it sends, a few
example payloads, each closed over the component schemas it refers to.

OpenAPI 3.0's ``nullable: true`` is rewritten as JSON Schema's ``"null"`` type, so a plain
Draft 2020-12 validator reads the result.

    uv run --frozen python scripts/forge_schemas.py [--version-openapi 23.0.2 ...]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "forge"

#: (path, method) of every REST operation the in-package forge serves.
OPERATIONS = [
    ("/user", "get"),
    ("/user/repos", "post"),
    ("/repos/{owner}/{repo}", "get"),
    ("/repos/{owner}/{repo}/installation", "get"),
    ("/app/installations/{installation_id}/access_tokens", "post"),
    ("/repos/{owner}/{repo}/hooks", "post"),
    ("/repos/{owner}/{repo}/hooks/{hook_id}/deliveries", "get"),
    ("/repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts", "post"),
    ("/repos/{owner}/{repo}/collaborators/{username}", "put"),
    ("/repos/{owner}/{repo}/collaborators/{username}/permission", "get"),
    ("/repos/{owner}/{repo}/pulls", "get"),
    ("/repos/{owner}/{repo}/pulls", "post"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "patch"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "post"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/comments", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", "post"),
    ("/repos/{owner}/{repo}/issues", "get"),
    ("/repos/{owner}/{repo}/issues", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "patch"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/assignees", "post"),
]

#: The webhook events the in-package forge sends, with the actions it sends them for.
EVENTS = {
    "push": ("",),
    "pull_request": ("opened", "closed", "reopened", "synchronize", "edited"),
    "issue_comment": ("created",),
    "pull_request_review": ("submitted",),
    "issues": ("opened", "closed", "reopened", "edited"),
}

#: Example payloads kept per event: enough to check the validator, small enough to commit.
PER_EVENT = 2

PACKAGES = ("@octokit/openapi", "@octokit/openapi-webhooks", "@octokit/webhooks-examples")


def _pack(package: str, version: str | None, into: Path) -> tuple[Path, str]:
    spec = f"{package}@{version}" if version else package
    # The command is fixed and the package names are ours.
    done = subprocess.run(["npm", "pack", spec, "--json"], cwd=into, check=True,  # noqa: S603, S607
                          capture_output=True, text=True)
    info = json.loads(done.stdout)[0]
    folder = into / package.replace("/", "_")
    with tarfile.open(into / info["filename"]) as archive:
        archive.extractall(folder, filter="data")
    return folder / "package", info["version"]


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _close(doc: dict[str, Any], roots: Any) -> dict[str, dict[str, Any]]:
    """Every component that ``roots`` refers to, directly or not, by section and name.

    Query parameters are kept inline, so only ``schemas`` are followed."""
    components: dict[str, dict[str, Any]] = {}
    todo = list(_refs(roots))
    while todo:
        ref = todo.pop()
        match = re.fullmatch(r"#/components/([^/]+)/(.+)", ref)
        if match is None:
            continue
        section, name = match.groups()
        if name in components.get(section, {}):
            continue
        node = doc["components"][section][name]
        components.setdefault(section, {})[name] = node
        todo.extend(_refs(node))
    return components


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``null`` type, everywhere below ``node``."""
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if node.pop("nullable", False):
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


def _rest(package: Path, version: str) -> dict[str, Any]:
    doc = json.loads((package / "generated" / "api.github.com.json").read_text())
    paths: dict[str, dict[str, Any]] = {}
    for path, method in OPERATIONS:
        operation = doc["paths"][path][method]
        kept: dict[str, Any] = {"operationId": operation["operationId"], "responses": {},
                                "query": {}}
        for given in operation.get("parameters", []):
            parameter = given
            if "$ref" in given:
                parameter = doc["components"]["parameters"][given["$ref"].rsplit("/", 1)[1]]
            if parameter["in"] == "query":
                kept["query"][parameter["name"]] = parameter["schema"]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            kept["requestBody"] = body["schema"]
        for status, described in operation["responses"].items():
            response = described
            if "$ref" in described:
                response = doc["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            kept["responses"][status] = schema
        paths.setdefault(path, {})[method] = kept
    components = _close(doc, paths)
    return _nullable({"package": f"@octokit/openapi@{version}",
                      "paths": paths, "components": {"schemas": components.get("schemas", {})}})


def _webhooks(package: Path, version: str) -> dict[str, Any]:
    doc = json.loads((package / "generated" / "api.github.com.json").read_text())
    webhooks: dict[str, Any] = {}
    for hook in doc["webhooks"].values():
        schema = hook["post"]["requestBody"]["content"]["application/json"]["schema"]
        event, _, action = hook["post"]["operationId"].partition("/")
        if action in EVENTS.get(event.replace("-", "_"), ()):
            webhooks[hook["post"]["operationId"]] = schema
    components = _close(doc, webhooks)
    return {"package": f"@octokit/openapi-webhooks@{version}", "webhooks": webhooks,
            "components": {"schemas": components.get("schemas", {})}}


def _examples(package: Path, version: str) -> dict[str, Any]:
    index = json.loads((package / "api.github.com" / "index.json").read_text())
    kept: dict[str, list[Any]] = {}
    for entry in index:
        if entry["name"] not in EVENTS:
            continue
        for example in entry["examples"]:
            taken = kept.setdefault(entry["name"], [])
            if example.get("action", "") in EVENTS[entry["name"]] and len(taken) < PER_EVENT:
                taken.append(example)
    return {"package": f"@octokit/webhooks-examples@{version}", "examples": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for package in PACKAGES:
        parser.add_argument(f"--version-{package.rsplit('/', 1)[1]}", default=None)
    args = vars(parser.parse_args())
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        found = {package: _pack(package, args[f"version_{package.rsplit('/', 1)[1]}"
                                              .replace("-", "_")], Path(tmp))
                 for package in PACKAGES}
        outputs = {
            "github-rest.json": _rest(*found["@octokit/openapi"]),
            "github-webhooks.json": _webhooks(*found["@octokit/openapi-webhooks"]),
            "github-webhook-examples.json": _examples(*found["@octokit/webhooks-examples"]),
        }
    for name, data in outputs.items():
        (OUT / name).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"{name}: {data['package']}")  # noqa: T201


if __name__ == "__main__":
    main()
