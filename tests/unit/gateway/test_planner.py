"""Plan shapes for the shop supergraph (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse

from crossdock.gateway.errors import PlanningError
from crossdock.gateway.plan import Plan, render
from crossdock.gateway.planner import Planner
from crossdock.gateway.planning import plan_operation
from crossdock.gateway.supergraph import Supergraph, load_supergraph

SHOP = Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs" / "shop.graphql"


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_supergraph(SHOP))


def plan(planner: Planner, query: str, variables: dict[str, object] | None = None) -> Plan:
    return plan_operation(planner, parse(query), None, variables or {})


def test_fields_of_one_subgraph_make_one_fetch(planner: Planner) -> None:
    result = plan(planner, '{ product(upc: "1") { name price } }')
    (fetch,) = result.fetches
    assert fetch.graph == "products"
    assert fetch.query == 'query {product(upc: "1") {name price}}'


def test_entity_field_elsewhere_adds_the_key_and_an_entities_fetch(planner: Planner) -> None:
    root, reviews = plan(planner, '{ product(upc: "1") { name reviews { body } } }').fetches
    assert root.query == 'query {product(upc: "1") {name __typename upc}}'
    assert reviews.graph == "reviews"
    assert reviews.kind == "entities"
    assert reviews.path == ("product",)
    assert reviews.depends == {root.id}
    assert reviews.query == ("query($representations: [_Any!]!) {_entities(representations: "
                             "$representations) {... on Product {reviews {body}}}}")


def test_requires_fields_are_fetched_before_and_sent_along(planner: Planner) -> None:
    root, inventory = plan(planner, "{ products { shippingEstimate } }").fetches
    assert "price weight" in root.query
    assert inventory.path == ("products", "@")
    typename, shape = inventory.requires["Product"]
    assert typename == "Product"
    assert [key for key, _, _ in shape] == ["sku", "variant", "price", "weight"]


def test_provided_field_needs_no_other_subgraph(planner: Planner) -> None:
    (fetch,) = plan(planner, "{ topReviews { author { username } } }").fetches
    assert fetch.graph == "reviews"


def test_mutation_root_fields_are_sequential_stages(planner: Planner) -> None:
    result = plan(planner, 'mutation { a: addReview(upc: "1", body: "x") { id } '
                           'rename(id: "u1", name: "y") { id } '
                           'b: addReview(upc: "1", body: "z") { id } }')
    assert [[f.graph for f in stage] for stage in result.stages] == [
        ["reviews"], ["accounts"], ["reviews"]]


def test_include_false_drops_the_fetch(planner: Planner) -> None:
    query = 'query($x: Boolean!) { product(upc: "1") { name inStock @include(if: $x) } }'
    assert len(plan(planner, query, {"x": False}).fetches) == 1
    assert len(plan(planner, query, {"x": True}).fetches) == 2


def test_variables_are_declared_in_the_subgraph_operation(planner: Planner) -> None:
    (fetch,) = plan(planner, 'query($u: String! = "1") { product(upc: $u) { name } }').fetches
    assert fetch.query == 'query($u: String! = "1") {product(upc: $u) {name}}'
    assert fetch.variables == ("u",)


def test_render_shows_sequence_and_flatten(planner: Planner) -> None:
    text = render(plan(planner, '{ product(upc: "1") { name inStock } }'))
    assert text.startswith("QueryPlan {")
    assert "Sequence {" in text
    assert 'Flatten(path: "product")' in text
    assert 'Fetch(service: "inventory")' in text


def test_unreachable_field_is_a_planning_error() -> None:
    sdl = SHOP.read_text(encoding="utf-8").replace(
        '@join__type(graph: REVIEWS, key: "upc")',
        '@join__type(graph: REVIEWS, key: "upc", resolvable: false)')
    planner = Planner(Supergraph(sdl))
    with pytest.raises(PlanningError, match=r"Product\.reviews"):
        plan(planner, '{ product(upc: "1") { reviews { body } } }')
