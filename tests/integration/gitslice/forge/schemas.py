"""Validators from GitHub's published descriptions (tests/data/forge, see its README)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jsonschema import Draft202012Validator

DATA = Path(__file__).resolve().parents[3] / "data" / "forge"


@cache
def _document(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def _validator(name: str, *parts: str) -> Draft202012Validator:
    root = {**_document(name), "$ref": _pointer(*parts)}
    return Draft202012Validator(root)


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(instance)]


def operation_of(method: str, path: str) -> str:
    """The OpenAPI path template that serves ``method path`` (query string ignored)."""
    path = path.split("?", 1)[0]
    for template, methods in _document("github-rest.json")["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if method.lower() in methods and re.fullmatch(pattern, path):
            return template
    raise AssertionError(f"{method} {path} is not an operation the forge serves")


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """Where a request body breaks the operation's published schema."""
    template = operation_of(method, path)
    operation = _document("github-rest.json")["paths"][template][method.lower()]
    if "requestBody" not in operation:
        return [] if body is None else [f"{method} {template} takes no body"]
    return _errors(_validator("github-rest.json", "paths", template, method.lower(),
                              "requestBody"), body)


def query_errors(method: str, path: str, query: str) -> list[str]:
    """Where a query string breaks the operation's published query parameters."""
    template = operation_of(method, path)
    known = _document("github-rest.json")["paths"][template][method.lower()]["query"]
    found = []
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in known:
            found.append(f"{method} {template} has no query parameter {name!r}")
            continue
        schema = known[name]
        for value in values:
            typed: Any = value
            if schema.get("type") == "integer":
                typed = int(value) if value.lstrip("-").isdigit() else value
            elif schema.get("type") == "boolean":
                typed = {"true": True, "false": False}.get(value, value)
            found += [f"{name}: {error.message}"
                      for error in Draft202012Validator(schema).iter_errors(typed)]
    return found


def response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Where a response breaks the operation's published schema for its status."""
    template = operation_of(method, path)
    responses = _document("github-rest.json")["paths"][template][method.lower()]["responses"]
    if str(status) not in responses:
        if status >= 400:  # GitHub answers any operation with 401, 403 or 5xx and an error body
            return _errors(_validator("github-rest.json", "components", "schemas",
                                      "basic-error"), body)
        return [f"{method} {template} does not answer {status} (only {sorted(responses)})"]
    if responses[str(status)] is None:
        return []
    return _errors(_validator("github-rest.json", "paths", template, method.lower(),
                              "responses", str(status)), body)


def webhook_errors(event: str, payload: Any) -> list[str]:
    """Where a webhook payload breaks the published schema of its event and action."""
    name = event.replace("_", "-")
    if "action" in payload:
        name = f"{name}/{payload['action']}"
    hooks = _document("github-webhooks.json")["webhooks"]
    if name not in hooks:
        return [f"{name} is not a webhook the descriptions hold"]
    return _errors(_validator("github-webhooks.json", "webhooks", name), payload)


def examples() -> dict[str, list[dict[str, Any]]]:
    """Real payloads, by event."""
    return _document("github-webhook-examples.json")["examples"]
