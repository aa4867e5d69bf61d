"""Interfaces and unions across subgraphs, @interfaceObject, enum and input intersection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.gateway import media as media_subgraphs
from tests.integration.gateway.federation import INTROSPECTION, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio


@pytest.fixture
async def media() -> AsyncIterator[Federation]:
    async with running("media", media_subgraphs.build()) as federation:
        yield federation


async def test_interface_fields_and_type_conditions_across_subgraphs(media: Federation) -> None:
    result = await media.query(
        "{ media { __typename title ... on Book { pages author } ... on Movie { minutes } } }")
    assert result == {"data": {"media": [
        {"__typename": "Book", "title": "Dune", "pages": 412, "author": "Frank Herbert"},
        {"__typename": "Movie", "title": "Alien", "minutes": 117},
        {"__typename": "Book", "title": "Cosmos", "pages": 396, "author": "Carl Sagan"},
    ]}}
    # Only the books were sent to the subgraph that knows only books.
    assert media.subgraphs["extras"].entity_calls() == [
        [{"__typename": "Book", "id": "b1"}, {"__typename": "Book", "id": "b2"}]]


async def test_union_members_with_fragments(media: Federation) -> None:
    result = await media.query("""{ feed { ... on Book { id author } ...M } }
        fragment M on Movie { id minutes }""")
    assert result == {"data": {"feed": [
        {"id": "b1", "author": "Frank Herbert"}, {"id": "m1", "minutes": 117},
        {"id": "b2", "author": "Carl Sagan"}]}}


async def test_interface_object_field_is_fetched_on_the_interface(media: Federation) -> None:
    result = await media.query("{ media { id rating } }")
    assert result == {"data": {"media": [{"id": "b1", "rating": 5}, {"id": "m1", "rating": 4},
                                         {"id": "b2", "rating": 3}]}}
    (call,) = media.subgraphs["ratings"].entity_calls()
    assert {rep["__typename"] for rep in call} == {"Media"}


async def test_interface_object_root_field_needs_no_concrete_type_for_own_fields(
        media: Federation) -> None:
    result = await media.query("{ topRated { id rating } }")
    assert result["data"]["topRated"][0] == {"id": "b1", "rating": 5}
    assert media.subgraphs["catalog"].requests == []


async def test_interface_object_concrete_type_is_resolved_by_the_owner(
        media: Federation) -> None:
    result = await media.query(
        "{ topRated(filter: {min: 4}) { __typename rating title ... on Movie { minutes } "
        "... on Book { author } } }")
    assert result == {"data": {"topRated": [
        {"__typename": "Book", "rating": 5, "title": "Dune", "author": "Frank Herbert"},
        {"__typename": "Movie", "rating": 4, "title": "Alien", "minutes": 117},
    ]}}


async def test_enum_values_are_the_intersection_for_inputs() -> None:
    async with running("media", media_subgraphs.build(), config=INTROSPECTION) as media:
        result = await media.query('{ __type(name: "Genre") { enumValues { name } } }')
        ok = await media.query("{ byGenre(genre: SCIENCE) { title } }")
        refused = await media.post("{ byGenre(genre: HISTORY) { title } }")
    assert result == {"data": {"__type": {"enumValues": [{"name": "FICTION"},
                                                         {"name": "SCIENCE"}]}}}
    assert ok == {"data": {"byGenre": [{"title": "Cosmos"}]}}
    assert refused.status_code == 400
    assert "HISTORY" in refused.json()["errors"][0]["message"]


async def test_input_object_fields_are_the_intersection(media: Federation) -> None:
    ok = await media.query("{ byGenre(genre: FICTION, filter: {min: 5}) { title } }")
    assert ok == {"data": {"byGenre": [{"title": "Dune"}]}}
    refused = await media.post('{ topRated(filter: {source: "x"}) { id } }')
    assert refused.status_code == 400
    assert "source" in refused.json()["errors"][0]["message"]
    assert media.subgraphs["ratings"].requests == []


async def test_variables_of_intersected_input_types_are_checked(media: Federation) -> None:
    refused = await media.post("query($f: RatingFilter) { topRated(filter: $f) { id } }",
                               {"f": {"genre": "FICTION"}})
    assert refused.status_code == 400
    ok = await media.query("query($f: RatingFilter) { topRated(filter: $f) { id } }",
                           {"f": {"min": 5}})
    assert ok == {"data": {"topRated": [{"id": "b1"}]}}
