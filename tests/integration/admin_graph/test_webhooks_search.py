"""The webhooks subgraph's search and filters of ``deliveries`` over real HTTP: a search by our id
or the provider's, event type and time range filters combined with cursor pages, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.integration.admin_graph.conftest import Graph
from tests.integration.admin_graph.test_webhooks_graph import seed

pytestmark = pytest.mark.anyio

QUERY = """
query Find($search: String, $eventType: String, $after: String, $first: Int!,
           $receivedAfter: DateTime, $receivedBefore: DateTime, $status: DeliveryStatus) {
  deliveries(search: $search, eventType: $eventType, after: $after, first: $first,
             receivedAfter: $receivedAfter, receivedBefore: $receivedBefore, status: $status) {
    nodes { id source providerDeliveryId eventType status receivedAt }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def find(graph: Graph, **variables: Any) -> list[dict[str, Any]]:
    """Every delivery the query lets through, page after page of ``first`` (2 by default)."""
    variables.setdefault("first", 2)
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await graph.data("webhooks", QUERY, {**variables, "after": after}))["deliveries"]
        found += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def refused(graph: Graph, **variables: Any) -> str:
    """The one error's message; its code must be ``BAD_USER_INPUT``."""
    response = await graph.post("webhooks", QUERY, {"first": 5, **variables})
    body = response.json()
    assert body.get("data") is None or body["data"]["deliveries"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return str(error["message"])


async def test_a_search_finds_a_delivery_by_the_providers_id_in_any_source(graph: Graph) -> None:
    gh = await seed(graph, 3, source="gh")
    other = await seed(graph, 3, source="other")
    found = await find(graph, search="other-2")
    assert [(d["id"], d["providerDeliveryId"]) for d in found] == [(str(other[1]), "other-2")]
    # Pasted with the spaces around it, it is found all the same.
    assert [d["id"] for d in await find(graph, search="  gh-3 ")] == [str(gh[2])]
    assert await find(graph, search="gh-4") == []
    # An id's prefix is not a match: the search is exact.
    assert await find(graph, search="gh-") == []


async def test_a_search_finds_a_delivery_by_our_id_with_or_without_its_hash(
        graph: Graph) -> None:
    ids = await seed(graph, 3)
    assert [d["id"] for d in await find(graph, search=f"#{ids[1]}")] == [str(ids[1])]
    assert [d["id"] for d in await find(graph, search=str(ids[2]))] == [str(ids[2])]
    assert await find(graph, search="#999999") == []


async def test_a_number_finds_our_delivery_and_a_providers_delivery_of_that_id(
        graph: Graph) -> None:
    (first,) = await seed(graph, 1)
    rows = await graph.sql(
        "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, status)"
        " VALUES ('gh', 'github', %s, 'processed') RETURNING id", [str(first)])
    assert {d["id"] for d in await find(graph, search=str(first))} == {
        str(first), str(rows[0]["id"])}


async def test_a_search_finds_a_refused_request_by_the_providers_id(graph: Graph) -> None:
    await seed(graph, 1)
    rows = await graph.sql(
        "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, status,"
        " reason) VALUES ('gh', 'github', 'forged-1', 'rejected', 'bad_signature') RETURNING id")
    found = await find(graph, search="forged-1")
    assert [(d["id"], d["status"]) for d in found] == [(str(rows[0]["id"]), "REJECTED")]


async def test_a_search_and_the_filters_narrow_together(graph: Graph) -> None:
    await seed(graph, 2, source="gh", status="dead")
    assert [d["providerDeliveryId"] for d in await find(graph, search="gh-1", status="DEAD")
            ] == ["gh-1"]
    assert await find(graph, search="gh-1", status="FAILED") == []
    assert await find(graph, search="gh-1", eventType="issues") == []


async def test_event_type_and_time_range_filters_combine_with_cursor_pages(
        graph: Graph) -> None:
    await seed(graph, 3)
    # Eleven deliveries a minute apart, every third one of them an issue.
    rows = await graph.sql(
        "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, event_type,"
        " status, received_at)"
        " SELECT 'gh', 'github', 'ev-' || n, CASE WHEN n % 3 = 0 THEN 'issues' ELSE 'push' END,"
        " 'processed', timestamptz '2026-03-01 12:00Z' + make_interval(mins => n)"
        " FROM generate_series(0, 10) AS n RETURNING id, event_type, received_at")
    start = dt.datetime(2026, 3, 1, 12, 2, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 1, 12, 9, tzinfo=dt.UTC)
    issues = [row for row in rows if row["event_type"] == "issues"]
    found = await find(graph, eventType="issues")
    assert [d["id"] for d in found] == [str(row["id"]) for row in reversed(issues)]
    # [start, end): 12:02 is in, 12:09 is not.
    window = [row for row in rows if start <= row["received_at"] < end]
    found = await find(graph, receivedAfter=start.isoformat(), receivedBefore=end.isoformat())
    assert [d["id"] for d in found] == [str(row["id"]) for row in reversed(window)]
    both = [row for row in window if row["event_type"] == "issues"]
    found = await find(graph, eventType="issues", receivedAfter=start.isoformat(),
                       receivedBefore=end.isoformat(), first=1)
    assert [d["id"] for d in found] == [str(row["id"]) for row in reversed(both)]
    assert len(both) == 2


@pytest.mark.parametrize(("variables", "says"), [
    ({"search": ""}, "not empty"),
    ({"search": "   "}, "not empty"),
    ({"search": "#abc"}, "is not a delivery id"),
    ({"search": "#0"}, "is not a delivery id"),
    ({"search": "#99999999999999999999"}, "is not a delivery id"),
    ({"search": "x" * 201}, "at most 200 characters"),
    ({"eventType": ""}, "not empty"),
    ({"receivedAfter": "2026-03-01T12:00:00"}, "needs a time zone"),
    ({"receivedAfter": "2026-03-02T00:00:00Z", "receivedBefore": "2026-03-01T00:00:00Z"},
     "must come before"),
])
async def test_a_search_or_filter_that_can_mean_nothing_is_refused_clearly(
        graph: Graph, variables: dict[str, Any], says: str) -> None:
    await seed(graph, 1)
    assert says in await refused(graph, **variables)


async def test_a_time_that_is_not_one_is_refused_before_anything_runs(graph: Graph) -> None:
    response = await graph.post("webhooks", QUERY, {"first": 5, "receivedAfter": "yesterday"})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "yesterday" in error["message"]


async def test_the_handlers_a_route_can_name_are_listed(graph: Graph) -> None:
    data = await graph.data("webhooks", "{ handlers }")
    assert {"bus", "log"} <= set(data["handlers"])


async def test_a_route_takes_its_handlers_config_and_refuses_one_that_is_not_an_object(
        graph: Graph) -> None:
    await seed(graph, 1)
    add = """mutation($config: JSON) {
      addRoute(source: "gh", handler: "bus", eventType: "push", config: $config) { config } }"""
    data = await graph.data("webhooks", add, {"config": {"key": "repository.id"}})
    assert data["addRoute"]["config"] == {"key": "repository.id"}
    response = await graph.post("webhooks", add, {"config": ["not", "an", "object"]})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "JSON object" in error["message"]


async def test_a_rotation_can_remove_every_secret_but_the_new_one(graph: Graph) -> None:
    await seed(graph, 1)
    rotate = """mutation($add: [String!]) {
      updateSourceSecrets(source: "gh", add: $add, removeOthers: true) { secrets } }"""
    data = await graph.data("webhooks", rotate, {"add": ["env:NEW_SECRET"]})
    assert data["updateSourceSecrets"]["secrets"] == ["env:NEW_SECRET"]
    assert await graph.sql("SELECT secrets FROM webhooks_sources") == [
        {"secrets": ["env:NEW_SECRET"]}]
    response = await graph.post("webhooks", rotate, {"add": []})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "needs the one to keep" in error["message"]
