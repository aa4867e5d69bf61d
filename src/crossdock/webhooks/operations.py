"""What the CLI and the admin API both offer, on an open database and job queue."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from crossdock.core.backoff import Backoff
from crossdock.core.database import Database
from crossdock.webhooks import processing, store
from crossdock.webhooks.errors import (
    InvalidInput,
    InvalidRoute,
    InvalidSource,
    NotReplayable,
    RouteError,
    SourceError,
)
from crossdock.webhooks.handlers import handler_names
from crossdock.webhooks.models import (
    DeliveryStatus,
    Route,
    Source,
    check_secret,
)
from crossdock.webhooks.outbound.forwarding import check_config as check_forward_config
from crossdock.webhooks.outbound.store import OutboundStore
from crossdock.webhooks.providers import make_provider
from crossdock.webhooks.routing import parse_filter
from crossdock.webhooks.secrets import describe
from crossdock.webhooks.settings import DEFAULT_MAX_BODY_BYTES

#: The demo source's secret: ``crossdock up`` is for a newcomer's machine, not production.
DEMO_SECRET = "crossdock-demo-secret"  # noqa: S105


#: A source's name, as the ``webhooks_sources_name_check`` constraint has it (a test holds the
#: two to the same answers): it is a path segment of ``POST /webhooks/NAME``.
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: The largest value of the PostgreSQL ``integer`` columns (body limit, tries, position).
MAX_INTEGER = 2**31 - 1
#: More tries than this is a mistake, not a schedule (at the default hour's cap, 41 days).
MAX_TRIES = 1000
#: A delay that grows more than tenfold each try is a mistake.
MAX_FACTOR = 10
#: Deliveries' ids are ``bigint``.
MAX_ID = 2**63 - 1
#: Pruning further back than this is a mistake (a date before the deliveries could exist).
MAX_PRUNE_DAYS = 100 * 365


def check_source_name(name: str) -> str:
    """``name`` when the database takes it as a source's name; else :class:`InvalidSource`."""
    if not SOURCE_NAME.fullmatch(name):
        raise InvalidSource(f"invalid source name {name!r}: use letters, digits, '.', '_' and "
                            "'-', starting with a letter or digit")
    return name


def check_retry(retry: Backoff) -> Backoff:
    """``retry`` when it is a schedule a delivery can run on; else :class:`InvalidSource`."""
    tries = retry.max_tries
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= MAX_TRIES:
        raise InvalidSource(f"retry max_tries must be a whole number from 1 to {MAX_TRIES} "
                            f"(tries in all, the first included), not {tries!r}")
    for field in ("base_seconds", "max_seconds"):
        value = getattr(retry, field)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value <= 0:
            raise InvalidSource(f"retry {field} must be a positive number of seconds, "
                                f"not {value!r}")
    if isinstance(retry.factor, bool) or not isinstance(retry.factor, int | float) \
            or not 1 <= retry.factor <= MAX_FACTOR:
        raise InvalidSource(f"retry factor must be from 1 to {MAX_FACTOR}, not {retry.factor!r}")
    if isinstance(retry.jitter, bool) or not isinstance(retry.jitter, int | float) \
            or not 0 <= retry.jitter < 1:
        raise InvalidSource(f"retry jitter must be from 0 up to 1, not {retry.jitter!r}")
    if retry.max_seconds < retry.base_seconds:
        raise InvalidSource(f"retry max_seconds ({retry.max_seconds:g}) must not be less than "
                            f"base_seconds ({retry.base_seconds:g})")
    return retry


def _check_max_body_bytes(value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not 1 <= value <= MAX_INTEGER):
        raise InvalidSource(f"max_body_bytes must be from 1 to {MAX_INTEGER}, not {value!r}")


def demo_source() -> Source:
    """The GitHub source ``crossdock up`` creates with demo data."""
    return build_source("demo", "github", [DEMO_SECRET])


#: The body of the demo's first delivery: the ping GitHub sends when a webhook is created.
DEMO_PING = b'{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"Repository"}}'


def demo_delivery() -> dict[str, Any]:
    """The demo source's first delivery, as the receiver stores a verified one: a ping, so that
    the dashboard has a delivery to open and replay before anyone sends one."""
    return {
        "source": "demo", "provider": "github", "provider_delivery_id": "crossdock-up-demo-ping",
        "event_type": "ping", "action": None, "body": DEMO_PING, "body_size": len(DEMO_PING),
        "headers": {"content-type": "application/json", "user-agent": "crossdock up (demo)",
                    "x-github-event": "ping", "x-github-delivery": "crossdock-up-demo-ping",
                    "x-hub-signature-256": "***"},
    }


def build_source(
    name: str,
    provider: str,
    secrets: Sequence[str],
    *,
    options: dict[str, Any] | None = None,
    max_body_bytes: int | None = None,
    retry: Backoff | None = None,
) -> Source:
    """A validated source: its name as the database takes it, provider and options, at least
    one secret, a body limit and a retry schedule that make sense."""
    check_source_name(name)
    if not secrets:
        raise InvalidSource("a source needs at least one --secret (env:NAME or a literal)")
    if options is not None and not isinstance(options, dict):  # JSON from the API or graph
        raise InvalidSource("a source's options must be a JSON object")
    try:
        make_provider(provider, options or {})
    except SourceError as exc:  # an unknown provider or option: what was given is wrong
        raise InvalidSource(str(exc)) from exc
    for secret in secrets:
        check_secret(provider, secret)
    _check_max_body_bytes(max_body_bytes)
    return Source(name=name, provider=provider, secrets=tuple(secrets), options=options or {},
                  max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
                  retry=check_retry(retry or Backoff()))


async def add_source(database: Database, source: Source) -> Source:
    """Store a new source."""
    async with database.transaction() as conn:
        return await store.add_source(conn, source)


async def update_source(
    database: Database,
    name: str,
    *,
    add_secrets: Sequence[str] = (),
    remove_secrets: Sequence[str] = (),
    remove_others: bool = False,
    max_body_bytes: int | None = None,
    retry: Mapping[str, float] | None = None,
) -> Source:
    """Change a source: rotate its secrets, its size limit, its retry schedule.

    ``retry`` changes some of ``max_tries``, ``base_seconds`` and ``max_seconds``.
    ``remove_others`` removes every secret but ``add_secrets`` (whose values a caller that
    was only ever shown ``literal:***`` cannot name).

    A rotation adds the new secret, lets senders move to it, then removes the old one:
    while both are there, either verifies. The receiver sees the change within its source
    cache's lifetime (``CROSSDOCK_WEBHOOKS_SOURCE_CACHE_SECONDS``, 5 s).
    """
    _check_max_body_bytes(max_body_bytes)
    retry = dict(retry or {})
    if set(retry) - _RETRY_FIELDS:
        raise InvalidSource(f"retry takes {', '.join(sorted(_RETRY_FIELDS))}")
    if remove_others and not add_secrets:
        raise InvalidSource("removing the other secrets needs the one to keep: add it")
    async with database.transaction() as conn:
        source = await store.get_source(conn, name, for_update=True)
        if remove_others:
            remove_secrets = [s for s in source.secrets if s not in add_secrets]
        for secret in remove_secrets:
            if secret not in source.secrets:
                shown = describe(secret)  # a literal is never echoed
                raise SourceError(f"source {name!r} has no secret {shown}"
                                  + ("" if shown == secret else " with that value"))
        for secret in add_secrets:
            check_secret(source.provider, secret)
        secrets = [s for s in source.secrets if s not in remove_secrets]
        secrets += [s for s in dict.fromkeys(add_secrets) if s not in secrets]
        if not secrets:
            raise SourceError(f"source {name!r} would have no secret left: add the new one "
                              "before removing the last")
        changed = dataclasses.replace(
            source, secrets=tuple(secrets),
            max_body_bytes=max_body_bytes or source.max_body_bytes,
            retry=check_retry(dataclasses.replace(source.retry, **retry)))  # type: ignore[arg-type]
        await store.update_source(conn, changed)
        return changed


_RETRY_FIELDS = {"max_tries", "base_seconds", "max_seconds"}


async def remove_source(database: Database, name: str) -> int:
    """Delete a source with its routes and deliveries; how many deliveries went."""
    async with database.transaction() as conn:
        return await store.delete_source(conn, name)


async def prune(database: Database, *, older_than_days: float, batch: int = 5000) -> int:
    """Delete finished deliveries received more than ``older_than_days`` ago; how many.

    Deliveries still waiting (received, failed) are never pruned. Each batch is its own
    transaction, so a large backlog does not hold locks or one huge transaction.
    """
    before = _cutoff(older_than_days)

    async def step() -> int:
        async with database.transaction() as conn:
            return await store.prune_deliveries(conn, before=before, limit=batch)

    return await _in_batches(step, batch)


async def prune_messages(database: Database, *, older_than_days: float,
                         batch: int = 5000) -> int:
    """Delete outbound messages sent more than ``older_than_days`` ago whose every
    destination is final (with their attempts); how many. Batched as :func:`prune`."""
    before = _cutoff(older_than_days)
    outbound = OutboundStore(database)
    return await _in_batches(lambda: outbound.prune(before=before, limit=batch), batch)


def _cutoff(older_than_days: float) -> dt.datetime:
    if not 0 <= older_than_days <= MAX_PRUNE_DAYS:  # NaN fails too
        raise InvalidInput(f"the age to prune at must be from 0 to {MAX_PRUNE_DAYS} days, "
                            f"not {older_than_days!r}")
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)


async def _in_batches(step: Callable[[], Awaitable[int]], batch: int) -> int:
    """Run ``step`` (which deletes up to ``batch`` rows) until it deletes fewer; the total."""
    pruned = 0
    while True:
        deleted = await step()
        pruned += deleted
        if deleted < batch:
            return pruned


async def remove_route(database: Database, route_id: int) -> None:
    """Delete a routing rule."""
    async with database.transaction() as conn:
        await store.delete_route(conn, route_id)


async def list_sources(database: Database) -> list[Source]:
    """Every source."""
    async with database.connection() as conn:
        return await store.list_sources(conn)


async def add_route(
    database: Database,
    *,
    source: str,
    handler: str,
    event_type: str | None = None,
    action: str | None = None,
    filters: Sequence[str] = (),
    config: dict[str, Any] | None = None,
    position: int = 0,
) -> Route:
    """Store a routing rule, once its handler is known and its values make sense.

    The handlers known are the built-ins and those the installed services register; ``forward``
    counts only once outbound webhooks register it (its placeholder fails every attempt).
    """
    known = handler_names()
    if handler == "forward" and handler not in known:
        raise InvalidRoute("the forward handler comes with outbound webhooks, which are not "
                           f"installed: the installed services register {', '.join(known)}")
    if handler not in known:
        raise InvalidRoute(f"no handler named {handler!r}: the installed services register "
                           f"{', '.join(known)}")
    if config is not None and not isinstance(config, dict):
        raise InvalidRoute("a route's config must be a JSON object")
    if handler == "forward":
        check_forward_config(config or {})
    if isinstance(position, bool) or not isinstance(position, int) \
            or not -MAX_INTEGER <= position <= MAX_INTEGER:
        raise InvalidRoute(f"position must be a whole number from {-MAX_INTEGER} to "
                           f"{MAX_INTEGER}, not {position!r}")
    try:
        parsed = tuple(parse_filter(f) for f in filters)
    except RouteError as exc:
        raise InvalidRoute(str(exc)) from exc
    route = Route(id=None, source=source, handler=handler, event_type=event_type,
                  action=action, filters=parsed,
                  config=config or {}, position=position)
    async with database.transaction() as conn:
        return await store.add_route(conn, route)


async def list_routes(database: Database, source: str) -> list[Route]:
    """A source's routing rules."""
    async with database.connection() as conn:
        await store.get_source(conn, source)
        return await store.list_routes(conn, source)


async def list_deliveries(
    database: Database,
    *,
    status: DeliveryStatus | None = None,
    source: str | None = None,
    limit: int = 100,
    order: Literal["oldest", "newest"] = "oldest",
) -> list[dict[str, Any]]:
    """Deliveries as JSON, the ``limit`` oldest or newest first."""
    if isinstance(limit, bool) or not 1 <= limit <= MAX_ID:
        raise InvalidInput(f"limit must be from 1 to {MAX_ID}, not {limit!r}")
    if order not in {"oldest", "newest"}:
        raise InvalidInput(f"order is oldest or newest, not {order!r}")
    async with database.connection() as conn:
        found = await store.list_deliveries(conn, status=status, source=source, limit=limit,
                                            newest_first=order == "newest")
    return [delivery.public() for delivery in found]


async def show_delivery(database: Database, delivery_id: int) -> dict[str, Any]:
    """One delivery with its attempts."""
    async with database.connection() as conn:
        delivery = await store.get_delivery(conn, delivery_id)
        attempts = await store.list_attempts(conn, delivery_id)
    return {**delivery.public(), "attempts": [attempt.public() for attempt in attempts]}


async def replay(
    database: Database,
    *,
    ids: Sequence[int] = (),
    source: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    status: DeliveryStatus | None = None,
) -> list[int]:
    """Replay deliveries by id, or a source's deliveries in ``[since, until)``."""
    if ids and source:
        raise InvalidInput("replay either ids or a --source window, not both")
    if not ids:
        if not source or since is None:
            raise InvalidInput("replay needs delivery ids, or --source and --since")
        until = until or dt.datetime.now(dt.UTC)
        async with database.connection() as conn:
            await store.get_source(conn, source)
            ids = await store.window_ids(conn, source=source, since=since, until=until,
                                         status=status)
    else:
        async with database.connection() as conn:
            for delivery_id in ids:
                delivery = await store.get_delivery(conn, delivery_id)
                if delivery.status is DeliveryStatus.REJECTED:
                    raise NotReplayable(
                        f"delivery {delivery_id} was rejected ({delivery.reason or 'refused'})"
                        " and its body was not kept: there is nothing to replay")
    if not ids:
        return []
    return await processing.replay(database, ids)
