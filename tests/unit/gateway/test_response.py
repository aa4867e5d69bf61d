"""Shaping merged data into the client's response: order, nulls that bubble, type errors.

The merged data is written by hand here, as the executor would leave it after a subgraph
answered badly, so each rule of the GraphQL spec's value completion is checked directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType

from crossdock.gateway.engine import Gateway
from crossdock.gateway.supergraph import load_supergraph

SUPERGRAPHS = Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs"


@pytest.fixture(scope="module")
def shop() -> Gateway:
    return Gateway(load_supergraph(SUPERGRAPHS / "shop.graphql"), client=None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def media() -> Gateway:
    return Gateway(load_supergraph(SUPERGRAPHS / "media.graphql"), client=None)  # type: ignore[arg-type]


def shape(gateway: Gateway, query: str, data: dict[str, Any],
          errors: list[dict[str, Any]] | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """The shaped data and the errors, as ``Gateway.execute`` would answer them."""
    errors = [] if errors is None else errors
    prepared = gateway.prepare(query, None, {})
    root = gateway.schema.query_type
    assert isinstance(root, GraphQLObjectType)
    return prepared.shaping.root(root, prepared.operation.selection_set, data, errors), errors


def test_fields_follow_the_selection_and_helper_fields_disappear(shop: Gateway) -> None:
    data = {"product": {"__typename": "Product", "upc": "1", "sku": "s", "name": "Table",
                        "price": 10, "weight": 2}}
    shaped, errors = shape(shop, '{ product(upc: "1") { name t: __typename upc } }', data)
    assert list(shaped["product"]) == ["name", "t", "upc"]
    assert shaped == {"product": {"name": "Table", "t": "Product", "upc": "1"}}
    assert errors == []


def test_a_null_non_null_leaf_nulls_its_nullable_parent(shop: Gateway) -> None:
    data = {"product": {"name": "Table", "inStock": None}, "me": {"id": "u1"}}
    shaped, errors = shape(shop, '{ product(upc: "1") { name inStock } me { id } }', data)
    assert shaped == {"product": None, "me": {"id": "u1"}}
    assert errors == [{"message": "Cannot return null for non-nullable field Product.inStock.",
                       "path": ["product", "inStock"]}]


def test_nulls_bubble_through_non_null_lists_up_to_the_root(shop: Gateway) -> None:
    data = {"products": [{"upc": "1"}, {"upc": None}], "me": None}
    shaped, errors = shape(shop, "{ me { id } products { upc } }", data)
    assert shaped is None
    assert errors == [{"message": "Cannot return null for non-nullable field Product.upc.",
                       "path": ["products", 1, "upc"]}]


def test_bubbling_stops_at_a_nullable_object_inside_a_list(shop: Gateway) -> None:
    data = {"topReviews": [{"body": "a", "author": {"username": None}},
                           {"body": "b", "author": {"username": "ann"}}]}
    shaped, errors = shape(shop, "{ topReviews { body author { username } } }", data)
    assert shaped == {"topReviews": [{"body": "a", "author": None},
                                     {"body": "b", "author": {"username": "ann"}}]}
    assert errors[0]["path"] == ["topReviews", 0, "author", "username"]


def test_an_earlier_error_is_not_repeated_as_a_null_error(shop: Gateway) -> None:
    earlier = [{"message": "Failed to fetch from subgraph 'inventory'", "path": ["product"]}]
    data = {"product": {"name": "Table", "inStock": None}}
    shaped, errors = shape(shop, '{ product(upc: "1") { name inStock } }', data, earlier)
    assert shaped == {"product": None}
    assert errors == [{"message": "Failed to fetch from subgraph 'inventory'",
                       "path": ["product"]}]


def test_values_of_the_wrong_kind_are_errors(shop: Gateway) -> None:
    data = {"product": {"name": "Table", "reviews": {"id": "r1"}, "warehouse": ["w1"]}}
    shaped, errors = shape(
        shop, '{ product(upc: "1") { warehouse { id } name reviews { id } } }', data)
    assert shaped == {"product": None}
    assert errors == [
        {"message": "Expected an object for Product.warehouse.", "path": ["product", "warehouse"]},
        {"message": "Expected a list for Product.reviews.", "path": ["product", "reviews"]},
    ]


def test_abstract_values_take_the_fields_of_their_runtime_type(media: Gateway) -> None:
    data = {"feed": [{"__typename": "Movie", "title": "Up", "minutes": 96},
                     {"__typename": "Book", "title": "Dune", "pages": 412}]}
    query = "{ feed { __typename ... on Book { title pages } ... on Movie { minutes } } }"
    shaped, errors = shape(media, query, data)
    assert shaped == {"feed": [{"__typename": "Movie", "minutes": 96},
                               {"__typename": "Book", "title": "Dune", "pages": 412}]}
    assert errors == []


def test_an_interface_object_answer_keeps_the_interface_fields(media: Gateway) -> None:
    data = {"topRated": [{"__typename": "Media", "id": "m1", "rating": 5}]}
    shaped, errors = shape(media, "{ topRated { id rating } }", data)
    assert shaped == {"topRated": [{"id": "m1", "rating": 5}]}
    assert errors == []


def test_an_unknown_runtime_type_is_an_error(media: Gateway) -> None:
    data = {"media": [{"__typename": "Song", "id": "s1"}]}
    shaped, errors = shape(media, "{ media { id } }", data)
    assert shaped is None
    assert errors == [{"message": "Abstract type \"Media\" resolved to an unknown type 'Song'.",
                       "path": ["media", 0]}]


def test_a_missing_runtime_type_is_a_null_error(media: Gateway) -> None:
    shaped, errors = shape(media, "{ media { id } }", {"media": [{"id": "s1"}]})
    assert shaped is None
    assert errors == [{"message": "Cannot return null for non-nullable field Query.media.",
                       "path": ["media", 0]}]
