"""The ``forward`` handler: an inbound delivery becomes an outbound message (inbound ->
outbound fan-out, as Hookdeck does).

A route ``--handler forward --config '{"app": "acme"}'`` sends each delivery it matches to
the endpoints of application ``acme``, as event type ``<source>.<event>`` (``gh-main.push``)
unless the config names one (``"event_type": "repo.pushed"``). The event type must be in the
catalogue, and the payload (the delivery's own JSON body) must match its schema: otherwise
the attempt fails with the reason and the delivery is retried on its source's schedule (add
the type, then replay). Optional keys: ``"ordering_key"``, a dotted path into the payload
whose value orders the messages per endpoint (``"repository.full_name"``), and
``"channels"``. The message is published in the attempt's transaction, so it is sent once
however often the worker dies; a replay sends it again (its idempotency key names the
delivery's generation).
"""

from __future__ import annotations

from typing import Any

from crossdock.core.database import Connection, Database
from crossdock.webhooks.errors import InvalidOutbound, InvalidRoute
from crossdock.webhooks.handlers import Work
from crossdock.webhooks.outbound import checks
from crossdock.webhooks.outbound.service import Outbound
from crossdock.webhooks.routing import lookup

#: What a forward route's config may hold.
CONFIG_KEYS = frozenset({"app", "event_type", "ordering_key", "channels"})


def check_config(config: dict[str, Any]) -> None:
    """Refuse a forward route's config that could never work (at ``route add``)."""
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise InvalidRoute(f"unknown forward config keys: {', '.join(sorted(unknown))} "
                           f"(it takes {', '.join(sorted(CONFIG_KEYS))})")
    if "app" not in config:
        raise InvalidRoute('a forward route names its application: --config \'{"app": "NAME"}\'')
    try:
        checks.check_name(config["app"], "application")
        if config.get("event_type") is not None:
            checks.check_name(config["event_type"], "event type")
        checks.check_key(config.get("ordering_key"), "ordering_key")
        checks.check_channels(config.get("channels"))
    except InvalidOutbound as exc:
        raise InvalidRoute(f"forward config: {exc}") from exc


def event_type(work: Work) -> str:
    """The outbound event type of a delivery: the route's, or ``<source>.<event>``."""
    configured = work.route.config.get("event_type")
    if isinstance(configured, str):
        return configured
    return f"{work.delivery.source}.{work.delivery.event_type or 'event'}"


class Forwarder:
    """The ``forward`` handler, on one database's outbound API (its catalogue cached)."""

    def __init__(self, database: Database) -> None:
        self.outbound = Outbound(database)

    async def __call__(self, work: Work, conn: Connection) -> None:
        """Publish the delivery's payload to the route's application."""
        config = work.route.config
        check_config(config)
        ordering: str | None = None
        if isinstance(config.get("ordering_key"), str):
            found = lookup(work.payload, config["ordering_key"])
            ordering = str(found) if isinstance(found, str | int) else None
        delivery = work.delivery
        await self.outbound.send(
            config["app"], event_type(work), work.payload,
            key=f"inbound-{delivery.id}-{delivery.generation}", ordering_key=ordering,
            channels=config.get("channels") or (), connection=conn)
