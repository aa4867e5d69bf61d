"""The ``forward`` handler: inbound deliveries become outbound messages of an application."""

from __future__ import annotations

import json

import pytest

from crossdock.webhooks import operations
from crossdock.webhooks.errors import InvalidRoute
from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.service import Outbound
from tests.integration.webhooks.conftest import FAST_RETRY, SECRET, Stack

pytestmark = pytest.mark.anyio

PUSH = {"ref": "refs/heads/main", "repository": {"full_name": "octo/repo"}}


async def test_a_forward_route_publishes_each_matching_delivery_to_the_applications_endpoints(
    stack: Stack,
) -> None:
    database = stack.runtime.database
    outbound = Outbound(database)
    await outbound.add_application("acme")
    await outbound.add_event_type("gh.push", schema={"type": "object", "required": ["ref"]})
    endpoint = await outbound.add_endpoint("acme", EndpointSettings(url="https://x.example/h"))
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(database, source="gh", handler="forward", event_type="push",
                               config={"app": "acme", "ordering_key": "repository.full_name"})
    await stack.send("gh", "github", json.dumps(PUSH).encode(), SECRET, event="push")
    await stack.send("gh", "github", b"{}", SECRET, event="issues")  # no route matches

    async def processed() -> bool:
        return (await stack.statuses()).get("processed") == 2

    await stack.drain(until=processed)
    [message] = await outbound.list_messages(app="acme")
    assert (message.event_type, message.payload, message.ordering_key) == (
        "gh.push", PUSH, "octo/repo")
    [destination] = await outbound.destinations(message.id)
    assert destination["endpoint_id"] == endpoint.id


async def test_a_forwarded_payload_that_breaks_its_schema_fails_the_attempt_with_the_reason(
    stack: Stack,
) -> None:
    database = stack.runtime.database
    outbound = Outbound(database)
    await outbound.add_application("acme")
    await outbound.add_event_type("repo.pushed", schema={"type": "object", "required": ["x"]})
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(database, source="gh", handler="forward",
                               config={"app": "acme", "event_type": "repo.pushed"})
    await operations.add_route(database, source="gh", handler="forward",
                               config={"app": "acme", "event_type": "not.in.catalogue"})
    response = await stack.send("gh", "github", json.dumps(PUSH).encode(), SECRET)

    async def dead() -> bool:
        return (await stack.statuses()).get("dead") == 1

    await stack.drain(until=dead)
    shown = await operations.show_delivery(database, response.json()["id"])
    errors = {attempt["error"] for attempt in shown["attempts"]}
    assert any("'x' is a required property" in (e or "") for e in errors), errors
    assert any("no event type named 'not.in.catalogue'" in (e or "") for e in errors), errors
    assert await outbound.list_messages(app="acme") == []


async def test_a_forward_route_needs_an_application_in_its_config(stack: Stack) -> None:
    database = stack.runtime.database
    await stack.add_source("gh", "github", [SECRET])
    with pytest.raises(InvalidRoute, match="names its application"):
        await operations.add_route(database, source="gh", handler="forward")
    with pytest.raises(InvalidRoute, match="unknown forward config keys: url"):
        await operations.add_route(database, source="gh", handler="forward",
                                   config={"app": "acme", "url": "https://x.example"})
    with pytest.raises(InvalidRoute, match="event type name"):
        await operations.add_route(database, source="gh", handler="forward",
                                   config={"app": "acme", "event_type": "has space"})
