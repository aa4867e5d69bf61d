"""What operators see of the gateway: Prometheus metrics on /metrics, request ids in logs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crossdock.core.logging import configure_logging

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(shop: Federation) -> Samples:
    response = await shop.client.get(shop.url + "/metrics")
    assert response.status_code == 200
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def _grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_requests_are_counted_by_operation_type_with_errors_and_latency(
    shop: Federation,
) -> None:
    before = await _scrape(shop)
    assert (await shop.post('{ product(upc: "1") { name } }')).status_code == 200
    assert (await shop.post("{ me { id } }")).status_code == 200
    renamed = await shop.post('mutation { rename(id: "u1", name: "Ada") { id } }')
    assert renamed.status_code == 200
    assert (await shop.post("{ nope }")).status_code == 400
    assert (await shop.post("{ broken }")).json()["errors"]
    after = await _scrape(shop)

    count = "crossdock_gateway_requests_seconds_count"
    assert _grew(before, after, count, operation="query") == 3
    assert _grew(before, after, count, operation="mutation") == 1
    assert _grew(before, after, count, operation="unknown") == 1
    errors = "crossdock_gateway_request_errors_total"
    assert _grew(before, after, errors, operation="query") == 1
    assert _grew(before, after, errors, operation="mutation") == 0
    assert _grew(before, after, errors, operation="unknown") == 1
    assert _grew(before, after, "crossdock_gateway_requests_seconds_sum",
                 operation="query") > 0
    assert _grew(before, after, "crossdock_gateway_requests_seconds_bucket",
                 operation="mutation", le="+Inf") == 1


async def test_subgraph_fetches_are_counted_by_subgraph_with_errors_and_latency(
    shop: Federation,
) -> None:
    before = await _scrape(shop)
    result = await shop.query('{ product(upc: "1") { name reviews { body } } }')
    assert "errors" not in result
    shop.subgraphs["inventory"].behaviour.status = 500
    shop.subgraphs["inventory"].behaviour.body = b"Internal Server Error"
    failed = await shop.query('{ product(upc: "1") { name stockNote } }')
    assert failed["errors"]
    shop.subgraphs["inventory"].behaviour.status = 200
    shop.subgraphs["inventory"].behaviour.body = None
    await shop.query('{ broken product(upc: "2") { name } }')
    after = await _scrape(shop)

    count = "crossdock_gateway_subgraph_fetch_seconds_count"
    assert _grew(before, after, count, subgraph="products") == 3
    assert _grew(before, after, count, subgraph="reviews") == 1
    assert _grew(before, after, count, subgraph="inventory") == 1
    assert _grew(before, after, "crossdock_gateway_subgraph_fetch_seconds_sum",
                 subgraph="reviews") > 0
    errors = "crossdock_gateway_subgraph_fetch_errors_total"
    assert _grew(before, after, errors, subgraph="inventory", reason="http") == 1
    assert _grew(before, after, errors, subgraph="products", reason="graphql") == 1
    assert _grew(before, after, errors, subgraph="reviews", reason="graphql") == 0


async def test_a_requests_log_lines_carry_its_request_id(
    shop: Federation, capsys: pytest.CaptureFixture[str],
) -> None:
    """The client's X-Request-ID is sent back and bound to the request's log lines."""
    configure_logging("info", "json")
    capsys.readouterr()
    shop.subgraphs["inventory"].behaviour.status = 500
    response = await shop.client.post(
        shop.url + "/graphql", json={"query": '{ product(upc: "1") { stockNote } }'},
        headers={"x-request-id": "client-chosen-42"})
    assert response.headers["x-request-id"] == "client-chosen-42"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    failures = [line for line in lines if line["event"] == "subgraph_request_failed"]
    assert [(line["subgraph"], line["request_id"]) for line in failures] == [
        ("inventory", "client-chosen-42")]


async def test_a_request_without_a_usable_id_gets_a_new_one(shop: Federation) -> None:
    first = await shop.post("{ me { id } }")
    second = await shop.client.post(shop.url + "/graphql", json={"query": "{ me { id } }"},
                                    headers={"x-request-id": "has spaces in it"})
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2
    assert all(len(value) == 16 for value in ids)
