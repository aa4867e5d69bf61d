"""The "catalog" test federation: books and their reviews, weighed with @cost and @listSize.

``books`` serves the books (lists sized by an assumed size, by a slicing argument, by a
parent's sized field), ``reviews`` adds each book's reviews (a list sized by its ``first``
argument) and a summary that @requires the title. The lists are as long as the data makes
them, not as long as the directives assume, so an estimate and the actual cost differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.gateway.subgraph import TestSubgraph

SDL = Path(__file__).parent / "sdl" / "catalog"

BOOKS = [
    {"id": "b1", "title": "Dune", "genre": "FICTION", "price": "9.90",
     "author": {"name": "Frank Herbert"},
     "publisher": {"name": "Chilton", "address": {"zipCode": 19106}}},
    {"id": "b2", "title": "Cosmos", "genre": "SCIENCE", "price": "12.00",
     "author": {"name": "Carl Sagan"},
     "publisher": {"name": "Random House", "address": {"zipCode": 10019}}},
    {"id": "b3", "title": "Solaris", "genre": "FICTION", "price": "8.50",
     "author": {"name": "Stanislaw Lem"}, "publisher": None},
]
REVIEWS = {"b1": [{"body": "Spice", "stars": 5}, {"body": "Long", "stars": 3}],
           "b2": [{"body": "Stars", "stars": 4}]}


def _sdl(name: str) -> str:
    return (SDL / f"{name}.graphql").read_text(encoding="utf-8")


def _book(book_id: str) -> dict[str, Any] | None:
    return next((b for b in BOOKS if b["id"] == book_id), None)


def build() -> dict[str, TestSubgraph]:
    """Fresh subgraphs (the data is never changed)."""
    books = TestSubgraph("books", _sdl("books"), resolvers={"Query": {
        "book": lambda _r, _i, id: _book(id),  # noqa: A006
        "bestsellers": lambda *_: BOOKS[:2],
        "newestAdditions": lambda _r, _i, limit, after=None: BOOKS[:limit],
        "search": lambda _r, _i, **_: {"items": BOOKS, "total": len(BOOKS)},
        "shelf": lambda _r, _i, first=4: {"books": BOOKS[:first]},
        "rating": lambda _r, _i, stars=None: stars,
        "genres": lambda *_: ["FICTION", "SCIENCE"],
    }, "Mutation": {
        "addBook": lambda _r, _i, input: {"id": "new", "genre": None, "price": None,  # noqa: A006
                                          "author": None, "publisher": None, **input},
    }}, references={"Book": lambda rep: _book(rep["id"])})
    reviews = TestSubgraph("reviews", _sdl("reviews"), resolvers={"Book": {
        "reviews": lambda book, _i, first=3: REVIEWS.get(book["id"], [])[:first],
        "summary": lambda book, *_: f"{book['title']}, reviewed",
    }}, references={"Book": lambda rep: rep})
    return {"books": books, "reviews": reviews}
