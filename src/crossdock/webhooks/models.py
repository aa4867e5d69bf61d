"""The webhooks service's value objects: sources, routes, deliveries, attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from enum import StrEnum
from typing import Any

from crossdock.core.backoff import Backoff
from crossdock.webhooks.errors import InvalidSource
from crossdock.webhooks.providers import standard
from crossdock.webhooks.secrets import ENV_PREFIX, MIN_SECRET_BYTES, describe


class DeliveryStatus(StrEnum):
    """Where a delivery stands."""

    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"
    DEAD = "dead"
    REJECTED = "rejected"


class AttemptStatus(StrEnum):
    """How one handler run ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_secret(provider: str, reference: str) -> None:
    """Refuse a secret reference a source of ``provider`` must not be given.

    A literal needs :data:`MIN_SECRET_BYTES` bytes, and a Standard Webhooks literal a
    ``whsec_`` or ``whpk_`` key; an ``env:NAME`` reference needs a variable name (its value
    is checked where the source is loaded, as the variable may live only there). Messages
    never echo the secret. The CLI and the admin API both call this, through
    ``operations``.
    """
    if reference.startswith(ENV_PREFIX):
        if not _ENV_NAME.fullmatch(reference[len(ENV_PREFIX):]):
            raise InvalidSource(f"{reference!r} does not name an environment variable")
        return
    if len(reference.encode()) < MIN_SECRET_BYTES:
        raise InvalidSource(f"a secret must hold at least {MIN_SECRET_BYTES} bytes "
                          f"(this one holds {len(reference.encode())})")
    if provider == "standard":
        standard.check_secret(reference)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where deliveries come from: a provider, its secrets and the source's limits."""

    name: str
    provider: str
    secrets: tuple[str, ...]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    max_body_bytes: int = 25 * 1024 * 1024
    #: When a failed delivery is tried again; after the last try it is dead.
    retry: Backoff = dataclasses.field(default_factory=Backoff)
    created_at: dt.datetime | None = None

    def public(self) -> dict[str, Any]:
        """The source as shown by the CLI and the admin API: secrets as references only."""
        return {
            "name": self.name,
            "provider": self.provider,
            "secrets": [describe(secret) for secret in self.secrets],
            "options": self.options,
            "max_body_bytes": self.max_body_bytes,
            "retry": {"max_tries": self.retry.max_tries,
                      "base_seconds": self.retry.base_seconds,
                      "max_seconds": self.retry.max_seconds},
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Filter:
    """``path op value`` on the payload, e.g. ``repository.full_name == octo/repo``."""

    path: str
    op: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Send a source's deliveries that match to a handler."""

    id: int | None
    source: str
    handler: str
    event_type: str | None = None
    action: str | None = None
    filters: tuple[Filter, ...] = ()
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    position: int = 0

    @property
    def key(self) -> str:
        """How attempts name this route."""
        return f"route:{self.id}" if self.id is not None else f"default:{self.handler}"

    def public(self) -> dict[str, Any]:
        """The route as JSON."""
        return {
            "id": self.id, "source": self.source, "handler": self.handler,
            "event_type": self.event_type, "action": self.action,
            "filters": [f"{f.path} {f.op} {f.value}" for f in self.filters],
            "config": self.config, "position": self.position,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """A delivery as stored (the body only when asked for)."""

    id: int
    source: str
    provider: str
    provider_delivery_id: str | None
    event_type: str | None
    action: str | None
    status: DeliveryStatus
    reason: str | None
    headers: dict[str, str]
    body_size: int
    received_at: dt.datetime
    processed_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    tries: int
    generation: int
    last_error: str | None
    #: The repository the body names, normalized, once a worker has read it.
    repository: str | None = None
    body: bytes | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Delivery:
        """Build from a ``webhooks_deliveries`` row."""
        values = {key: value for key, value in row.items() if key in _DELIVERY_FIELDS}
        values["status"] = DeliveryStatus(row["status"])
        if values.get("body") is not None:
            values["body"] = bytes(values["body"])
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """The delivery as JSON (without the body)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "body"}
        for key in ("received_at", "processed_at", "next_attempt_at"):
            data[key] = data[key].isoformat() if data[key] else None
        data["status"] = str(self.status)
        return data


#: The columns :meth:`Delivery.from_row` keeps (a worker builds thousands a second).
_DELIVERY_FIELDS = frozenset(f.name for f in dataclasses.fields(Delivery))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One run of one handler on one delivery."""

    id: int
    delivery_id: int
    generation: int
    try_: int
    route: str
    handler: str
    status: AttemptStatus
    duration_ms: float
    error: str | None
    started_at: dt.datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Attempt:
        """Build from a ``webhooks_attempts`` row."""
        return cls(id=row["id"], delivery_id=row["delivery_id"], generation=row["generation"],
                   try_=row["try"], route=row["route"], handler=row["handler"],
                   status=AttemptStatus(row["status"]), duration_ms=row["duration_ms"],
                   error=row["error"], started_at=row["started_at"])

    def public(self) -> dict[str, Any]:
        """The attempt as JSON."""
        return {"id": self.id, "generation": self.generation, "try": self.try_,
                "route": self.route, "handler": self.handler, "status": str(self.status),
                "duration_ms": self.duration_ms, "error": self.error,
                "started_at": self.started_at.isoformat()}
