"""Demand control over real subgraphs: estimates refused or reported, actual costs measured."""

from __future__ import annotations

import pytest
import yaml
from prometheus_client import REGISTRY

from crossdock.gateway.config import parse_config
from tests.integration.gateway import catalog
from tests.integration.gateway.federation import running

pytestmark = pytest.mark.anyio

# Three books in all, two bestsellers; b1 has two reviews, b2 one.
BESTSELLERS = "query Best { bestsellers { title reviews { body stars } } }"
#: Estimated: 5 bestsellers * (1 + 3 reviews * (1 + stars 2)) = 50.
BESTSELLERS_ESTIMATE = 50.0
#: Actual: 2 books * 1 + 3 reviews * (1 + 2) = 11.
BESTSELLERS_ACTUAL = 11.0


def _config(mode: str, maximum: int) -> object:
    return parse_config(yaml.safe_load(f"""
demand_control:
  enabled: true
  mode: {mode}
  strategy:
    static_estimated:
      list_size: 10
      max: {maximum}
"""))


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_enforce_refuses_an_operation_estimated_over_max_before_any_subgraph() -> None:
    async with running("catalog", catalog.build(), config=_config("enforce", 49)) as fed:
        response = await fed.post(BESTSELLERS)
        asked = sum(len(sub.requests) for sub in fed.subgraphs.values())
    assert response.status_code == 200
    assert response.json() == {"errors": [{
        "message": "query estimated cost 50 exceeded configured maximum 49",
        "extensions": {"code": "COST_ESTIMATED_TOO_EXPENSIVE", "cost.estimated": 50.0,
                       "cost.max": 49.0}}]}
    assert asked == 0


async def test_enforce_serves_an_operation_at_max() -> None:
    async with running("catalog", catalog.build(), config=_config("enforce", 50)) as fed:
        body = await fed.query(BESTSELLERS)
    assert "errors" not in body
    assert [b["title"] for b in body["data"]["bestsellers"]] == ["Dune", "Cosmos"]


async def test_a_slicing_argument_from_a_variable_sizes_the_estimate() -> None:
    query = ("query New($n: Int!) { newestAdditions(limit: $n) "
             "{ publisher { address { zipCode } } } }")
    async with running("catalog", catalog.build(), config=_config("enforce", 20)) as fed:
        served = await fed.query(query, {"n": 3})  # 3 * (1 + 1 + 5) = 21 > 20
        small = await fed.query(query, {"n": 2})  # 2 * 7 = 14
    assert served["errors"][0]["extensions"]["cost.estimated"] == 21.0
    assert len(small["data"]["newestAdditions"]) == 2


async def test_measure_serves_over_max_and_reports_estimate_and_actual_cost() -> None:
    before = {
        "over": _sample("crossdock_gateway_cost_estimated_count",
                        result="COST_ESTIMATED_TOO_EXPENSIVE"),
        "estimated": _sample("crossdock_gateway_cost_estimated_sum",
                             result="COST_ESTIMATED_TOO_EXPENSIVE"),
        "actual": _sample("crossdock_gateway_cost_actual_sum"),
        "delta": _sample("crossdock_gateway_cost_delta_sum"),
        "operations": _sample("crossdock_gateway_demand_control_operations_total",
                              result="COST_ESTIMATED_TOO_EXPENSIVE"),
    }
    async with running("catalog", catalog.build(), config=_config("measure", 1)) as fed:
        body = await fed.query(BESTSELLERS)
    assert "errors" not in body
    assert [len(b["reviews"]) for b in body["data"]["bestsellers"]] == [2, 1]
    over = "COST_ESTIMATED_TOO_EXPENSIVE"
    assert _sample("crossdock_gateway_cost_estimated_count", result=over) \
        == before["over"] + 1
    assert _sample("crossdock_gateway_cost_estimated_sum", result=over) \
        == before["estimated"] + BESTSELLERS_ESTIMATE
    assert _sample("crossdock_gateway_cost_actual_sum") == before["actual"] + BESTSELLERS_ACTUAL
    assert _sample("crossdock_gateway_cost_delta_sum") \
        == before["delta"] + BESTSELLERS_ESTIMATE - BESTSELLERS_ACTUAL
    assert _sample("crossdock_gateway_demand_control_operations_total", result=over) \
        == before["operations"] + 1


async def test_actual_cost_counts_entities_fetched_from_another_subgraph_and_arguments(
) -> None:
    query = ('{ book(id: "b1") { summary reviews(first: 1) { stars } } '
             'rating(stars: 4) genres }')
    before = _sample("crossdock_gateway_cost_actual_sum")
    async with running("catalog", catalog.build(), config=_config("measure", 1000)) as fed:
        body = await fed.query(query)
    assert body["data"]["book"] == {"summary": "Dune, reviewed", "reviews": [{"stars": 5}]}
    # book 1 + summary 4 + one review (1 + stars 2) + rating's argument 7 + 2 genres * 3
    assert _sample("crossdock_gateway_cost_actual_sum") == before + 1 + 4 + 3 + 7 + 6
