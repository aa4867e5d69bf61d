"""The outbound API that services, the CLI and the admin API use: every input checked.

``await Outbound(database).send("acme", "invoice.paid", {"id": 7}, key="inv-7")`` refuses an
unknown event type and a payload that breaks its JSON Schema, then publishes the message to
every matching endpoint of the application (see :class:`OutboundStore` for what follows).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from crossdock.core.database import Connection, Database
from crossdock.webhooks.errors import EventTypeInUse, InvalidOutbound, UnknownEventType
from crossdock.webhooks.outbound import checks
from crossdock.webhooks.outbound.catalogue import Catalogue, check_schema
from crossdock.webhooks.outbound.models import (
    ROTATION_OVERLAP,
    Application,
    Attempt,
    Endpoint,
    EndpointSettings,
    EventType,
    Message,
    NewMessage,
    Published,
    SigningScheme,
)
from crossdock.webhooks.outbound.store import OutboundStore

#: The fields of an endpoint ``update_endpoint`` may change.
ENDPOINT_FIELDS = frozenset(field.name for field in dataclasses.fields(EndpointSettings))
#: The longest secret rotation overlap: a week is a deployment cycle, a month a forgotten key.
MAX_OVERLAP = dt.timedelta(days=30)


class Outbound:
    """Sending webhooks on one database: applications, endpoints, event types, messages."""

    def __init__(self, database: Database, *, cache_seconds: float = 5.0) -> None:
        self.store = OutboundStore(database)
        self.catalogue = Catalogue(cache_seconds)

    async def send(
        self,
        app: str,
        event_type: str,
        payload: Any,
        *,
        key: str | None = None,
        ordering_key: str | None = None,
        channels: Iterable[str] = (),
        connection: Connection | None = None,
    ) -> Published:
        """Publish ``payload`` as an ``event_type`` message of ``app``; with ``key``, a second
        send within 24 hours returns the first message (``created`` False) and sends nothing.
        Messages with one ``ordering_key`` reach each endpoint in the order they were sent.
        With ``connection``, the message commits with that connection's transaction."""
        message = NewMessage(
            app=checks.check_name(app, "application"),
            event_type=checks.check_name(event_type, "event type"), payload=payload,
            channels=checks.check_channels(channels) or (),
            idempotency_key=checks.check_key(key, "an idempotency key"),
            ordering_key=checks.check_key(ordering_key, "an ordering key"))
        await self._check_payload(event_type, payload)
        return await self.store.publish(message, connection=connection)

    async def _check_payload(self, name: str, payload: Any) -> None:
        if self.catalogue.get(name) is None:
            found = await self.store.find_event_type(name)
            if found is None:
                raise UnknownEventType(f"no event type named {name!r}: add it with "
                                       f"`crossdock webhooks event-type add {name}`")
            self.catalogue.put(found)
        self.catalogue.check(name, payload)

    # Applications and the catalogue

    async def add_application(self, name: str, description: str = "") -> Application:
        """Add an application (a tenant whose endpoints receive its messages)."""
        return await self.store.add_application(Application(
            name=checks.check_name(name, "application"), description=_text(description)))

    async def list_applications(self) -> list[Application]:
        """Every application."""
        return await self.store.list_applications()

    async def remove_application(self, name: str) -> None:
        """Delete an application with its endpoints and messages."""
        await self.store.remove_application(name)

    async def add_event_type(self, name: str, *, description: str = "",
                             schema: Any = None) -> EventType:
        """Add an event type to the catalogue, with the JSON Schema its payloads must match."""
        added = await self.store.add_event_type(EventType(
            name=checks.check_name(name, "event type"), description=_text(description),
            schema=check_schema(schema)))
        self.catalogue.put(added)
        return added

    async def update_event_type(self, name: str, *, description: str = "",
                                schema: Any = None) -> EventType:
        """Replace an event type's description and schema."""
        changed = await self.store.update_event_type(EventType(
            name=name, description=_text(description), schema=check_schema(schema)))
        self.catalogue.put(changed)
        return changed

    async def list_event_types(self) -> list[EventType]:
        """The catalogue."""
        return await self.store.list_event_types()

    async def remove_event_type(self, name: str) -> None:
        """Delete an event type no endpoint filters on and no undelivered message has."""
        endpoints, undelivered = await self.store.event_type_usage(name)
        if endpoints or undelivered:
            raise EventTypeInUse(f"event type {name!r} is still used by {endpoints} "
                                 f"endpoint(s) and {undelivered} undelivered message(s)")
        await self.store.remove_event_type(name)
        self.catalogue.forget(name)

    # Endpoints

    async def add_endpoint(self, app: str, settings: EndpointSettings, *,
                           signing: SigningScheme = SigningScheme.HMAC) -> Endpoint:
        """Add an endpoint with a new key of ``signing`` (``endpoint.receiver_key()`` is
        what to show, once)."""
        return await self.store.add_endpoint(app, checks.check_settings(settings),
                                             secret=signing.new_key())

    async def update_endpoint(self, endpoint_id: int, changes: Mapping[str, Any]) -> Endpoint:
        """Change some of an endpoint's settings (``ENDPOINT_FIELDS``)."""
        unknown = set(changes) - ENDPOINT_FIELDS
        if unknown:
            raise InvalidOutbound(f"unknown endpoint fields: {', '.join(sorted(unknown))}")
        current = await self.store.get_endpoint(endpoint_id)
        settings = dataclasses.replace(current.settings, **changes)
        return await self.store.update_endpoint(endpoint_id, checks.check_settings(settings))

    async def remove_endpoint(self, endpoint_id: int) -> None:
        """Delete an endpoint with its messages' destinations and attempts."""
        await self.store.remove_endpoint(endpoint_id)

    async def list_endpoints(self, app: str | None = None) -> list[Endpoint]:
        """Endpoints, of one application if given."""
        if app is not None:
            await self.store.get_application(app)
        return await self.store.list_endpoints(app)

    async def rotate_secret(self, endpoint_id: int, *, overlap: dt.timedelta = ROTATION_OVERLAP,
                            signing: SigningScheme | None = None) -> Endpoint:
        """A new key for an endpoint, of ``signing`` (the current key's scheme if None); the
        old one still signs for ``overlap``."""
        if not dt.timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidOutbound(f"the overlap must be from 0 to {MAX_OVERLAP.days} days")
        if signing is None:
            signing = (await self.store.get_endpoint(endpoint_id)).signing
        return await self.store.rotate_secret(endpoint_id, secret=signing.new_key(),
                                              overlap=overlap)

    async def enable_endpoint(self, endpoint_id: int) -> Endpoint:
        """Enable a disabled endpoint (``recover`` queues what it missed)."""
        return await self.store.enable_endpoint(endpoint_id)

    async def disable_endpoint(self, endpoint_id: int, reason: str) -> Endpoint:
        """Disable an endpoint by hand: its waiting messages stop."""
        await self.store.disable_endpoint(endpoint_id, _text(reason) or "disabled by hand")
        return await self.store.get_endpoint(endpoint_id)

    async def recover(self, endpoint_id: int, since: dt.datetime) -> int:
        """Queue again what failed at an endpoint since ``since``; how many."""
        if since > dt.datetime.now(dt.UTC):
            raise InvalidOutbound("--since is in the future: nothing was sent after it")
        await self._enabled_endpoint(endpoint_id)
        return await self.store.recover(endpoint_id, since)

    async def resend(self, message_id: int, endpoint_id: int | None = None) -> int:
        """Send a message again from the first try: to ``endpoint_id`` (delivered or not), or
        to every endpoint where it failed; how many destinations were queued."""
        message = await self.store.get_message(message_id)
        if endpoint_id is None:
            return await self.store.resend(message)
        await self._enabled_endpoint(endpoint_id)
        resent = await self.store.resend(message, endpoint_id)
        if not resent:
            raise InvalidOutbound(f"message {message_id} was never sent to endpoint "
                                  f"{endpoint_id}, or it or a message of its ordering key is "
                                  "being sent there now: try again once that attempt ends")
        return resent

    async def _enabled_endpoint(self, endpoint_id: int) -> Endpoint:
        endpoint = await self.store.get_endpoint(endpoint_id)
        if not endpoint.enabled:
            # Its destinations would wait unclaimed: a disabled endpoint is never sent to.
            raise InvalidOutbound(f"endpoint {endpoint_id} is disabled "
                                  f"({endpoint.disabled_reason}): enable it first "
                                  f"(endpoint update {endpoint_id} --enable)")
        return endpoint

    # Messages

    async def get_message(self, message_id: int) -> Message:
        """A message by id."""
        return await self.store.get_message(message_id)

    async def list_messages(self, *, app: str | None = None, limit: int = 100) -> list[Message]:
        """Messages, newest first."""
        return await self.store.list_messages(app=app, limit=limit)

    async def attempts(self, message_id: int) -> list[Attempt]:
        """A message's attempts at every endpoint."""
        return await self.store.attempts(message_id)

    async def destinations(self, message_id: int) -> list[dict[str, Any]]:
        """Where a message stands at each endpoint."""
        return await self.store.destinations(message_id)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidOutbound("a description must be a string")
    return value
