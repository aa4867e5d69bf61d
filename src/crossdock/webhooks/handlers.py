"""Handlers a route can name: ``bus``, ``log``, ``forward``, and any registered later.

A handler is ``async def handler(work, conn)``. It runs inside the transaction that records
its success, so whatever it writes through ``conn`` commits exactly when the attempt is
recorded as succeeded, and never twice. An exception fails the attempt (and rolls back its
writes); the delivery is then retried on its source's schedule.

A handler may also have a batch form, ``async def handler(works, conn)``, that does the same
for many deliveries at once (the built-in ``bus`` publishes a worker's whole batch with one
statement). The processor uses it when it has several deliveries for the handler, and falls
back to the one-at-a-time form when the batch fails, to find which delivery failed.

``forward`` is the extension point of outbound webhooks: :func:`register_handler` with the
name ``forward`` replaces the placeholder, which fails every attempt with a clear error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from crossdock.core.bus import EventBus, Outgoing
from crossdock.core.database import Connection
from crossdock.core.logging import get_logger
from crossdock.webhooks.errors import ForwardingUnavailable
from crossdock.webhooks.models import Delivery, Route
from crossdock.webhooks.routing import lookup

logger = get_logger("crossdock.webhooks")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Work:
    """What a handler gets: the delivery, its parsed payload, the route and the bus."""

    delivery: Delivery
    payload: Any
    route: Route
    bus: EventBus


Handler = Callable[[Work, Connection], Awaitable[None]]
BatchHandler = Callable[[Sequence[Work], Connection], Awaitable[None]]

_registry: dict[str, Handler] = {}


def register_handler(name: str, handler: Handler) -> None:
    """Make ``handler`` available to routes as ``name`` (replacing any earlier one)."""
    _registry[name] = handler


def unregister_handler(name: str) -> None:
    """Remove a registered handler (built-ins come back)."""
    _registry.pop(name, None)


def get_handler(name: str) -> Handler | None:
    """The handler routes call ``name``."""
    return _registry.get(name) or BUILTINS.get(name)


def handler_names() -> list[str]:
    """The handlers routes can name: the built-ins and the registered ones, but ``forward``
    only once something registers it (its placeholder fails every attempt)."""
    return sorted({*BUILTINS, *_registry} - ({"forward"} - set(_registry)))


def get_batch_handler(name: str) -> BatchHandler | None:
    """The batch form of handler ``name``, if it has one (a registered handler has none)."""
    return None if name in _registry else BATCH_BUILTINS.get(name)


def event_type(delivery: Delivery) -> str:
    """The bus event type of a delivery: ``github.push``, ``gitlab.merge_request``..."""
    return f"{delivery.provider}.{delivery.event_type}"


def outgoing(work: Work) -> Outgoing:
    """The bus event of a delivery; its key from the route's ``key`` path, if set."""
    delivery = work.delivery
    key_path = work.route.config.get("key")
    key = None
    if isinstance(key_path, str) and isinstance(work.payload, dict):
        found = lookup(work.payload, key_path)
        key = str(found) if isinstance(found, str | int) else None
    return Outgoing(type=event_type(delivery), key=key, payload={
        "delivery_id": delivery.id,
        "source": delivery.source,
        "provider": delivery.provider,
        "provider_delivery_id": delivery.provider_delivery_id,
        "event_type": delivery.event_type,
        "action": delivery.action,
        "payload": work.payload,
    })


async def publish(work: Work, conn: Connection) -> None:
    """Publish the delivery on the core event bus, in the attempt's transaction."""
    await publish_all([work], conn)


async def publish_all(works: Sequence[Work], conn: Connection) -> None:
    """Publish deliveries on the bus with one statement, in the attempts' transaction."""
    if works:
        await works[0].bus.publish_many([outgoing(work) for work in works], connection=conn)


async def log(work: Work, conn: Connection) -> None:  # noqa: ARG001 (handler interface)
    """Write one log line per delivery."""
    delivery = work.delivery
    logger.info("webhook_delivery", delivery_id=delivery.id, source=delivery.source,
                event_type=delivery.event_type, action=delivery.action,
                provider_delivery_id=delivery.provider_delivery_id)


async def forward(work: Work, conn: Connection) -> None:  # noqa: ARG001 (handler interface)
    """Placeholder until outbound webhooks register the real ``forward``."""
    raise ForwardingUnavailable


BUILTINS: dict[str, Handler] = {"bus": publish, "log": log, "forward": forward}
BATCH_BUILTINS: dict[str, BatchHandler] = {"bus": publish_all}
