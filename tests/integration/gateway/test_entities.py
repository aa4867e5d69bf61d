"""Entities across subgraphs: keys of every kind, null keys and null entities, batching."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio


async def test_single_key_entity_fields_come_from_each_subgraph(shop: Federation) -> None:
    result = await shop.query("{ topReviews(first: 3) { body product { name price } } }")
    assert result == {"data": {"topReviews": [
        {"body": "Love it", "product": {"name": "Table", "price": 899}},
        {"body": "Too heavy", "product": {"name": "Couch", "price": 1299}},
        {"body": "Sturdy", "product": {"name": "Couch", "price": 1299}},
    ]}}


async def test_compound_key_reaches_the_inventory(shop: Federation) -> None:
    result = await shop.query('{ product(upc: "3") { name inStock } }')
    assert result == {"data": {"product": {"name": "Chair", "inStock": True}}}
    (call,) = shop.subgraphs["inventory"].entity_calls()
    assert call == [{"__typename": "Product", "sku": "S3", "variant": {"id": "v2"}}]


async def test_second_key_of_an_entity_is_used_when_it_is_the_one_available(
        shop: Federation) -> None:
    result = await shop.query("{ me { email reviews { body } } }")
    assert result == {"data": {"me": {"email": "ada@example.com",
                                      "reviews": [{"body": "Love it"}, {"body": "Sturdy"}]}}}


async def test_non_resolvable_key_is_resolved_by_the_owning_subgraph(shop: Federation) -> None:
    result = await shop.query('{ product(upc: "1") { warehouse { id city } } }')
    assert result == {"data": {"product": {"warehouse": {"id": "w1", "city": "Lyon"}}}}


async def test_null_reference_stays_null_and_is_not_sent(shop: Federation) -> None:
    result = await shop.query('{ product(upc: "2") { warehouse { city } } }')
    assert result == {"data": {"product": {"warehouse": None}}}
    assert shop.subgraphs["products"].entity_calls() == []


async def test_entity_that_no_subgraph_finds_is_null(shop: Federation) -> None:
    result = await shop.query("{ topReviews(first: 4) { id product { name } } }")
    reviews = result["data"]["topReviews"]
    assert reviews[3] == {"id": "r4", "product": None}
    assert [r["product"]["name"] for r in reviews[:3]] == ["Table", "Couch", "Couch"]


async def test_representations_are_batched_and_deduplicated(shop: Federation) -> None:
    await shop.query("{ topReviews(first: 3) { product { name } } }")
    calls = shop.subgraphs["products"].entity_calls()
    assert calls == [[{"__typename": "Product", "upc": "1"},
                      {"__typename": "Product", "upc": "2"}]]


async def test_nested_lists_across_three_subgraphs(shop: Federation) -> None:
    result = await shop.query(
        "{ users { username reviews { product { name inStock } } } }")
    assert result == {"data": {"users": [
        {"username": "ada", "reviews": [{"product": {"name": "Table", "inStock": True}},
                                        {"product": {"name": "Couch", "inStock": False}}]},
        {"username": "alan", "reviews": [{"product": {"name": "Couch", "inStock": False}}]},
    ]}}
