"""Outbound webhooks in the webhooks admin subgraph over a seeded database: applications,
endpoints (never a key), pages of messages with their destinations and attempts, and the
mutations (resend, enable, disable, recover)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import psycopg
import pytest

from crossdock.webhooks.outbound.models import (
    AttemptRecord,
    AttemptStatus,
    Endpoint,
    EndpointSettings,
    Next,
    SigningScheme,
)
from crossdock.webhooks.outbound.service import Outbound
from tests.integration.admin_graph.conftest import Graph, StatementCounter, serving_graph

pytestmark = pytest.mark.anyio

#: A header value that is a credential: only the header's name may be shown.
CREDENTIAL = "Bearer a-credential-of-the-receiver"


@dataclasses.dataclass
class Seeded:
    ok: Endpoint
    bad: Endpoint
    #: Message ids, oldest first.
    messages: list[int]


async def seed(graph: Graph, count: int) -> Seeded:
    """``count`` messages of ``acme`` (invoice.paid and invoice.void in turn), each tried once
    at each endpoint that takes it: ``ok`` answers 200, ``bad`` (invoice.paid only) 503."""
    out = Outbound(graph.runtime.database)
    await out.add_application("acme")
    for name in ("invoice.paid", "invoice.void"):
        await out.add_event_type(name)
    ok = await out.add_endpoint("acme", EndpointSettings(
        url="https://ok.example/hook", headers={"authorization": CREDENTIAL}))
    bad = await out.add_endpoint("acme", EndpointSettings(
        url="https://bad.example/hook", event_types=("invoice.paid",)),
        signing=SigningScheme.ED25519)
    messages = [(await out.send("acme", "invoice.paid" if n % 2 == 0 else "invoice.void",
                                {"n": n})).message.id for n in range(count)]
    claims = await out.store.claim_due(1000)
    await out.store.record_attempts([
        AttemptRecord(destination_id=claim.destination_id, status=AttemptStatus.SUCCEEDED,
                      next=Next.DONE, duration_ms=12.5, response_code=200, response_body="ok")
        if claim.endpoint.id == ok.id else
        AttemptRecord(destination_id=claim.destination_id, status=AttemptStatus.FAILED,
                      next=Next.RETRY, retry_in=3600, duration_ms=40.0, response_code=503,
                      response_body="down for maintenance", error="HTTP 503")
        for claim in claims])
    return Seeded(ok=ok, bad=bad, messages=messages)


MESSAGES = """
query Messages($first: Int!, $after: String, $app: String, $eventType: String,
               $status: OutboundDestinationStatus) {
  messages(first: $first, after: $after, app: $app, eventType: $eventType, status: $status) {
    edges { node { id eventType payload
                   destinations { endpointId status tries nextAttemptAt
                                  attempts { statusCode responseExcerpt durationMs } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _ids(graph: Graph, **variables: Any) -> list[int]:
    """Every message id the filters keep, page after page of 2."""
    seen: list[int] = []
    after = None
    while True:
        page = (await graph.data("webhooks", MESSAGES,
                                 {"first": 2, "after": after, **variables}))["messages"]
        seen += [int(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


async def test_messages_come_newest_first_in_pages_and_filters_narrow_them(
        graph: Graph) -> None:
    seeded = await seed(graph, 5)
    assert await _ids(graph) == list(reversed(seeded.messages))
    assert await _ids(graph, app="acme") == list(reversed(seeded.messages))
    assert await _ids(graph, app="other") == []
    paid = list(reversed(seeded.messages[::2]))
    assert await _ids(graph, eventType="invoice.paid") == paid
    # Failed and retrying at bad: the invoice.paid ones; delivered somewhere: all of them.
    assert await _ids(graph, status="PENDING") == paid
    assert await _ids(graph, status="SUCCEEDED") == list(reversed(seeded.messages))
    assert await _ids(graph, status="EXHAUSTED") == []


async def test_a_message_shows_its_payload_and_its_attempts_at_each_endpoint(
        graph: Graph) -> None:
    seeded = await seed(graph, 1)
    query = """query($id: ID!) { message(id: $id) { id uid app eventType payload
      attempts { endpointId status }
      destinations { endpointId url status tries lastError nextAttemptAt finishedAt
        attempts { status statusCode responseExcerpt durationMs error startedAt } } } }"""
    message = (await graph.data("webhooks", query,
                                {"id": str(seeded.messages[0])}))["message"]
    assert message["payload"] == {"n": 0}
    assert message["uid"].startswith("msg_")
    ok, bad = message["destinations"]
    assert (ok["endpointId"], ok["status"], ok["tries"]) == (str(seeded.ok.id), "SUCCEEDED", 1)
    assert ok["nextAttemptAt"] is None
    assert ok["finishedAt"] is not None
    assert [(a["statusCode"], a["responseExcerpt"], a["durationMs"]) for a in ok["attempts"]] \
        == [(200, "ok", 12.5)]
    assert (bad["status"], bad["lastError"]) == ("PENDING", "HTTP 503")
    assert bad["nextAttemptAt"] is not None
    assert [(a["status"], a["statusCode"], a["error"]) for a in bad["attempts"]] == [
        ("failed", 503, "HTTP 503")]
    assert len(message["attempts"]) == 2
    missing = await graph.data("webhooks", '{ message(id: "999999") { id } a: message(id: "x")'
                               " { id } }")
    assert missing == {"message": None, "a": None}


async def test_endpoints_show_their_state_and_health_and_never_a_key(graph: Graph) -> None:
    seeded = await seed(graph, 4)
    await Outbound(graph.runtime.database).add_endpoint(
        "acme", EndpointSettings(url="https://later.example/hook"))
    await Outbound(graph.runtime.database).disable_endpoint(seeded.ok.id, "moved")
    every_field = """query($after: String) { endpoints(app: "acme", first: 2, after: $after) {
      edges { node { id app url description signing eventTypes channels rateLimit
                     maxConcurrency timeoutSeconds headerNames state disabledReason
                     disabledAt failingSince createdAt
                     health { attempts succeeded successRate lastAttemptAt } } }
      pageInfo { hasNextPage endCursor } } }"""
    first = await graph.post("webhooks", every_field)
    page = first.json()["data"]["endpoints"]
    assert page["pageInfo"]["hasNextPage"]
    second = await graph.post("webhooks", every_field, {"after": page["pageInfo"]["endCursor"]})
    nodes = page["edges"] + second.json()["data"]["endpoints"]["edges"]
    ok, bad, later = (edge["node"] for edge in nodes)
    assert (ok["state"], ok["disabledReason"], ok["headerNames"]) == (
        "DISABLED", "moved", ["authorization"])
    assert ok["health"] == {"attempts": 4, "succeeded": 4, "successRate": 1.0,
                            "lastAttemptAt": ok["health"]["lastAttemptAt"]}
    assert (bad["state"], bad["signing"], bad["eventTypes"]) == (
        "FAILING", "ed25519", ["invoice.paid"])
    assert (bad["health"]["attempts"], bad["health"]["successRate"]) == (2, 0.0)
    assert (later["state"], later["health"]["successRate"]) == ("ENABLED", None)
    keys = [row["secret"] for row in await graph.sql("SELECT secret FROM webhooks_out_endpoints")]
    single = await graph.post("webhooks", "query($id: ID!) { endpoint(id: $id) { id url } }",
                              {"id": str(seeded.bad.id)})
    for response in (first, second, single):
        assert "errors" not in response.json()
        for secret in [*keys, CREDENTIAL, "whsec_", "whsk_"]:
            assert secret not in response.text


async def test_an_unknown_application_or_a_bad_cursor_is_a_bad_user_input_error(
        graph: Graph) -> None:
    for query in ('{ endpoints(app: "nope") { edges { cursor } } }',
                  '{ messages(after: "bm9wZQ") { edges { cursor } } }',
                  "{ messages(first: 1000) { edges { cursor } } }"):
        response = await graph.post("webhooks", query)
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error


async def test_apps_and_event_types_are_listed(graph: Graph) -> None:
    await seed(graph, 0)
    data = await graph.data("webhooks", "{ outboundApps { name } eventTypes { name schema } }")
    assert data == {"outboundApps": [{"name": "acme"}],
                    "eventTypes": [{"name": "invoice.paid", "schema": None},
                                   {"name": "invoice.void", "schema": None}]}


async def test_a_page_of_20_messages_costs_the_statements_a_page_of_2_does(
        graph: Graph, statements: StatementCounter) -> None:
    await seed(graph, 20)
    counts = []
    for first in (2, 20):
        statements.count = 0
        page = await graph.data("webhooks", MESSAGES, {"first": first})
        assert len(page["messages"]["edges"]) == first
        counts.append(statements.count)
    # The token, the page, the destinations of the page, the attempts of the page.
    assert counts == [4, 4]


RESEND = """mutation($id: ID!, $endpoint: ID) { resendMessage(id: $id, endpointId: $endpoint) {
  resent message { destinations { endpointId status tries nextAttemptAt } } } }"""


async def test_resend_queues_a_delivered_message_again_at_one_endpoint(graph: Graph) -> None:
    seeded = await seed(graph, 1)
    data = await graph.data("webhooks", RESEND, {"id": str(seeded.messages[0]),
                                                 "endpoint": str(seeded.ok.id)})
    assert data["resendMessage"]["resent"] == 1
    ok = data["resendMessage"]["message"]["destinations"][0]
    assert (ok["status"], ok["tries"]) == ("PENDING", 0)
    assert ok["nextAttemptAt"] is not None
    [claim] = await Outbound(graph.runtime.database).store.claim_due(10)
    assert (claim.message.id, claim.endpoint.id) == (seeded.messages[0], seeded.ok.id)


async def test_resend_without_an_endpoint_queues_what_failed_only(graph: Graph) -> None:
    seeded = await seed(graph, 1)
    await graph.sql("UPDATE webhooks_out_destinations SET status = 'exhausted',"
                    " next_attempt_at = NULL WHERE endpoint_id = %s", [seeded.bad.id])
    data = await graph.data("webhooks", RESEND, {"id": str(seeded.messages[0])})
    assert data["resendMessage"]["resent"] == 1
    assert [d["status"] for d in data["resendMessage"]["message"]["destinations"]] == [
        "SUCCEEDED", "PENDING"]


@pytest.mark.parametrize(("variables", "expected"), [
    ({"id": "999"}, "no message with id 999"),
    ({"id": "x"}, "ids are whole numbers"),
    ({"id": "MESSAGE", "endpoint": "999"}, "no endpoint with id 999"),
    ({"id": "MESSAGE", "endpoint": "LATER"}, "was never sent to endpoint 3, or it"),
    ({"id": "MESSAGE", "endpoint": "DISABLED"}, "is disabled (moved): enable it first"),
])
async def test_a_resend_that_cannot_be_done_is_one_clear_error(
        graph: Graph, variables: dict[str, str], expected: str) -> None:
    seeded = await seed(graph, 1)
    out = Outbound(graph.runtime.database)
    later = await out.add_endpoint("acme", EndpointSettings(url="https://later.example/h"))
    await out.disable_endpoint(seeded.bad.id, "moved")
    named = {"MESSAGE": str(seeded.messages[0]), "LATER": str(later.id),
             "DISABLED": str(seeded.bad.id)}
    response = await graph.post("webhooks", RESEND,
                                {key: named.get(value, value) for key, value in variables.items()})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert expected in error["message"]


async def test_an_endpoint_is_disabled_enabled_and_its_failures_recovered(graph: Graph) -> None:
    seeded = await seed(graph, 3)
    endpoint = {"id": str(seeded.bad.id)}
    disabled = await graph.data("webhooks", 'mutation($id: ID!) { disableEndpoint(id: $id, '
                                'reason: "maintenance") { state disabledReason } }', endpoint)
    assert disabled["disableEndpoint"] == {"state": "DISABLED",
                                           "disabledReason": "maintenance"}
    statuses = await graph.sql("SELECT status FROM webhooks_out_destinations"
                               " WHERE endpoint_id = %s", [seeded.bad.id])
    assert {row["status"] for row in statuses} == {"failed"}
    recover = ('mutation($id: ID!) { recoverEndpoint(id: $id, '
               'since: "2000-01-01T00:00:00") }')
    refused = await graph.post("webhooks", recover, endpoint)
    assert "enable it first" in refused.json()["errors"][0]["message"]
    enabled = await graph.data("webhooks", "mutation($id: ID!) { enableEndpoint(id: $id) "
                               "{ state disabledReason } }", endpoint)
    assert enabled["enableEndpoint"] == {"state": "ENABLED", "disabledReason": None}
    assert await graph.data("webhooks", recover, endpoint) == {"recoverEndpoint": 2}
    statuses = await graph.sql("SELECT status FROM webhooks_out_destinations"
                               " WHERE endpoint_id = %s", [seeded.bad.id])
    assert {row["status"] for row in statuses} == {"pending"}


@pytest.mark.parametrize("mutation", [
    'mutation { resendMessage(id: "1") { resent } }',
    'mutation { disableEndpoint(id: "1") { id } }',
    'mutation { enableEndpoint(id: "1") { id } }',
    'mutation { recoverEndpoint(id: "1", since: "2000-01-01T00:00:00Z") }',
])
async def test_a_read_token_cannot_change_outbound_webhooks(graph: Graph, mutation: str) -> None:
    seeded = await seed(graph, 1)
    response = await graph.post("webhooks", mutation.replace('"1"', f'"{seeded.bad.id}"'),
                                token="read")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rows = await graph.sql("SELECT enabled FROM webhooks_out_endpoints WHERE id = %s",
                           [seeded.bad.id])
    assert rows == [{"enabled": True}]


async def test_messages_and_endpoints_resolve_as_entities(graph: Graph) -> None:
    seeded = await seed(graph, 1)
    query = """query($representations: [_Any!]!) { _entities(representations: $representations)
      { __typename ... on OutboundMessage { eventType } ... on OutboundEndpoint { url } } }"""
    data = await graph.data("webhooks", query, {"representations": [
        {"__typename": "OutboundMessage", "id": str(seeded.messages[0])},
        {"__typename": "OutboundEndpoint", "id": str(seeded.ok.id)},
        {"__typename": "OutboundMessage", "id": "999999"}]}, token="read")
    assert data["_entities"] == [
        {"__typename": "OutboundMessage", "eventType": "invoice.paid"},
        {"__typename": "OutboundEndpoint", "url": "https://ok.example/hook"}, None]


async def test_a_cursor_that_is_not_one_the_list_gave_is_refused(graph: Graph) -> None:
    await seed(graph, 1)
    for field, position in (("messages", '["not a time", 1]'), ("endpoints", '["acme", "x"]'),
                            ("messages", "[1]")):
        cursor = base64.urlsafe_b64encode(position.encode()).decode()
        response = await graph.post("webhooks", f'{{ {field}(after: "{cursor}") '
                                    "{ edges { cursor } } }")
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["message"] == "the cursor is not one this list gave"


async def test_outbound_fields_are_service_unavailable_when_the_database_cannot_answer(
        database_url: str) -> None:
    """A table held by another session past the lock timeout is the database's trouble, not
    the request's: SERVICE_UNAVAILABLE, as every other subgraph answers, never BAD_USER_INPUT."""
    impatient = psycopg.conninfo.make_conninfo(database_url, options="-c lock_timeout=200")
    async with serving_graph(impatient) as graph, \
            await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("LOCK TABLE webhooks_out_applications, webhooks_out_endpoints "
                              "IN ACCESS EXCLUSIVE MODE")
        response = await graph.post("webhooks", "{ outboundApps { name } }", token="read")
        mutation = await graph.post(
            "webhooks", 'mutation { disableEndpoint(id: "1") { id } }')
    for answer in (response, mutation):
        (error,) = answer.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
        assert error["message"] == "the database is unavailable; retry later"
