"""The gateway's configuration file: Apollo Router's keys, unsupported ones listed, bad values
named; the retry budget it configures."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import GatewayConfig, RetryPolicy, load_config, parse_config
from crossdock.gateway.failures import RetryBudget, fetch_path

if TYPE_CHECKING:
    from pathlib import Path


def parsed(text: str) -> GatewayConfig:
    return parse_config(yaml.safe_load(text))


def test_router_keys_are_read_with_the_router_meaning() -> None:
    config = parsed("""
traffic_shaping:
  all:
    timeout: 5s
    experimental_retry: {min_per_sec: 3, ttl: 20s, retry_percent: 0.5}
  subgraphs:
    products: {timeout: 250ms}
include_subgraph_errors:
  all: true
  subgraphs: {accounts: false}
""")
    assert config.timeout("products") == 0.25
    assert config.timeout("reviews") == 5.0
    assert config.retry("products") == RetryPolicy(min_per_sec=3, ttl=20.0, retry_percent=0.5)
    assert config.includes_errors("reviews")
    assert not config.includes_errors("accounts")
    assert config.unsupported == ()


def test_defaults_are_the_routers() -> None:
    config = parse_config({})
    assert config.timeout("any") == 30.0
    assert config.retry("any") is None
    assert not config.includes_errors("any")


def test_unsupported_keys_are_listed_by_their_dotted_name() -> None:
    config = parsed("""
supergraph: {listen: 0.0.0.0:4000}
traffic_shaping:
  router: {timeout: 60s}
  all: {deduplicate_query: true, timeout: 1s}
include_subgraph_errors: {redact_message: true}
""")
    assert config.unsupported == ("traffic_shaping.all.deduplicate_query",
                                  "traffic_shaping.router.timeout",
                                  "include_subgraph_errors.redact_message",
                                  "supergraph.listen")
    assert config.timeout("x") == 1.0


def test_the_routers_object_form_of_error_inclusion_is_unsupported_and_stays_redacted() -> None:
    config = parsed("""
include_subgraph_errors:
  all: {redact_message: false}
  subgraphs: {products: {redact_message: false}, reviews: true}
""")
    assert not config.includes_errors("accounts")
    assert config.unsupported == ("include_subgraph_errors.all",
                                  "include_subgraph_errors.subgraphs.products")
    assert not config.includes_errors("products")
    assert config.includes_errors("reviews")


@pytest.mark.parametrize(("text", "named"), [
    ("traffic_shaping: {all: {timeout: soon}}", "traffic_shaping.all.timeout: 'soon'"),
    ("traffic_shaping: {subgraphs: {a: {timeout: 0s}}}", "traffic_shaping.subgraphs.a.timeout"),
    ("traffic_shaping: {all: {experimental_retry: {retry_mutations: true}}}",
     "traffic_shaping.all.experimental_retry.retry_mutations"),
    ("traffic_shaping: {all: {experimental_retry: {min_per_sec: -1}}}",
     "experimental_retry.min_per_sec"),
    ("traffic_shaping: {all: {experimental_retry: {ttl: 2h}}}", "experimental_retry.ttl"),
    ("include_subgraph_errors: {all: yes please}", "include_subgraph_errors.all"),
    ("include_subgraph_errors: {subgraphs: {a: 1}}", "include_subgraph_errors.subgraphs.a"),
    ("traffic_shaping: [1, 2]", "traffic_shaping: expected a mapping"),
])
def test_an_invalid_value_is_an_error_naming_its_key(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parsed(text)
    assert named in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_yaml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("traffic_shaping: {all: [}\n")
    with pytest.raises(ConfigError, match=r"gateway\.yaml: not valid YAML \(line 1\)"):
        load_config(path)
    path.write_text("")
    empty = load_config(path)
    # Only the authorization directives are on without a key: they are on by default.
    assert [plugin.name for plugin in empty.plugins] == ["authorization"]
    assert dataclasses.replace(empty, plugins=()) == GatewayConfig()


def test_the_retry_budget_allows_a_share_of_the_requests_and_a_floor() -> None:
    budget = RetryBudget(RetryPolicy(min_per_sec=0, ttl=10.0, retry_percent=0.5))
    assert not budget.withdraw()
    budget.deposit()
    budget.deposit()
    assert budget.withdraw()
    assert not budget.withdraw()
    floor = RetryBudget(RetryPolicy(min_per_sec=1, ttl=2.0, retry_percent=0.0))
    assert [floor.withdraw() for _ in range(3)] == [True, True, False]


def test_a_fetch_path_stops_at_the_first_list_and_drops_type_conditions() -> None:
    assert fetch_path(("topProducts", "@", "reviews")) == ["topProducts"]
    assert fetch_path(("node", "|Product,Book", "author")) == ["node", "author"]
    assert fetch_path(()) == []


def test_introspection_is_off_unless_supergraph_introspection_is_true() -> None:
    assert parse_config({}).introspection is None
    assert parsed("supergraph: {introspection: true}").introspection is True
    assert parsed("supergraph: {introspection: false}").introspection is False
    with pytest.raises(ConfigError, match=r"supergraph\.introspection"):
        parsed("supergraph: {introspection: yes please}")
