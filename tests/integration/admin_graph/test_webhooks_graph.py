"""The webhooks admin subgraph over a seeded database: pages, attempts, bodies, changes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from crossdock.webhooks import operations
from tests.integration.admin_graph.conftest import Graph, StatementCounter

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"


async def seed(graph: Graph, count: int, *, source: str = "gh",
               status: str = "processed") -> list[int]:
    """``count`` deliveries of ``source``, one second apart, each with two attempts."""
    database = graph.runtime.database
    if await graph.sql("SELECT 1 FROM webhooks_sources WHERE name = %s", [source]) == []:
        await operations.add_source(database, operations.build_source(source, "github",
                                                                      [SECRET]))
    rows = await graph.sql(
        "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, event_type,"
        " status, headers, body, body_size, received_at)"
        " SELECT %(source)s, 'github', %(source)s || '-' || n, 'push', %(status)s,"
        "        '{\"x-github-event\": \"push\"}', convert_to('{\"n\": ' || n || '}', 'UTF8'),"
        "        8, now() - make_interval(secs => 1000 - n)"
        " FROM generate_series(1, %(count)s) AS n RETURNING id",
        {"source": source, "status": status, "count": count})
    ids = [row["id"] for row in rows]
    await graph.sql(
        "INSERT INTO webhooks_attempts (delivery_id, generation, try, route, handler, status,"
        " duration_ms, error)"
        " SELECT id, 0, t, 'default:bus', 'bus', CASE t WHEN 1 THEN 'failed' ELSE 'succeeded'"
        " END, 1.5, CASE t WHEN 1 THEN 'boom' END"
        " FROM unnest(%(ids)s::bigint[]) AS id, generate_series(1, 2) AS t", {"ids": ids})
    return ids


PAGE = """
query Page($first: Int!, $after: String, $status: DeliveryStatus, $source: String) {
  deliveries(first: $first, after: $after, status: $status, source: $source) {
    edges { cursor node { id source status body headers attempts { try status error } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_deliveries_come_newest_first_in_cursor_pages_to_the_end(graph: Graph) -> None:
    ids = await seed(graph, 5)
    seen: list[str] = []
    after = None
    while True:
        page = (await graph.data("webhooks", PAGE, {"first": 2, "after": after}))["deliveries"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [str(i) for i in reversed(ids)]


async def test_a_delivery_shows_its_body_headers_and_attempts_in_order(graph: Graph) -> None:
    (delivery_id,) = await seed(graph, 1)
    node = (await graph.data("webhooks", PAGE, {"first": 1}))["deliveries"]["edges"][0]["node"]
    assert node["id"] == str(delivery_id)
    assert orjson.loads(node["body"]) == {"n": 1}
    assert node["headers"] == {"x-github-event": "push"}
    assert node["attempts"] == [{"try": 1, "status": "failed", "error": "boom"},
                                {"try": 2, "status": "succeeded", "error": None}]


async def test_status_and_source_filters_narrow_the_page(graph: Graph) -> None:
    await seed(graph, 3, source="gh")
    dead = await seed(graph, 2, source="other", status="dead")
    page = (await graph.data("webhooks", PAGE, {"first": 10, "status": "DEAD"}))["deliveries"]
    assert [e["node"]["id"] for e in page["edges"]] == [str(i) for i in reversed(dead)]
    page = (await graph.data("webhooks", PAGE, {"first": 10, "source": "gh"}))["deliveries"]
    assert {e["node"]["source"] for e in page["edges"]} == {"gh"}
    assert len(page["edges"]) == 3


async def test_a_page_of_20_costs_the_statements_a_page_of_2_does(
        graph: Graph, statements: StatementCounter) -> None:
    await seed(graph, 20)
    counts = []
    for first in (2, 20):
        statements.count = 0
        page = await graph.data("webhooks", PAGE, {"first": first})
        assert len(page["deliveries"]["edges"]) == first
        counts.append(statements.count)
    # The token, the page, the attempts of the page, the bodies of the page.
    assert counts == [4, 4]


async def test_sources_show_their_routes_and_never_a_secrets_value(graph: Graph) -> None:
    await seed(graph, 1)
    await operations.add_route(graph.runtime.database, source="gh", handler="bus",
                               event_type="push")
    data = await graph.data("webhooks", "{ sources { name provider secrets routes "
                            "{ handler eventType } } }")
    assert data["sources"] == [{"name": "gh", "provider": "github", "secrets": ["literal:***"],
                                "routes": [{"handler": "bus", "eventType": "push"}]}]


async def test_replay_queues_the_deliveries_again(graph: Graph) -> None:
    ids = await seed(graph, 2, status="dead")
    data = await graph.data("webhooks", "mutation($ids: [ID!]!) { replayDeliveries(ids: $ids)"
                            " { id status } }", {"ids": [str(i) for i in ids]})
    assert sorted(d["id"] for d in data["replayDeliveries"]) == sorted(str(i) for i in ids)
    assert {d["status"] for d in data["replayDeliveries"]} == {"RECEIVED"}


async def test_replaying_an_unknown_delivery_is_a_bad_user_input_error(graph: Graph) -> None:
    response = await graph.post("webhooks", 'mutation { replayDeliveries(ids: ["999"]) { id } }')
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "999" in error["message"]


async def test_a_secret_is_rotated_and_routes_changed_by_mutations(graph: Graph) -> None:
    await seed(graph, 1)
    rotate = """mutation($add: [String!], $remove: [String!]) {
      updateSourceSecrets(source: "gh", add: $add, remove: $remove) { secrets } }"""
    data = await graph.data("webhooks", rotate, {"add": ["env:NEW_SECRET"]})
    assert data["updateSourceSecrets"]["secrets"] == ["literal:***", "env:NEW_SECRET"]
    data = await graph.data("webhooks", rotate, {"remove": [SECRET]})
    assert data["updateSourceSecrets"]["secrets"] == ["env:NEW_SECRET"]
    added = await graph.data("webhooks", 'mutation { addRoute(source: "gh", handler: "bus",'
                             ' eventType: "push", filters: ["action == opened"]) '
                             "{ id filters } }")
    route_id = added["addRoute"]["id"]
    assert added["addRoute"]["filters"] == [{"path": "action", "op": "==", "value": "opened"}]
    removed = await graph.data("webhooks", "mutation($id: ID!) { removeRoute(id: $id) }",
                               {"id": route_id})
    assert removed == {"removeRoute": True}
    assert await graph.sql("SELECT id FROM webhooks_routes") == []
