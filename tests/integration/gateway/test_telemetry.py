"""Telemetry from ``gateway.yaml``: spans to an OTLP collector over HTTP, metrics by
operation name on /metrics, an access log line per request; real subgraphs throughout."""

from __future__ import annotations

import contextlib
import json
import textwrap
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from crossdock.core.logging import configure_logging
from crossdock.gateway.config import parse_config
from crossdock.gateway.engine import Gateway
from crossdock.gateway.supergraph import load_supergraph
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.collector import Collector
from tests.integration.gateway.federation import SUPERGRAPHS, Servers, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from crossdock.gateway.config import GatewayConfig
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

QUERY = 'query Product { product(upc: "1") { name reviews { body } } }'
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


def _config(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


@contextlib.asynccontextmanager
async def _traced(tracing: str, more: str = "") -> AsyncIterator[tuple[Collector, Federation]]:
    """The shop federation whose gateway sends spans to a collector over HTTP. ``tracing``
    is the YAML under ``telemetry.exporters.tracing``, ``URL`` standing for the collector's;
    ``more`` follows it (indented from the file's top). The spans are all there once the
    block has ended (closing the gateway exports them)."""
    servers = Servers()
    collector = Collector()
    try:
        url = await servers.start(collector)
        config = _config("telemetry:\n  exporters:\n    tracing:\n"
                         + textwrap.indent(tracing.replace("URL", url), "      ") + more)
        async with running("shop", shop_subgraphs.build(), http1=True, config=config) as shop:
            yield collector, shop
    finally:
        await servers.stop()


def _received(shop: Federation) -> dict[str, list[dict[str, str]]]:
    return {name: list(sub.headers)  # type: ignore[attr-defined]
            for name, sub in shop.subgraphs.items()}


async def test_spans_reach_the_collector_as_router_supergraph_planning_and_subgraph_fetches(
) -> None:
    async with _traced("""
common:
  service_name: shop-gateway
otlp:
  enabled: true
  endpoint: URL
""") as (collector, shop):
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY},
                                          headers={"traceparent": f"00-{CLIENT_TRACE}-"
                                                                  f"{CLIENT_SPAN}-01"})
        received = _received(shop)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["product"]["reviews"]
    (router,) = collector.named("router")
    (supergraph,) = collector.named("supergraph")
    (planning,) = collector.named("query_planning")
    fetches = {span.attributes["subgraph.name"]: span for span in collector.named("subgraph")}
    assert sorted(fetches) == ["products", "reviews"]
    assert {span.trace_id for span in collector.spans} == {CLIENT_TRACE}
    assert router.parent_id == CLIENT_SPAN
    assert supergraph.parent_id == router.span_id
    assert planning.parent_id == supergraph.span_id
    assert {span.parent_id for span in fetches.values()} == {supergraph.span_id}
    assert supergraph.attributes["graphql.operation.name"] == "Product"
    assert supergraph.attributes["graphql.operation.type"] == "query"
    assert router.attributes["http.response.status_code"] == 200
    assert fetches["reviews"].attributes["subgraph.graphql.operation.type"] == "query"
    assert "_entities" in fetches["reviews"].attributes["subgraph.graphql.document"]
    assert fetches["products"].attributes["graphql.operation.name"] == "Product"
    assert {span.service for span in collector.spans} == {"shop-gateway"}
    for name, span in fetches.items():
        # Each subgraph continues the trace from its own fetch span, not from the client's.
        assert [h["traceparent"] for h in received[name]] == [
            f"00-{CLIENT_TRACE}-{span.span_id}-01"]


async def test_a_failed_fetch_is_an_error_span_and_a_new_trace_starts_without_traceparent(
) -> None:
    async with _traced("otlp: {enabled: true, endpoint: URL/v1/traces}\n") as (
            collector, shop):
        shop.subgraphs["reviews"].behaviour.status = 503
        shop.subgraphs["reviews"].behaviour.body = b"down"
        body = (await shop.post(QUERY)).json()
    assert body["errors"][0]["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"
    (router,) = collector.named("router")
    assert router.parent_id == ""
    assert router.trace_id != CLIENT_TRACE
    fetches = {span.attributes["subgraph.name"]: span for span in collector.named("subgraph")}
    assert fetches["reviews"].status == 2
    assert fetches["reviews"].attributes["http.response.status_code"] == 503
    assert fetches["products"].status == 0
    assert collector.named("supergraph")[0].status == 2
    assert {span.service for span in collector.spans} == {"crossdock-gateway"}


async def test_a_sampler_of_zero_exports_nothing_but_subgraphs_still_get_a_traceparent(
) -> None:
    async with _traced("common: {sampler: always_off}\notlp: {enabled: true, endpoint: URL}\n"
                       ) as (collector, shop):
        for _ in range(3):
            assert (await shop.post(QUERY)).status_code == 200
        received = _received(shop)
    assert collector.spans == []
    parents = [h["traceparent"] for h in received["products"]]
    assert len(parents) == 3
    # Not sampled (the flags' lowest bit), still propagated.
    assert all(int(p.rsplit("-", 1)[1], 16) & 1 == 0 for p in parents)


async def _scrape(shop: Federation) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await shop.client.get(shop.url + "/metrics")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


async def test_prometheus_counts_requests_errors_and_latency_by_operation_name() -> None:
    config = _config("""
telemetry:
  exporters:
    metrics:
      prometheus:
        enabled: true
""")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        before = await _scrape(shop)
        for _ in range(2):
            assert (await shop.post(QUERY)).status_code == 200
        assert (await shop.post("query Broken { broken }")).json()["errors"]
        assert (await shop.post("{ me { id } }")).status_code == 200
        after = await _scrape(shop)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    count = "crossdock_gateway_operation_seconds_count"
    assert grew(count, operation_name="Product", operation="query") == 2
    assert grew(count, operation_name="Broken", operation="query") == 1
    assert grew(count, operation_name="anonymous", operation="query") == 1
    assert grew("crossdock_gateway_operation_seconds_sum", operation_name="Product",
                operation="query") > 0
    errors = "crossdock_gateway_operation_errors_total"
    assert grew(errors, operation_name="Broken", operation="query") == 1
    assert grew(errors, operation_name="Product", operation="query") == 0
    # The second Product found its plan in the cache.
    assert grew("crossdock_gateway_plan_cache_total", result="hit") >= 1
    assert grew("crossdock_gateway_plan_cache_total", result="miss") >= 3


async def test_the_access_log_has_one_line_per_request_with_its_outcome(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config("""
telemetry:
  instrumentation:
    events:
      router:
        response: info
""")
    configure_logging("info", "json")
    async with running("shop", shop_subgraphs.build(), config=config) as shop:
        capsys.readouterr()
        await shop.client.post(shop.url + "/graphql", json={"query": QUERY},
                               headers={"x-request-id": "access-1"})
        await shop.client.post(shop.url + "/graphql", json={"query": "{ nope }"},
                               headers={"x-request-id": "access-2"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access: list[dict[str, Any]] = [line for line in lines if line["event"] == "graphql_request"]
    assert [line["request_id"] for line in access] == ["access-1", "access-2"]
    first, second = access
    assert (first["operation_name"], first["operation_type"], first["status"],
            first["errors"], first["subgraph_fetches"], first["level"]) == (
        "Product", "query", 200, 0, 2, "info")
    assert first["duration_ms"] > 0
    assert (second["operation_type"], second["status"], second["errors"],
            second["subgraph_fetches"]) == ("unknown", 400, 1, 0)


async def test_a_request_a_plugin_breaks_still_has_its_spans_and_access_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """on_response sees the 500 answered for another plugin's exception."""
    configure_logging("info", "json")
    async with _traced("""
otlp: {enabled: true, endpoint: URL}
""", more="""
  instrumentation: {events: {router: {response: error}}}
plugins:
  "tests.integration.gateway.example_plugins:Broken": {}
""") as (collector, shop):
        capsys.readouterr()
        assert (await shop.post(QUERY)).status_code == 500
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    (access,) = [line for line in lines if line["event"] == "graphql_request"]
    assert (access["status"], access["level"], access["operation_name"]) == (
        500, "error", "Product")
    (router,) = collector.named("router")
    assert router.attributes["http.response.status_code"] == 500
    assert router.status == 2
    assert len(collector.named("supergraph")) == 1
    assert collector.named("subgraph") == []


async def test_without_telemetry_the_plugin_is_not_in_the_chain() -> None:
    shop = load_supergraph(SUPERGRAPHS / "shop.graphql")
    # The only default plugin, authorization, has nothing to do on a supergraph without
    # access directives: the chain is empty.
    assert Gateway(shop, None, parse_config({})).pipeline.plugins == ()  # type: ignore[arg-type]
    off = _config("""
telemetry:
  exporters:
    tracing:
      otlp: {enabled: false}
    metrics:
      prometheus: {enabled: false}
""")
    assert [plugin.name for plugin in off.plugins] == ["authorization"]
