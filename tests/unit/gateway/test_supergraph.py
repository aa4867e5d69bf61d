"""Parsing supergraphs: the model the planner reads, and clear errors for non-supergraphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.config import parse_config
from crossdock.gateway.engine import Gateway
from crossdock.gateway.errors import SupergraphError
from crossdock.gateway.supergraph import Supergraph, load_supergraph

SUPERGRAPHS = Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs"
SHOP = SUPERGRAPHS / "shop.graphql"

FED1 = """
schema @core(feature: "https://specs.apollo.dev/core/v0.1")
       @core(feature: "https://specs.apollo.dev/join/v0.1") { query: Query }
directive @core(feature: String!) repeatable on SCHEMA
directive @join__owner(graph: join__Graph!) on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on OBJECT | INTERFACE
directive @join__field(graph: join__Graph, requires: join__FieldSet,
  provides: join__FieldSet) on FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
scalar join__FieldSet
enum join__Graph {
  ACCOUNTS @join__graph(name: "accounts" url: "http://accounts/graphql")
  REVIEWS @join__graph(name: "reviews" url: "http://reviews/graphql")
}
type Query { me: User @join__field(graph: ACCOUNTS) }
type User @join__owner(graph: ACCOUNTS) @join__type(graph: ACCOUNTS, key: "id")
          @join__type(graph: REVIEWS, key: "id") {
  id: ID!
  name: String
  reviews: [String] @join__field(graph: REVIEWS)
}
"""


def test_subgraphs_are_read_with_their_urls() -> None:
    supergraph = load_supergraph(SHOP)
    names = sorted(s.name for s in supergraph.subgraphs.values())
    assert names == ["accounts", "inventory", "products", "reviews"]
    assert supergraph.url("products") == "http://products.invalid/graphql"


def test_keys_requires_provides_and_override_are_modelled() -> None:
    supergraph = load_supergraph(SHOP)
    product = supergraph.types["Product"]
    assert [k.fields for k in product.keys["products"]] == ["upc", "sku variant { id }"]
    assert [k.fields for k in product.keys["inventory"]] == ["sku variant { id }"]
    shipping = supergraph.field_graphs("Product", "shippingEstimate")["inventory"]
    assert shipping.requires is not None
    assert supergraph.field_graphs("Product", "price")["inventory"].external
    author = supergraph.field_graphs("Review", "author")["reviews"]
    assert author.provides is not None
    count = supergraph.field_graphs("User", "reviewCount")
    assert set(count) == {"reviews"}
    warehouse = supergraph.types["Warehouse"].keys["inventory"][0]
    assert not warehouse.resolvable


def test_api_schema_hides_join_types_and_inaccessible_fields() -> None:
    schema = build_api_schema(load_supergraph(SHOP))
    assert schema.get_type("join__Graph") is None
    product = schema.get_type("Product")
    assert product is not None
    assert "internalCode" not in product.fields  # type: ignore[attr-defined]
    assert "shippingEstimate" in product.fields  # type: ignore[attr-defined]


def test_fed1_owner_gives_unannotated_fields_to_the_owner() -> None:
    supergraph = Supergraph(FED1)
    assert supergraph.fed1
    assert set(supergraph.field_graphs("User", "name")) == {"accounts"}
    assert set(supergraph.field_graphs("User", "reviews")) == {"reviews"}


def test_plain_schema_is_not_a_supergraph_and_the_error_says_so() -> None:
    with pytest.raises(SupergraphError, match=r"not a supergraph.*join spec.*line 2"):
        Supergraph("\nschema { query: Query }\ntype Query { a: Int }\n", source="x.graphql")


def test_schema_without_a_schema_definition_is_refused() -> None:
    with pytest.raises(SupergraphError, match="no schema definition"):
        Supergraph("type Query { a: Int }")


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(SupergraphError, match=r"x.graphql: not valid GraphQL SDL.*line 3"):
        Supergraph("schema { query: Query }\n\ntype Query {", source="x.graphql")


def test_missing_graph_enum_is_refused() -> None:
    sdl = ('schema @link(url: "https://specs.apollo.dev/link/v1.0") '
           '@link(url: "https://specs.apollo.dev/join/v0.3") { query: Query }\n'
           "type Query { a: Int }")
    with pytest.raises(SupergraphError, match="no enum join__Graph"):
        Supergraph(sdl)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SupergraphError, match="cannot read supergraph"):
        load_supergraph(tmp_path / "missing.graphql")


def test_a_supergraph_with_an_unknown_security_feature_is_refused_at_load() -> None:
    text = (SUPERGRAPHS / "secured.graphql").read_text().replace(
        "specs.apollo.dev/policy/v0.1", "specs.example.com/tenancy/v0.1")
    with pytest.raises(SupergraphError) as caught:
        Supergraph(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "SECURITY features this gateway does not enforce" in message
    assert "tenancy/v0.1" in message


def test_the_access_directives_are_security_features_a_plugin_must_enforce() -> None:
    """Composed from subgraphs using @authenticated, @requiresScopes and @policy."""
    secured = load_supergraph(SUPERGRAPHS / "secured.graphql")
    assert secured.security == {"authenticated", "requiresScopes", "policy"}
    with pytest.raises(SupergraphError) as caught:
        Gateway(secured, None)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    assert "SECURITY features this gateway does not enforce" in message
    assert "authenticated, policy, requiresScopes" in message
    assert Gateway(secured, None, parse_config({})).pipeline.operations  # type: ignore[arg-type]


def test_inaccessible_is_a_security_feature_the_gateway_enforces() -> None:
    assert 'inaccessible/v0.2", for: SECURITY' in SHOP.read_text()
    load_supergraph(SHOP)
