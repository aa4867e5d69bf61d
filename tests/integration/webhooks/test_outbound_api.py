"""The admin API's outbound operations answer what the OpenAPI document says, errors too."""

from __future__ import annotations

import datetime as dt

import pytest

from crossdock.core.tokens import Role
from tests.integration.webhooks.conftest import Stack
from tests.integration.webhooks.test_api import check, checked, documented_operations

pytestmark = pytest.mark.anyio

SCHEMA = {"type": "object", "required": ["id"]}


async def _endpoints(stack: Stack) -> int:
    client = stack.api
    check(await client.post("/api/apps", json={"name": "-bad"}))  # 400
    check(await client.post("/api/apps", json={"name": "acme", "description": "ACME"}))
    check(await client.post("/api/apps", json={"name": "acme"}))  # 409
    assert [a["name"] for a in check(await client.get("/api/apps"))["apps"]] == ["acme"]
    added = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://hooks.acme.example/a", "event_types": ["invoice.paid"],
        "rate_limit": 10, "headers": {"X-Team": "billing"}}))
    assert added["secret"].startswith("whsec_")
    check(await client.post("/api/apps/acme/endpoints", json={"url": "ftp://x"}))  # 400
    check(await client.post("/api/apps/ghost/endpoints", json={"url": "https://x.example"}))
    listed = check(await client.get("/api/apps/acme/endpoints"))["endpoints"]
    assert [e["id"] for e in listed] == [added["id"]]
    assert "secret" not in listed[0]
    check(await client.get("/api/apps/ghost/endpoints"))  # 404
    changed = check(await client.patch(f"/api/endpoints/{added['id']}", json={
        "rate_limit": 5, "channels": ["eu"]}))
    assert (changed["rate_limit"], changed["channels"]) == (5, ["eu"])
    check(await client.patch(f"/api/endpoints/{added['id']}", json={"secret": "x"}))  # 400
    check(await client.patch("/api/endpoints/999999", json={"rate_limit": 1}))  # 404
    rotated = check(await client.post(f"/api/endpoints/{added['id']}/rotate-secret",
                                      json={"overlap_hours": 1}))
    assert rotated["secret"] != added["secret"]
    check(await client.post(f"/api/endpoints/{added['id']}/rotate-secret",
                            json={"overlap_hours": "x"}))  # 400
    check(await client.post("/api/endpoints/999999/rotate-secret", json={}))  # 404
    signed = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://hooks.acme.example/b", "signing": "ed25519"}))
    assert (signed["signing"], signed["secret"]) == ("ed25519", None)
    assert signed["public_key"].startswith("whpk_")
    assert check(await client.post(f"/api/endpoints/{added['id']}/rotate-secret", json={
        "signing": "ed25519"}))["public_key"].startswith("whpk_")
    bad = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://x.example", "signing": "rsa"}))  # 400
    assert "signing must be one of hmac, ed25519" in bad["error"]
    check(await client.delete(f"/api/endpoints/{signed['id']}"))
    return int(added["id"])


async def _messages(stack: Stack, endpoint_id: int) -> None:
    client = stack.api
    check(await client.post("/api/event-types", json={"name": "invoice.paid",
                                                      "schema": SCHEMA}))
    check(await client.post("/api/event-types", json={"name": "invoice.paid"}))  # 409
    check(await client.post("/api/event-types", json={"name": "x", "schema": {"type": 1}}))
    assert [t["name"] for t in check(await client.get("/api/event-types"))["event_types"]] == [
        "invoice.paid"]
    message = {"event_type": "invoice.paid", "payload": {"id": 7}, "key": "inv-7",
               "channels": ["eu"]}
    sent = check(await client.post("/api/apps/acme/messages", json=message))
    assert (sent["created"], sent["destinations"]) == (True, 1)
    again = check(await client.post("/api/apps/acme/messages", json=message))  # 200
    assert (again["created"], again["id"]) == (False, sent["id"])
    refused = check(await client.post("/api/apps/acme/messages", json={
        "event_type": "invoice.paid", "payload": {}}))  # 400
    assert "'id' is a required property" in refused["error"]
    check(await client.post("/api/apps/acme/messages", json={
        "event_type": "nope", "payload": {}}))  # 404
    shown = check(await client.get(f"/api/messages/{sent['id']}"))
    assert [d["status"] for d in shown["destinations"]] == ["pending"]
    check(await client.get("/api/messages/999999"))  # 404
    in_use = check(await client.delete("/api/event-types/invoice.paid"))  # 409
    assert "still used by 1 endpoint(s) and 1 undelivered message(s)" in in_use["error"]
    check(await client.post("/api/event-types", json={"name": "spare"}))
    assert check(await client.delete("/api/event-types/spare")) == {"removed": "spare"}
    check(await client.delete("/api/event-types/spare"))  # 404

    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    disabled = check(await client.patch(f"/api/endpoints/{endpoint_id}", json={
        "enabled": False, "disabled_reason": "maintenance"}))
    assert (disabled["enabled"], disabled["disabled_reason"]) == (False, "maintenance")
    check(await client.patch(f"/api/endpoints/{endpoint_id}", json={"enabled": True}))
    recovered = check(await client.post(f"/api/endpoints/{endpoint_id}/recover",
                                        json={"since": since}))
    assert recovered["recovered"] == 1
    check(await client.post(f"/api/endpoints/{endpoint_id}/recover", json={"since": "x"}))
    check(await client.post("/api/endpoints/999999/recover", json={"since": since}))  # 404
    message_id = sent["id"]
    resent = check(await client.post(f"/api/messages/{message_id}/resend",
                                     json={"endpoint_id": endpoint_id}))
    assert resent == {"resent": 1}
    assert check(await client.post(f"/api/messages/{message_id}/resend", json={})) == {
        "resent": 0}  # it failed nowhere
    bad = check(await client.post(f"/api/messages/{message_id}/resend",
                                  json={"endpoint_id": "x"}))  # 400
    assert bad["error"] == "endpoint_id must be an integer"
    check(await client.post(f"/api/messages/{message_id}/resend",
                            json={"endpoint_id": 999999}))  # 404
    check(await client.post("/api/messages/999999/resend", json={}))  # 404


async def test_every_outbound_operation_answers_per_the_document(stack: Stack) -> None:
    endpoint_id = await _endpoints(stack)
    await _messages(stack, endpoint_id)
    _, read_token = await stack.token(Role.READ)
    reader = {"authorization": f"Bearer {read_token}"}
    check(await stack.client.get("/api/apps"))  # 401
    for request in (stack.client.post("/api/apps", json={"name": "x"}, headers=reader),
                    stack.client.delete("/api/endpoints/1", headers=reader)):
        check(await request)  # 403
    check(await stack.api.delete(f"/api/endpoints/{endpoint_id}"))
    check(await stack.api.delete(f"/api/endpoints/{endpoint_id}"))  # 404
    check(await stack.api.delete("/api/apps/acme"))
    check(await stack.api.delete("/api/apps/acme"))  # 404
    assert {(m, p) for m, p, _ in checked} >= documented_operations(outbound=True)


@pytest.mark.parametrize(("path", "body"), [
    ("/api/apps/acme/endpoints", {"url": "https://hooks.acme.example/a", "signing": None}),
    ("/api/endpoints/{id}/rotate-secret", {"signing": None}),
    ("/api/apps/acme/messages", {"event_type": "invoice.paid", "payload": {}, "channels": {}}),
    ("/api/apps/acme/messages", {"event_type": "invoice.paid", "payload": {}, "channels": None}),
    ("/api/apps/acme/messages", {"event_type": "invoice.paid", "payload": {},
                                 "channels": "eu"}),
])
async def test_a_null_or_an_object_where_the_document_wants_a_string_or_a_list_is_400(
        stack: Stack, path: str, body: dict) -> None:
    """``signing: null`` was taken as absent and ``channels: {}`` as no channel (201 both):
    the document types them string and array, and a client sending them meant something."""
    client = stack.api
    check(await client.post("/api/apps", json={"name": "acme"}))
    check(await client.post("/api/event-types", json={"name": "invoice.paid"}))
    endpoint = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://hooks.acme.example/b"}))
    response = await client.post(path.format(id=endpoint["id"]), json=body)
    assert response.status_code == 400, response.text
    assert "\n" not in check(response)["error"]
    assert len(check(await client.get("/api/apps/acme/endpoints"))["endpoints"]) == 1


@pytest.mark.parametrize(("path", "body"), [
    ("/api/apps", {"name": "beta", "description": None}),
    ("/api/event-types", {"name": "invoice.sent", "description": None}),
    ("/api/messages/1/resend", {"endpoint_id": None}),
    ("/api/endpoints/{id}/recover", {"since": None}),
    ("/api/apps/acme/endpoints", {"url": "https://hooks.acme.example/a", "headers": None}),
])
async def test_a_null_the_document_does_not_allow_is_400_where_it_allows_one_it_is_taken(
        stack: Stack, path: str, body: dict) -> None:
    """A null the document does not allow was taken as absent (an application's description,
    a resend's endpoint): the client meant something; where it allows one, null is taken."""
    client = stack.api
    check(await client.post("/api/apps", json={"name": "acme"}))
    check(await client.post("/api/event-types", json={"name": "invoice.paid", "schema": None}))
    endpoint = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://hooks.acme.example/b", "event_types": None, "channels": None,
        "rate_limit": None, "max_concurrency": None}))
    check(await client.post("/api/apps/acme/messages", json={
        "event_type": "invoice.paid", "payload": None, "key": None, "ordering_key": None}))
    response = await client.post(path.format(id=endpoint["id"]), json=body)
    assert response.status_code == 400, response.text
    assert check(response)["error"].startswith("null is not a value of ")
    assert [a["name"] for a in check(await client.get("/api/apps"))["apps"]] == ["acme"]


@pytest.mark.parametrize("hours", [-1.6481471272577463e308, 1e300, -1, 721])
async def test_an_overlap_out_of_range_is_400_even_past_what_a_timedelta_holds(
        stack: Stack, hours: float) -> None:
    """``overlap_hours: -1.6e308`` was 500 with a traceback (timedelta overflowed)."""
    client = stack.api
    check(await client.post("/api/apps", json={"name": "acme"}))
    endpoint = check(await client.post("/api/apps/acme/endpoints", json={
        "url": "https://hooks.acme.example/b"}))
    response = await client.post(f"/api/endpoints/{endpoint['id']}/rotate-secret",
                                 json={"overlap_hours": hours})
    assert response.status_code == 400, response.text
    assert check(response)["error"] == "overlap_hours must be a number from 0 to 720"
