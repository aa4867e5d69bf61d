"""@requires, @provides, @external, @shareable, @override and @inaccessible end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import INTROSPECTION, running

if TYPE_CHECKING:
    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio


async def test_requires_sends_the_required_fields_in_the_representation(
        shop: Federation) -> None:
    result = await shop.query("{ products { name shippingEstimate } }")
    assert result == {"data": {"products": [
        {"name": "Table", "shippingEstimate": 50},
        {"name": "Couch", "shippingEstimate": 0},
        {"name": "Chair", "shippingEstimate": 25},
    ]}}
    (call,) = shop.subgraphs["inventory"].entity_calls()
    assert call[0] == {"__typename": "Product", "sku": "S1", "variant": {"id": "v1"},
                       "price": 899, "weight": 100}


async def test_requires_on_a_field_with_arguments_and_variables(shop: Federation) -> None:
    result = await shop.query(
        'query($zip: String!) { product(upc: "2") { deliveryDays(zip: $zip) } }',
        {"zip": "69001"})
    assert result == {"data": {"product": {"deliveryDays": 15}}}


async def test_provides_is_served_by_the_providing_subgraph(shop: Federation) -> None:
    result = await shop.query("{ topReviews(first: 1) { author { username } } }")
    assert result == {"data": {"topReviews": [{"author": {"username": "ada@reviews"}}]}}
    assert shop.subgraphs["accounts"].requests == []


async def test_field_outside_provides_goes_to_its_owner(shop: Federation) -> None:
    result = await shop.query("{ topReviews(first: 1) { author { username name } } }")
    assert result == {"data": {"topReviews": [
        {"author": {"username": "ada@reviews", "name": "Ada Lovelace"}}]}}


async def test_shareable_field_stays_in_the_current_subgraph(shop: Federation) -> None:
    result = await shop.query("{ me { username } }")
    assert result == {"data": {"me": {"username": "ada"}}}
    assert shop.subgraphs["reviews"].requests == []


async def test_override_moves_the_field_to_the_overriding_subgraph(shop: Federation) -> None:
    result = await shop.query("{ users { reviewCount } }")
    assert result == {"data": {"users": [{"reviewCount": 2}, {"reviewCount": 1}]}}


async def test_inaccessible_field_is_not_in_introspection() -> None:
    async with running("shop", shop_subgraphs.build(), config=INTROSPECTION) as shop:
        result = await shop.query('{ __type(name: "Product") { fields { name } } }')
    names = {f["name"] for f in result["data"]["__type"]["fields"]}
    assert "internalCode" not in names
    assert {"upc", "name", "shippingEstimate", "reviews"} <= names


async def test_inaccessible_field_is_refused_in_an_operation(shop: Federation) -> None:
    response = await shop.post("{ products { internalCode } }")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "internalCode" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert shop.subgraphs["products"].requests == []


async def test_federation_internals_are_not_exposed() -> None:
    async with running("shop", shop_subgraphs.build(), config=INTROSPECTION) as shop:
        result = await shop.query("{ __schema { types { name } directives { name } } }")
    types = {t["name"] for t in result["data"]["__schema"]["types"]}
    directives = {d["name"] for d in result["data"]["__schema"]["directives"]}
    assert not any(t.startswith(("join__", "link__", "_")) and not t.startswith("__")
                   for t in types)
    assert "join__field" not in directives
    assert "link" not in directives
