"""The "media" test federation: interfaces, unions, @interfaceObject, enum and input intersection.

catalog owns the Media interface (an entity interface) with Book and Movie, and a Feed
union; ratings adds ``rating`` to every Media as an @interfaceObject and has its own root
field returning Media; extras adds ``author`` to Book only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.gateway.subgraph import TestSubgraph

SDL = Path(__file__).parent / "sdl" / "media"

ITEMS = [
    {"__typename": "Book", "id": "b1", "title": "Dune", "pages": 412, "genre": "FICTION"},
    {"__typename": "Movie", "id": "m1", "title": "Alien", "minutes": 117, "genre": "FICTION"},
    {"__typename": "Book", "id": "b2", "title": "Cosmos", "pages": 396, "genre": "SCIENCE"},
]
RATINGS = {"b1": 5, "m1": 4, "b2": 3}
AUTHORS = {"b1": "Frank Herbert", "b2": "Carl Sagan"}


def _sdl(name: str) -> str:
    return (SDL / f"{name}.graphql").read_text(encoding="utf-8")


def _item(id_: str) -> dict[str, Any] | None:
    return next((dict(i) for i in ITEMS if i["id"] == id_), None)


def build() -> dict[str, TestSubgraph]:
    """Fresh subgraphs of the media federation."""
    catalog = TestSubgraph("catalog", _sdl("catalog"), resolvers={"Query": {
        "media": lambda *_: [dict(i) for i in ITEMS],
        "feed": lambda *_: [dict(i) for i in ITEMS],
        "byGenre": lambda _r, _i, genre, filter=None: [  # noqa: A006
            dict(i) for i in ITEMS if i["genre"] == genre
            and (not filter or RATINGS[i["id"]] >= (filter.get("min") or 0))],
    }}, references={
        # The entity interface resolves a Media representation to its concrete type.
        "Media": lambda rep: _item(rep["id"]),
        "Book": lambda rep: _item(rep["id"]),
        "Movie": lambda rep: _item(rep["id"]),
    })

    def top_rated(_root: Any, _info: Any, filter: dict[str, Any] | None = None) -> list[Any]:  # noqa: A002
        least = (filter or {}).get("min") or 0
        ranked = sorted(RATINGS.items(), key=lambda kv: -kv[1])
        # An @interfaceObject knows no concrete type: it answers with the interface name.
        return [{"__typename": "Media", "id": id_, "rating": r} for id_, r in ranked
                if r >= least]

    ratings = TestSubgraph("ratings", _sdl("ratings"), resolvers={
        "Query": {"topRated": top_rated},
    }, references={"Media": lambda rep: {"__typename": "Media", "id": rep["id"],
                                         "rating": RATINGS[rep["id"]]}})
    extras = TestSubgraph("extras", _sdl("extras"), resolvers={}, references={
        "Book": lambda rep: {"id": rep["id"], "author": AUTHORS[rep["id"]]}})
    return {"catalog": catalog, "ratings": ratings, "extras": extras}
