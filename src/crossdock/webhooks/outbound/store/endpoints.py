"""Applications, event types and endpoints: the outbound tables a message is sent by."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from crossdock.core.errors import SecretUndecryptable
from crossdock.webhooks.errors import (
    ApplicationExists,
    EventTypeExists,
    UnknownApplication,
    UnknownEndpoint,
    UnknownEventType,
)
from crossdock.webhooks.outbound import rows
from crossdock.webhooks.outbound.models import (
    ROTATION_OVERLAP,
    Application,
    Endpoint,
    EndpointHealth,
    EndpointSettings,
    EventType,
    Reencrypted,
    generate_secret,
)
from crossdock.webhooks.outbound.store.tables import Tables, execute, fetch_all, fetch_one


class EndpointTables(Tables):
    """Applications, event types and endpoints (see :class:`OutboundStore`)."""

    # Applications

    async def add_application(self, app: Application) -> Application:
        """Store a new application; :class:`ApplicationExists` if the name is taken."""
        row = await self._one("insert_application",
                              {"name": app.name, "description": app.description})
        if row is None:
            raise ApplicationExists(f"an application named {app.name!r} exists already")
        return rows.application(row)

    async def get_application(self, name: str) -> Application:
        """An application by name; :class:`UnknownApplication`."""
        row = await self._one("select_application", {"name": name})
        if row is None:
            raise UnknownApplication(f"no application named {name!r}")
        return rows.application(row)

    async def list_applications(self) -> list[Application]:
        """Every application, by name."""
        return [rows.application(row) for row in await self._all("list_applications", {})]

    async def remove_application(self, name: str) -> None:
        """Delete an application with its endpoints and messages."""
        if await self._one("delete_application", {"name": name}) is None:
            raise UnknownApplication(f"no application named {name!r}")

    # Event types

    async def add_event_type(self, event_type: EventType) -> EventType:
        """Store a new event type; :class:`EventTypeExists` if the name is taken."""
        row = await self._one("insert_event_type", _event_type_params(event_type))
        if row is None:
            raise EventTypeExists(f"an event type named {event_type.name!r} exists already")
        return rows.event_type(row)

    async def update_event_type(self, event_type: EventType) -> EventType:
        """Replace an event type's description and schema."""
        row = await self._one("update_event_type", _event_type_params(event_type))
        if row is None:
            raise UnknownEventType(f"no event type named {event_type.name!r}")
        return rows.event_type(row)

    async def find_event_type(self, name: str) -> EventType | None:
        """An event type by name, or None."""
        row = await self._one("select_event_type", {"name": name})
        return rows.event_type(row) if row else None

    async def list_event_types(self) -> list[EventType]:
        """The catalogue, by name."""
        return [rows.event_type(row) for row in await self._all("list_event_types", {})]

    async def event_type_usage(self, name: str) -> tuple[int, int]:
        """``(endpoints filtering on it, messages of it not yet delivered)``."""
        row = await self._one("event_type_usage", {"name": name})
        assert row is not None
        return int(row["endpoints"]), int(row["undelivered"])

    async def remove_event_type(self, name: str) -> None:
        """Delete an event type (messages of it stay)."""
        if await self._one("delete_event_type", {"name": name}) is None:
            raise UnknownEventType(f"no event type named {name!r}")

    # Endpoints

    async def add_endpoint(self, app: str, settings: EndpointSettings, *,
                           secret: str | None = None) -> Endpoint:
        """Store an endpoint of ``app`` with ``secret`` (a new ``whsec_`` key if None; a
        ``whsk_`` ed25519 private key signs ``v1a``)."""
        async with self._transaction(app=app) as conn:
            row = await fetch_one(conn, "insert_endpoint", {
                **_endpoint_params(settings), "app": app,
                "secret": self.secrets.encrypt(secret or generate_secret())})
        assert row is not None
        return rows.endpoint(row, self.secrets)

    async def update_endpoint(self, endpoint_id: int, settings: EndpointSettings) -> Endpoint:
        """Replace an endpoint's settings (its keys and state stay)."""
        row = await self._one("update_endpoint",
                              {**_endpoint_params(settings), "id": endpoint_id})
        return self._endpoint_or_raise(row, endpoint_id)

    async def get_endpoint(self, endpoint_id: int) -> Endpoint:
        """An endpoint by id; :class:`UnknownEndpoint`."""
        return self._endpoint_or_raise(await self._one("select_endpoint", {"id": endpoint_id}),
                                  endpoint_id)

    async def list_endpoints(self, app: str | None = None, *,
                             after: tuple[str, int] | None = None,
                             limit: int | None = None) -> list[Endpoint]:
        """Endpoints (of one application, if given), by application and id; a page starts
        after the ``(app, id)`` given and holds ``limit`` of them (None: all)."""
        found = await self._all("list_endpoints", {
            "app": app, "after_app": after[0] if after else None,
            "after_id": after[1] if after else None, "limit": limit})
        return [rows.endpoint(row, self.secrets) for row in found]

    async def endpoint_health(self, endpoint_ids: Sequence[int], *,
                              messages: int = 200) -> dict[int, EndpointHealth]:
        """How the attempts at each endpoint went for the last ``messages`` messages of its
        application (an endpoint with none has an empty :class:`EndpointHealth`)."""
        found = {row["endpoint_id"]: EndpointHealth(
            attempts=row["attempts"], succeeded=row["succeeded"],
            last_attempt_at=row["last_attempt_at"])
            for row in await self._all("endpoint_health", {"ids": list(endpoint_ids),
                                                           "messages": messages})}
        return {key: found.get(key, EndpointHealth()) for key in endpoint_ids}

    async def remove_endpoint(self, endpoint_id: int) -> None:
        """Delete an endpoint with its destinations and attempts."""
        if await self._one("delete_endpoint", {"id": endpoint_id}) is None:
            raise UnknownEndpoint(f"no endpoint with id {endpoint_id}")

    async def rotate_secret(self, endpoint_id: int, *, secret: str | None = None,
                            overlap: dt.timedelta = ROTATION_OVERLAP) -> Endpoint:
        """Sign with a new key (``secret`` or a generated one); the old one is still signed
        with for ``overlap``."""
        row = await self._one("rotate_secret", {
            "id": endpoint_id, "secret": self.secrets.encrypt(secret or generate_secret()),
            "overlap": overlap.total_seconds()})
        return self._endpoint_or_raise(row, endpoint_id)

    async def enable_endpoint(self, endpoint_id: int) -> Endpoint:
        """Enable an endpoint again (its failing streak starts over); see :meth:`recover`."""
        return self._endpoint_or_raise(await self._one("enable_endpoint", {"id": endpoint_id}),
                                  endpoint_id)

    async def disable_endpoint(self, endpoint_id: int, reason: str) -> bool:
        """Disable an endpoint and stop its waiting destinations (``failed``, the reason as
        their error). True when it was enabled: the caller announces it once."""
        async with self._transaction() as conn:
            if await fetch_one(conn, "disable_endpoint", {"id": endpoint_id, "reason": reason}) \
                    is None:
                self._endpoint_or_raise(
                    await fetch_one(conn, "select_endpoint", {"id": endpoint_id}), endpoint_id)
                return False
            await execute(conn, "stop_pending",
                          {"id": endpoint_id, "reason": f"endpoint disabled: {reason}"})
            return True

    # Signing secrets at rest

    async def reencrypt_secrets(self) -> Reencrypted:
        """Encrypt every endpoint's stored keys with the newest key (plain ones from before
        encryption included); those already are stay, those no key decrypts are named."""
        changed, locked = 0, []
        async with self._transaction() as conn:
            for row in await fetch_all(conn, "lock_endpoint_secrets", {}):
                try:
                    secret = self.secrets.reencrypt(row["secret"])
                    previous = self.secrets.reencrypt(row["previous_secret"]) \
                        if row["previous_secret"] else None
                except SecretUndecryptable:
                    locked.append(row["id"])
                    continue
                if (secret, previous) != (row["secret"], row["previous_secret"]):
                    await execute(conn, "store_endpoint_secrets",
                                  {"id": row["id"], "secret": secret, "previous": previous})
                    changed += 1
        return Reencrypted(changed=changed, locked=tuple(locked), keys=self.secrets.where)

    async def locked_endpoints(self) -> list[int]:
        """The endpoints whose stored keys no key of the service decrypts."""
        return [endpoint.id for endpoint in await self.list_endpoints()
                if endpoint.secret_error is not None]

    def _endpoint_or_raise(self, row: dict[str, Any] | None, endpoint_id: int) -> Endpoint:
        if row is None:
            raise UnknownEndpoint(f"no endpoint with id {endpoint_id}")
        return rows.endpoint(row, self.secrets)


def _event_type_params(value: EventType) -> dict[str, Any]:
    """An event type as the insert and update take it."""
    return {"name": value.name, "description": value.description,
            "schema": Jsonb(value.schema) if value.schema is not None else None}


def _endpoint_params(settings: EndpointSettings) -> dict[str, Any]:
    """An endpoint's settings as the insert and update take them."""
    return {
        "url": settings.url, "description": settings.description,
        "event_types": list(settings.event_types) if settings.event_types is not None
        else None,
        "channels": list(settings.channels) if settings.channels is not None else None,
        "rate_limit": settings.rate_limit, "max_concurrency": settings.max_concurrency,
        "timeout_seconds": settings.timeout_seconds, "headers": Jsonb(settings.headers),
    }


