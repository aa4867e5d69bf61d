"""The admin API answers what its OpenAPI document says, for every operation and error."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource

from crossdock.webhooks import handlers
from crossdock.webhooks.api import openapi_document
from crossdock.webhooks.handlers import Work
from tests.integration.webhooks.conftest import Stack

pytestmark = pytest.mark.anyio

DOCUMENT = openapi_document()
_REGISTRY = Registry().with_resource("urn:openapi", Resource.opaque(DOCUMENT))
checked: set[tuple[str, str, str]] = set()


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    for template, item in DOCUMENT["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(response: httpx.Response) -> Any:
    """Validate a response against the document's schema for its operation and status."""
    request = response.request
    template, operation = _operation(request.method, request.url.path)
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{request.method} {template} answered {status}, which the document does not list")
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    wrapped = {"$ref": "urn:openapi#" + _pointer_of(schema)} if "$ref" not in schema else {
        "$ref": "urn:openapi" + schema["$ref"]}
    body = response.json()
    jsonschema.Draft202012Validator(
        wrapped, registry=_REGISTRY,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(body)
    checked.add((request.method, template, status))
    return body


def _pointer_of(schema: dict[str, Any]) -> str:
    """The JSON pointer of an inline schema inside the document."""

    def walk(node: Any, pointer: str) -> str | None:
        if node is schema:
            return pointer
        if isinstance(node, dict):
            for key, value in node.items():
                escaped = str(key).replace("~", "~0").replace("/", "~1")
                found = walk(value, f"{pointer}/{escaped}")
                if found is not None:
                    return found
        elif isinstance(node, list):
            for index, value in enumerate(node):
                found = walk(value, f"{pointer}/{index}")
                if found is not None:
                    return found
        return None

    found = walk(DOCUMENT, "")
    assert found is not None
    return found


def test_the_openapi_document_is_valid_json_schema_throughout() -> None:
    for name, schema in DOCUMENT["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    assert DOCUMENT["openapi"].startswith("3.1")


async def _rotate_a_secret_and_remove_a_route(stack: Stack, route_id: int) -> None:
    """Add the new secret, both verify, remove the old one; then a route goes."""
    client = stack.api
    rotated = check(await client.patch("/api/sources/gh", json={
        "add_secrets": ["new-secret-012345"], "retry": {"max_tries": 4}}))
    assert rotated["secrets"] == ["literal:***", "env:GH_SECRET", "literal:***"]
    assert rotated["retry"]["max_tries"] == 4
    assert (await stack.send("gh", "github", b"{}", "new-secret-012345")).status_code == 202
    assert (await stack.send("gh", "github", b"{}", "literal-secret-0123")).status_code == 202
    check(await client.patch("/api/sources/gh", json={"remove_secrets": ["literal-secret-0123"]}))
    assert (await stack.send("gh", "github", b"{}", "literal-secret-0123")).status_code == 401
    check(await client.patch("/api/sources/gh",  # 400
                             json={"remove_secrets": ["never-added-012345"]}))
    check(await client.patch("/api/sources/gh", json={"secrets": ["x"]}))  # 400
    check(await client.patch("/api/sources/nope", json={}))  # 404
    check(await client.delete(f"/api/routes/{route_id}"))
    check(await client.delete(f"/api/routes/{route_id}"))  # 404


async def _remove_the_source(stack: Stack) -> None:
    client = stack.api
    check(await client.delete("/api/sources/nope"))  # 404
    removed = check(await client.delete("/api/sources/gh"))
    assert removed["removed"] == "gh"
    assert removed["deliveries"] > 0
    assert check(await client.get("/api/sources")) == {"sources": []}
    assert check(await client.get("/api/deliveries")) == {"deliveries": []}


async def test_every_admin_operation_answers_per_the_document(stack: Stack) -> None:
    client = stack.api
    created = check(await client.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["literal-secret-0123", "env:GH_SECRET"],
        "retry": {"max_tries": 3, "base_seconds": 0.05, "max_seconds": 0.2}}))
    assert created["secrets"] == ["literal:***", "env:GH_SECRET"]
    assert "literal-secret-0123" not in str(created)
    check(await client.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["another-secret-0123"]}))  # 409
    check(await client.post("/api/sources", json={
        "name": "bad", "provider": "nope", "secrets": ["x"]}))  # 400
    check(await client.post("/api/sources", json={"name": "bad"}))  # 400
    listed = check(await client.get("/api/sources"))
    assert [s["name"] for s in listed["sources"]] == ["gh"]

    async def failing(work: Work, conn) -> None:
        raise RuntimeError("boom")

    handlers.register_handler("failing", failing)
    route = check(await client.post("/api/sources/gh/routes", json={
        "handler": "failing", "event_type": "push",
        "filters": ["repository.full_name == octo/repo"]}))
    assert route["filters"] == ["repository.full_name == octo/repo"]
    check(await client.post("/api/sources/gh/routes", json={"handler": "log",
                                                             "filters": ["no operator"]}))
    check(await client.post("/api/sources/nope/routes", json={"handler": "log"}))  # 404
    check(await client.get("/api/sources/gh/routes"))
    check(await client.get("/api/sources/nope/routes"))  # 404

    body = b'{"repository": {"full_name": "octo/repo"}}'
    sent = await stack.send("gh", "github", body, "literal-secret-0123")
    await stack.send("gh", "github", body, "forged")

    async def dead() -> bool:
        return (await stack.statuses()).get("dead") == 1

    await stack.drain(until=dead)
    deliveries = check(await client.get("/api/deliveries"))["deliveries"]
    assert [d["status"] for d in deliveries] == ["dead", "rejected"]
    assert check(await client.get("/api/deliveries", params={"status": "rejected"}))[
        "deliveries"][0]["reason"] == "bad_signature"
    check(await client.get("/api/deliveries", params={"status": "bogus"}))  # 400
    shown = check(await client.get(f"/api/deliveries/{sent.json()['id']}"))
    assert len(shown["attempts"]) == 3
    check(await client.get("/api/deliveries/999999"))  # 404

    replayed = check(await client.post("/api/replay", json={"ids": [sent.json()["id"]]}))
    assert replayed == {"replayed": [sent.json()["id"]]}
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    window = check(await client.post("/api/replay", json={
        "source": "gh", "since": since, "status": "received"}))
    assert window == {"replayed": [sent.json()["id"]]}
    check(await client.post("/api/replay", json={"ids": ["x"]}))  # 400
    check(await client.post("/api/replay", json={"ids": [999999]}))  # 404
    check(await client.post("/api/replay", json={"source": "nope", "since": since}))  # 404

    await _rotate_a_secret_and_remove_a_route(stack, route["id"])

    receiver = [(await stack.send("gh", "github", body, "new-secret-012345", delivery_id="fixed")),
                (await stack.send("gh", "github", body, "new-secret-012345", delivery_id="fixed")),
                (await stack.send("gh", "github", b"[]", "new-secret-012345")),
                (await stack.send("gh", "github", body, "forged")),
                (await client.post("/webhooks/nope", content=body))]
    for response in receiver:
        check(response)
    assert {(m, p, s) for m, p, s in checked if p == "/webhooks/{source}"} == {
        ("POST", "/webhooks/{source}", s) for s in ("202", "200", "400", "401", "404")}
    await _remove_the_source(stack)
    assert {(m, p) for m, p, _ in checked} >= documented_operations(outbound=False)


def documented_operations(*, outbound: bool) -> set[tuple[str, str]]:
    """The document's operations, the ``outbound`` tagged ones or the others."""
    return {(method.upper(), path) for path, item in DOCUMENT["paths"].items()
            for method, operation in item.items()
            if method != "parameters" and ("outbound" in operation.get("tags", ())) == outbound}



async def test_the_api_refuses_secrets_shorter_than_16_bytes_and_bare_standard_keys(
    stack: Stack,
) -> None:
    client = stack.api
    short = check(await client.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": [""]}))
    assert "at least 16 bytes" in short["error"]
    bare = check(await client.post("/api/sources", json={
        "name": "std", "provider": "standard", "secrets": ["a-plain-secret-of-many-bytes"]}))
    assert "whsec_" in bare["error"]
    check(await client.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["long-enough-secret"]}))
    rotated = check(await client.patch("/api/sources/gh", json={"add_secrets": ["short"]}))
    assert "at least 16 bytes" in rotated["error"]
    assert check(await client.get("/api/sources"))["sources"][0]["secrets"] == ["literal:***"]


async def test_a_value_the_database_cannot_take_is_400_not_500(stack: Stack) -> None:
    """A NUL in a filter is the request's fault: 400 with one line, as documented."""
    response = await stack.api.get("/api/deliveries", params={"source": "a\x00b"})
    assert response.status_code == 400
    assert check(response)["error"].startswith("a value the database cannot take")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/sources", {"name": "gh", "provider": "github",
                              "secrets": ["long-enough-secret"], "secret": "typo"}),
    ("PATCH", "/api/sources/gh", {"add_secret": ["another-secret-0123"]}),
    ("POST", "/api/sources/gh/routes", {"handler": "log", "event": "push"}),
    ("POST", "/api/replay", {"ids": [1], "sources": "gh"}),
    ("POST", "/api/apps", {"name": "acme", "descripton": "ACME"}),
    ("POST", "/api/event-types", {"name": "invoice.paid", "\x16": {}}),
    ("POST", "/api/apps/acme/messages", {"event_type": "invoice.paid", "payload": {},
                                         "channel": "eu"}),
    ("POST", "/api/endpoints/1/rotate-secret", {"overlap": 1}),
    ("POST", "/api/endpoints/1/recover", {"since": "2026-01-01", "until": "2026-01-02"}),
    ("POST", "/api/messages/1/resend", {"endpoint": 1}),
])
async def test_a_body_member_the_operation_does_not_take_is_400_and_changes_nothing(
        stack: Stack, method: str, path: str, body: dict[str, Any]) -> None:
    """The document says additionalProperties: false; a misspelt field is refused in one line
    naming it, not ignored (a client would believe it set), before anything is stored."""
    response = await stack.api.request(method, path, json=body)
    assert response.status_code == 400, response.text
    error = check(response)["error"]
    assert error.startswith("unknown fields: ")
    assert "\n" not in error
    assert check(await stack.api.get("/api/sources")) == {"sources": []}
    assert check(await stack.api.get("/api/event-types")) == {"event_types": []}
    assert check(await stack.api.get("/api/apps")) == {"apps": []}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/replay", {"ids": [False]}),
    ("/api/replay", {"source": 5, "since": "2026-01-01T00:00:00Z"}),
    ("/api/sources", {"name": 5, "provider": "github", "secrets": ["long-enough-secret"]}),
    ("/api/sources", {"name": "gh", "provider": "github", "secrets": ["long-enough-secret"],
                      "retry": [1]}),
    ("/api/sources/gh/routes", {"handler": "log", "position": {}}),
    ("/api/sources/gh/routes", {"handler": "log", "position": "3"}),
    ("/api/sources/gh/routes", {"handler": "log", "filters": "a == b"}),
    ("/api/sources/gh/routes", {"handler": "log", "filters": [1]}),
    ("/api/sources/gh/routes", {"handler": "log", "event_type": ["push"]}),
])
async def test_a_value_of_the_wrong_json_type_is_400_never_500_nor_coerced(
        stack: Stack, path: str, body: dict[str, Any]) -> None:
    """``false`` as a delivery id was 500 (the database compared bigint with boolean);
    ``{}`` as a route's position was 500; ``"3"``, ``5`` as a name and a string of filters
    were coerced into something the client did not send."""
    check(await stack.api.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["long-enough-secret"]}))
    response = await stack.api.post(path, json=body)
    assert response.status_code == 400, response.text
    assert "\n" not in check(response)["error"]
    assert [s["name"] for s in check(await stack.api.get("/api/sources"))["sources"]] == ["gh"]
    assert check(await stack.api.get("/api/sources/gh/routes")) == {"routes": []}


async def test_a_method_a_path_does_not_take_is_405_listing_every_method_it_does(
        stack: Stack) -> None:
    """With a route per method, ``Allow`` named only the first route's (``GET`` for a path
    that also takes ``POST``)."""
    paths = {re.sub(r"\{[^}]+\}", "1", template): {m.upper() for m in item} - {"PARAMETERS"}
             for template, item in DOCUMENT["paths"].items() if template.startswith("/api/")}
    for path, methods in paths.items():
        response = await stack.api.request("PUT", path)
        assert response.status_code == 405, path
        allowed = set(response.headers["allow"].split(", ")) - {"HEAD"}
        assert allowed == methods, path


@pytest.mark.parametrize(("limit", "status"), [
    ("10001", 400), ("0", 400), ("-1", 400), ("many", 400), ("1", 200), ("10000", 200)])
async def test_a_delivery_limit_outside_the_documented_range_is_400_not_clamped(
        stack: Stack, limit: str, status: int) -> None:
    """``limit=10001`` answered 200 with at most 10,000: the client believed it had them all."""
    response = await stack.api.get("/api/deliveries", params={"limit": limit})
    assert response.status_code == status
    body = check(response)
    if status == 400:
        assert body["error"] == "limit must be an integer from 1 to 10000"


@pytest.mark.parametrize(("schema", "body"), [
    ("NewSource", {"name": "gh", "provider": "", "secrets": ["long-enough-secret"]}),
    ("NewSource", {"name": "-gh", "provider": "github", "secrets": ["long-enough-secret"]}),
    ("NewRoute", {"handler": ""}),
    ("Replay", {}),
    ("Replay", {"ids": []}),
    ("Replay", {"source": "gh"}),
    ("NewEndpoint", {"url": ""}),
    ("NewMessage", {"event_type": "", "payload": {}}),
])
def test_the_document_refuses_a_body_the_api_refuses(schema: str, body: dict[str, Any]) -> None:
    """Each of these was valid by the document and answered 400: a client generating requests
    from the document could not know (an empty provider, replay without ids or a window)."""
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{schema}"}, registry=_REGISTRY)
    assert not validator.is_valid(body)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", "/api/sources/gh", {"max_body_bytes": None, "retry": {}}),
    ("PATCH", "/api/sources/gh", {"retry": None}),
    ("POST", "/api/sources", {"name": "gl", "provider": "gitlab",
                              "secrets": ["long-enough-secret"], "max_body_bytes": None}),
    ("POST", "/api/replay", {"ids": None, "source": "gh", "since": "2026-01-01T00:00:00Z"}),
    ("POST", "/api/sources/gh/routes", {"handler": "log", "filters": None}),
])
async def test_a_null_the_document_does_not_allow_is_400_not_taken_as_absent(
        stack: Stack, method: str, path: str, body: dict[str, Any]) -> None:
    """``PATCH /api/sources/gh`` with ``max_body_bytes: null`` answered 200 and changed
    nothing: the client meant something (no limit?) the API did not do."""
    check(await stack.api.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["long-enough-secret"]}))
    response = await stack.api.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert check(response)["error"].startswith("null is not a value of ")
    assert [s["name"] for s in check(await stack.api.get("/api/sources"))["sources"]] == ["gh"]


async def test_a_route_may_leave_its_event_type_and_action_null(stack: Stack) -> None:
    check(await stack.api.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["long-enough-secret"]}))
    added = check(await stack.api.post("/api/sources/gh/routes", json={
        "handler": "log", "event_type": None, "action": None}))
    assert (added["event_type"], added["action"]) == (None, None)
