"""Sources in the webhooks admin subgraph: each source with its body limit, retry schedule and
routes, and the mutations that add a source, change its limits, rotate its secrets and remove
it.

Every change goes through :mod:`.operations`, as the CLI's and the JSON API's do: a source is
built and checked by :func:`.operations.build_source` whichever door it came through, so a
short secret or a bad schedule is refused with the same line everywhere. Secrets are only ever
shown as references (``env:NAME``) or ``literal:***``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.backoff import Backoff
from crossdock.core.sql import load_queries
from crossdock.webhooks import operations
from crossdock.webhooks.errors import InvalidInput
from crossdock.webhooks.models import Source as SourceRow
from crossdock.webhooks.providers import PROVIDERS
from crossdock.webhooks.secrets import describe

_queries = load_queries("crossdock.webhooks", "admin_graph.sql")


@strawberry.type(description="A routing rule: which handler runs on which of a source's events.")
class Route:
    id: strawberry.ID
    source: str
    handler: str
    #: None: any event type.
    event_type: str | None
    #: None: any action.
    action: str | None
    #: Each filter as ``{"path", "op", "value"}``; all must match.
    filters: JSON
    config: JSON
    position: int


@strawberry.type(description=(
    "When a failed delivery is tried again: up to maxTries tries in all (the first included),"
    " waiting baseSeconds after the first failure, twice as long after each next one, never"
    " more than maxSeconds (each wait jittered by a fifth); after the last try it is dead."))
class Retry:
    max_tries: int
    base_seconds: float
    max_seconds: float


@strawberry.input(description=(
    "A retry schedule, or the parts of one to change (a part left out keeps its value, or"
    " the default: 8 tries, 5 s, 3600 s)."))
class RetryInput:
    max_tries: int | None = None
    base_seconds: float | None = None
    max_seconds: float | None = None

    def given(self) -> dict[str, float]:
        """The parts given, by the names :class:`Backoff` and ``operations`` use."""
        values = {"max_tries": self.max_tries, "base_seconds": self.base_seconds,
                  "max_seconds": self.max_seconds}
        return {key: value for key, value in values.items() if value is not None}


@strawberry.type(description="Where deliveries come from: a provider and its secrets.")
class Source:
    name: str
    provider: str
    #: Each secret as it may be shown: ``env:NAME``, or ``literal:***``.
    secrets: list[str]
    #: A larger body is refused (413) and never stored.
    max_body_bytes: int
    retry_max_tries: int
    retry: Retry
    created_at: dt.datetime | None

    @strawberry.field(description="The source's routing rules, in the order they are tried.")
    async def routes(self, info: strawberry.Info) -> list[Route]:
        return await _routes(context_of(info), self.name)


def source_of(source: SourceRow) -> Source:
    """A stored source as the graph shows it: never a secret's value."""
    return Source(name=source.name, provider=source.provider,
                  secrets=[describe(secret) for secret in source.secrets],
                  max_body_bytes=source.max_body_bytes, retry_max_tries=source.retry.max_tries,
                  retry=Retry(max_tries=source.retry.max_tries,
                              base_seconds=source.retry.base_seconds,
                              max_seconds=source.retry.max_seconds),
                  created_at=source.created_at)


def route_of(row: dict[str, Any]) -> Route:
    """A ``webhooks_routes`` row as the graph shows it."""
    return Route(id=strawberry.ID(str(row["id"])), source=row["source"], handler=row["handler"],
                 event_type=row["event_type"], action=row["action"],
                 filters=JSON(row["filters"]), config=JSON(row["config"]),
                 position=row["position"])


async def _routes(context: AdminContext, source: str) -> list[Route]:
    async def batch(names: Sequence[str]) -> list[list[Route]]:
        found: dict[str, list[Route]] = {name: [] for name in names}
        for row in await context.rows(_queries["routes"], {"sources": list(names)}):
            found[row["source"]].append(route_of(row))
        return [found[name] for name in names]

    return await context.loader("routes", batch).load(source)


@strawberry.type
class SourceQuery:
    @strawberry.field(description="The providers a source can have (addSource's provider).")
    def providers(self) -> list[str]:
        return list(PROVIDERS)


@strawberry.type
class SourceMutation:
    @strawberry.mutation(description=(
        "Add a source: deliveries are then received at POST /webhooks/NAME. provider is"
        " github, gitlab, bitbucket, standard or hmac (options only for hmac); each secret is"
        " env:NAME (read where the source is loaded) or the value itself, 16 bytes or more"
        " (standard: a whsec_ or whpk_ key). maxBodyBytes and retry default to 25 MiB and 8"
        " tries."))
    async def add_source(self, info: strawberry.Info, name: str, provider: str,
                         secrets: list[str], options: JSON | None = None,
                         max_body_bytes: int | None = None,
                         retry: RetryInput | None = None) -> Source:
        source = operations.build_source(
            name, provider, secrets,
            # Any JSON value: build_source refuses what is not an object.
            options=cast("dict[str, Any] | None", options), max_body_bytes=max_body_bytes,
            retry=Backoff(**retry.given()) if retry else None)  # type: ignore[arg-type]
        return source_of(await operations.add_source(context_of(info).runtime.database, source))

    @strawberry.mutation(description=(
        "Change a source's body limit or retry schedule; what is not given stays as it is"
        " (retry too, part by part). Deliveries already waiting keep the wait they were given."))
    async def update_source(self, info: strawberry.Info, name: str,
                            max_body_bytes: int | None = None,
                            retry: RetryInput | None = None) -> Source:
        changed = await operations.update_source(
            context_of(info).runtime.database, name, max_body_bytes=max_body_bytes,
            retry=retry.given() if retry else None)
        return source_of(changed)

    @strawberry.mutation(description=(
        "Rotate a source's secrets: add the new one, then (once senders use it) remove the old;"
        " while both are there, either verifies. removeOthers removes every secret but the"
        " added ones (a literal secret is only ever shown as literal:***)."))
    async def update_source_secrets(self, info: strawberry.Info, source: str,
                                    add: list[str] | None = None,
                                    remove: list[str] | None = None,
                                    remove_others: bool = False) -> Source:
        changed = await operations.update_source(
            context_of(info).runtime.database, source, add_secrets=add or (),
            remove_secrets=remove or (), remove_others=remove_others)
        return source_of(changed)

    @strawberry.mutation(description=(
        "Remove a source with its routes AND ITS DELIVERIES (bodies and attempts too: they"
        " cannot be replayed after); confirm must be the source's name again. The number of"
        " deliveries removed."))
    async def remove_source(self, info: strawberry.Info, name: str, confirm: str) -> int:
        if confirm != name:
            raise InvalidInput(f"type the source's name {name!r} as confirm to remove it with "
                               "its deliveries")
        return await operations.remove_source(context_of(info).runtime.database, name)
