"""What narrows the admin graph's list of deliveries: filters that each have an index, and a
search by id.

A search is our delivery id (``#123``, or ``123``, which may also be a provider's id) or a
provider's delivery id, matched exactly: both are indexed. Bodies and headers are never
searched (that would need a full-text index over what senders send, which nothing asks for
yet). A value that cannot mean anything (an empty search, ``#abc``, a time without its zone,
an empty range) is refused with :class:`InvalidInput`, never answered with an empty page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from crossdock.core.sql import load_queries
from crossdock.webhooks.errors import InvalidInput
from crossdock.webhooks.operations import MAX_ID

if TYPE_CHECKING:
    from collections.abc import Sequence

    from crossdock.core.admin_graph.context import AdminContext

_queries = load_queries("crossdock.webhooks", "admin_graph.sql")

#: A provider's delivery id is one header's value; a longer search is not one.
MAX_SEARCH = 200
_NUMBER = re.compile(r"[0-9]{1,19}")


@dataclasses.dataclass(frozen=True, slots=True)
class Search:
    """What a search names: our delivery id, a provider's delivery id, or both."""

    id: int | None
    provider_id: str | None


def parse_search(text: str) -> Search:
    """The ids a search names; :class:`InvalidInput` when it names none."""
    value = text.strip()
    if not value:
        raise InvalidInput("search is a delivery id (#123) or a provider's delivery id, "
                           "not empty")
    if len(value) > MAX_SEARCH:
        raise InvalidInput(f"search is at most {MAX_SEARCH} characters (a delivery id), "
                           f"not {len(value)}")
    if value.startswith("#"):
        number = _id(value[1:])
        if number is None:
            raise InvalidInput(f"{value!r} is not a delivery id: # comes before a whole number "
                               f"from 1 to {MAX_ID}")
        return Search(id=number, provider_id=None)
    return Search(id=_id(value), provider_id=value)


def _id(text: str) -> int | None:
    if not _NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


def _zoned(value: dt.datetime | None, name: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} needs a time zone (as in 2026-01-31T12:00:00Z), "
                           f"not {value.isoformat()}")
    return value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFilter:
    """The ``deliveries`` field's arguments that narrow the list; all must hold."""

    status: str | None = None
    source: str | None = None
    event_type: str | None = None
    received_after: dt.datetime | None = None
    received_before: dt.datetime | None = None
    search: str | None = None

    def checked(self) -> DeliveryFilter:
        """This filter when every value can match something; else :class:`InvalidInput`."""
        if self.event_type is not None and not self.event_type.strip():
            raise InvalidInput("eventType is an event type (push, issues, ...), not empty")
        after = _zoned(self.received_after, "receivedAfter")
        before = _zoned(self.received_before, "receivedBefore")
        if after is not None and before is not None and after >= before:
            raise InvalidInput(f"receivedAfter ({after.isoformat()}) must come before "
                               f"receivedBefore ({before.isoformat()})")
        return self


async def delivery_rows(context: AdminContext, where: DeliveryFilter, *, limit: int,
                        position: Sequence[Any] | None) -> list[dict[str, Any]]:
    """Up to ``limit`` deliveries that ``where`` lets through, newest first, after
    ``position`` (a cursor's ``[received_at, id]``)."""
    where = where.checked()
    ids = None
    if where.search is not None:
        search = parse_search(where.search)
        found = await context.rows(_queries["deliveries_search"], {
            "id": search.id, "provider_id": search.provider_id})
        ids = [row["id"] for row in found]
        if not ids:
            return []
    return await context.rows(_queries["deliveries_page"], {
        "ids": ids, "status": where.status, "source": where.source,
        "event_type": where.event_type, "received_after": where.received_after,
        "received_before": where.received_before,
        "after_at": position[0] if position else None,
        "after_id": position[1] if position else None, "limit": limit})
