"""The ``demand_control`` section: Apollo Router's keys, bad values named, unsupported ones
listed; an operation whose cost cannot be estimated is refused in enforce mode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, parse_config
from crossdock.gateway.engine import Gateway
from crossdock.gateway.plugins.demand_control import CostPolicy, DemandControl
from crossdock.gateway.supergraph import Supergraph
from tests.unit.gateway.test_cost import EXTENDED

SECTION = """
demand_control:
  enabled: true
  mode: enforce
  strategy:
    static_estimated:
      list_size: 7
      max: 250.5
"""


def parsed(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


def test_the_router_keys_configure_the_plugin() -> None:
    config = parsed(SECTION)
    (plugin,) = [p for p in config.plugins if isinstance(p, DemandControl)]
    assert plugin.policy == CostPolicy(enforce=True, list_size=7, max=250.5)
    assert config.unsupported == ()


def test_disabled_or_absent_demand_control_adds_no_plugin() -> None:
    for text in (SECTION.replace("enabled: true", "enabled: false"), "{}"):
        assert not [p for p in parsed(text).plugins if isinstance(p, DemandControl)]


def test_keys_crossdock_does_not_read_are_listed() -> None:
    config = parsed(SECTION + """      actual_cost_mode: by_subgraph
      subgraph:
        all: {max: 10}
  extra: 1
""")
    assert sorted(config.unsupported) == [
        "demand_control.extra", "demand_control.strategy.static_estimated.actual_cost_mode",
        "demand_control.strategy.static_estimated.subgraph"]
    assert parsed(SECTION + "      actual_cost_mode: by_response_shape\n").unsupported == ()


@pytest.mark.parametrize(("change", "message"), [
    (("mode: enforce", "mode: strict"), "demand_control.mode: 'strict' is not measure or"),
    (("enabled: true", "enabled: yes please"), "demand_control.enabled: 'yes please' is not"),
    (("list_size: 7", "list_size: -1"),
     "demand_control.strategy.static_estimated.list_size: -1 is not a whole number"),
    (("max: 250.5", "max: lots"),
     "demand_control.strategy.static_estimated.max: 'lots' is not a number"),
    (("static_estimated:", "dynamic:"), "demand_control.strategy: expected static_estimated"),
    (("max: 250.5", "max: 1\n      actual_cost_mode: guess"),
     "actual_cost_mode: 'guess' is not by_subgraph or by_response_shape"),
], ids=["mode", "enabled", "list_size", "max", "strategy", "actual_cost_mode"])
def test_bad_values_are_errors_naming_the_key(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parsed(SECTION.replace(*change))


@pytest.mark.anyio
async def test_enforce_refuses_an_operation_whose_list_size_needs_one_slicing_argument(
) -> None:
    async with httpx.AsyncClient() as client:
        gateway = Gateway(Supergraph(EXTENDED), client, parsed(SECTION))
        result = await gateway.execute("{ strict(first: 1, last: 2) { id } }")
    body: dict[str, Any] = result.body
    assert body == {"errors": [{
        "message": "Query could not be parsed: Exactly one slicing argument is required, "
                   "but found 2",
        "extensions": {"code": "COST_QUERY_PARSE_FAILURE"}}]}
