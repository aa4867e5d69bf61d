"""Operation features: variables, fragments, aliases, @include/@skip, __typename, mutations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio


async def test_aliases_and_field_order_follow_the_operation(shop: Federation) -> None:
    result = await shop.query(
        '{ second: product(upc: "2") { cost: price title: name upc } '
        'first: product(upc: "1") { title: name } }')
    assert result == {"data": {"second": {"cost": 1299, "title": "Couch", "upc": "2"},
                               "first": {"title": "Table"}}}
    assert list(result["data"]) == ["second", "first"]
    assert list(result["data"]["second"]) == ["cost", "title", "upc"]


async def test_same_field_under_two_aliases_with_other_fields(shop: Federation) -> None:
    result = await shop.query(
        '{ product(upc: "1") { a: deliveryDays(zip: "1") b: deliveryDays(zip: "12345") } }')
    assert result == {"data": {"product": {"a": 2, "b": 6}}}


async def test_fragments_named_and_inline(shop: Federation) -> None:
    result = await shop.query("""
        query { product(upc: "1") { ...Basics ... on Product { inStock } } }
        fragment Basics on Product { name reviews { body } }""")
    assert result == {"data": {"product": {"name": "Table", "reviews": [{"body": "Love it"}],
                                           "inStock": True}}}


@pytest.mark.parametrize(("flag", "expected"), [
    (True, {"name": "Table", "inStock": True}),
    (False, {"name": "Table"}),
])
async def test_include_and_skip_follow_variables(shop: Federation, flag: bool,
                                                 expected: dict[str, object]) -> None:
    result = await shop.query(
        'query($on: Boolean!) { product(upc: "1") { name inStock @include(if: $on) '
        'price @skip(if: true) } }', {"on": flag})
    assert result == {"data": {"product": expected}}
    assert len(shop.subgraphs["inventory"].requests) == (1 if flag else 0)


async def test_typename_is_answered_everywhere(shop: Federation) -> None:
    result = await shop.query('{ __typename product(upc: "1") { __typename t: __typename } }')
    assert result == {"data": {"__typename": "Query",
                               "product": {"__typename": "Product", "t": "Product"}}}


async def test_variables_with_defaults_and_input_objects(shop: Federation) -> None:
    result = await shop.query(
        "mutation($input: ProductInput!) { addProduct(input: $input) { upc weight } }",
        {"input": {"upc": "9", "name": "Lamp", "price": 30}})
    assert result == {"data": {"addProduct": {"upc": "9", "weight": 1}}}


async def test_mutations_run_in_order_across_subgraphs(shop: Federation) -> None:
    result = await shop.query("""mutation {
        first: addReview(upc: "1", body: "one") { id }
        rename(id: "u1", name: "Countess") { name }
        second: addReview(upc: "3", body: "two") { id product { name } }
        me: rename(id: "u1", name: "Ada") { name reviews { body } }
    }""")
    assert result == {"data": {
        "first": {"id": "r5"},
        "rename": {"name": "Countess"},
        "second": {"id": "r6", "product": {"name": "Chair"}},
        "me": {"name": "Ada", "reviews": [{"body": "Love it"}, {"body": "Sturdy"},
                                          {"body": "one"}, {"body": "two"}]},
    }}


async def test_operation_name_picks_the_operation(shop: Federation) -> None:
    document = 'query A { me { id } } query B { product(upc: "3") { name } }'
    result = await shop.query(document, operation_name="B")
    assert result == {"data": {"product": {"name": "Chair"}}}
