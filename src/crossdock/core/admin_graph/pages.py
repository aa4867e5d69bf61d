"""Relay cursor connections over keyset pages (newest first).

A page is read with ``LIMIT first + 1`` after the cursor's position in the index the query
orders by, so page 500 costs what page 1 does (``OFFSET`` would read every row before it). A
cursor is opaque to clients: base64url of the JSON position (``[received_at, id]``, ``[id]``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import orjson
import strawberry

from crossdock.core.errors import AdminGraphError

N = TypeVar("N")

#: How many items one page holds at most, whatever ``first`` asks.
MAX_PAGE = 100


@strawberry.federation.type(shareable=True, description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="An item of a page, with the cursor that points just after it.")
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type(description="A page of a list, newest first (Relay's cursor connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo

    @strawberry.field(description="The page's items, without their cursors.")
    def nodes(self) -> list[N]:
        return [edge.node for edge in self.edges]


def encode_cursor(position: Sequence[Any]) -> str:
    """An opaque cursor for a position in an ordered list."""
    return base64.urlsafe_b64encode(orjson.dumps(list(position))).decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The position of ``cursor`` (``size`` values); None for no cursor."""
    if cursor is None:
        return None
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError) as exc:
        raise AdminGraphError("the cursor is not one this list gave") from exc
    if not isinstance(position, list) or len(position) != size:
        raise AdminGraphError("the cursor is not one this list gave")
    return position


def page_size(first: int) -> int:
    """``first``, checked: between 1 and :data:`MAX_PAGE`."""
    if not 1 <= first <= MAX_PAGE:
        raise AdminGraphError(f"first must be between 1 and {MAX_PAGE}, not {first}")
    return first


def connection(rows: Sequence[Any], first: int, node: Callable[[Any], N],
               position: Callable[[Any], Sequence[Any]]) -> Connection[N]:
    """The page of ``rows`` (read with ``LIMIT first + 1``): ``first`` of them, and whether
    more follow.
    """
    edges = [Edge(cursor=encode_cursor(position(row)), node=node(row)) for row in rows[:first]]
    return Connection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None))
