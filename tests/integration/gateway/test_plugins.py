"""Plugins from ``gateway.yaml`` run at each step of real requests to real subgraphs."""

from __future__ import annotations

import pytest
import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from crossdock.gateway.engine import Gateway
from crossdock.gateway.supergraph import load_supergraph
from tests.integration.gateway import example_plugins
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import SUPERGRAPHS, running

pytestmark = pytest.mark.anyio

QUERY = 'query Product { product(upc: "1") { name reviews { body } } }'
TENANT = parse_config(yaml.safe_load("""
plugins:
  "tests.integration.gateway.example_plugins:Tenant":
    header: x-tenant
"""))


async def test_a_plugin_sees_each_step_in_order_and_changes_subgraph_and_client_headers(
) -> None:
    example_plugins.SEEN.clear()
    async with running("shop", shop_subgraphs.build(), http1=True, config=TENANT) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY},
                                          headers={"x-tenant": "acme"})
        received = {name: sub.headers  # type: ignore[attr-defined]
                    for name, sub in shop.subgraphs.items()}
    assert response.status_code == 200, response.text
    assert response.json()["data"]["product"]["name"]
    assert response.headers["x-served-tenant"] == "acme"
    assert [h["x-tenant"] for h in received["products"]] == ["acme"]
    assert [h["x-tenant"] for h in received["reviews"]] == ["acme"]
    hooks = [hook for hook, _ in example_plugins.SEEN]
    assert hooks == ["request", "operation", "plan", "subgraph", "subgraph", "response"]
    assert example_plugins.SEEN[1] == ("operation", "Product")
    assert example_plugins.SEEN[2] == ("plan", ["products", "reviews"])


async def test_a_plugin_can_end_a_request_before_any_subgraph_is_asked() -> None:
    example_plugins.SEEN.clear()
    async with running("shop", shop_subgraphs.build(), http1=True, config=TENANT) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
        received = [h for sub in shop.subgraphs.values()
                    for h in sub.headers]  # type: ignore[attr-defined]
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert response.headers["x-served-tenant"] == "none"
    assert received == []
    assert [hook for hook, _ in example_plugins.SEEN] == ["request", "response"]


async def test_a_plugin_that_fails_gives_a_500_without_a_traceback() -> None:
    config = parse_config(yaml.safe_load("""
plugins:
  "tests.integration.gateway.example_plugins:Broken": {}
"""))
    async with running("shop", shop_subgraphs.build(), http1=True, config=config) as shop:
        response = await shop.client.post(shop.url + "/graphql", json={"query": QUERY})
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "Internal server error",
                                           "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}
    assert "bug" not in response.text


@pytest.mark.parametrize(("plugins", "message"), [
    ({"nothing.here": {}}, "plugins.nothing.here: no plugin of that name"),
    ({"tests.integration.gateway.missing:Tenant": {}},
     "plugins.tests.integration.gateway.missing:Tenant: cannot import"),
    ({"tests.integration.gateway.example_plugins:Nope": {}}, "has no callable Nope"),
    ({"tests.integration.gateway.example_plugins:not_a_plugin": {}}, "gave dict, not a Plugin"),
    ({"tests.integration.gateway.example_plugins:Tenant": {}},
     "plugins.tests.integration.gateway.example_plugins:Tenant: header: the header"),
    ([], "plugins: expected a mapping"),
], ids=["unknown", "no-module", "no-attribute", "not-a-plugin", "options-refused", "list"])
def test_a_plugin_that_cannot_be_made_is_a_config_error_naming_it(plugins: object,
                                                                     message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config({"plugins": plugins})


def test_without_plugins_the_executor_calls_its_client_directly() -> None:
    supergraph = load_supergraph(SUPERGRAPHS / "shop.graphql")
    assert Gateway(supergraph, None).executor.call is None  # type: ignore[arg-type]
    assert Gateway(supergraph, None, TENANT).executor.call is not None  # type: ignore[arg-type]
