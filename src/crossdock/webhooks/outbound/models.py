"""Outbound webhooks' value objects: applications, endpoints, event types, messages, the
destinations a worker claims and the attempts it records."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import secrets
from enum import StrEnum
from typing import Any

from crossdock.webhooks.errors import InvalidOutbound, SigningKeyUnavailable
from crossdock.webhooks.signatures import HMAC_PREFIX, PRIVATE_KEY_PREFIX, new_key_pair, public_key

#: An application's or event type's name, as the tables' name checks have it.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Random bytes in a generated key (the spec asks for 24 to 64).
SECRET_BYTES = 32
#: How long a message's idempotency key stays its own: a second send with it within this
#: window returns the first message.
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
#: How long the key before a rotation still signs, unless the rotation says otherwise.
ROTATION_OVERLAP = dt.timedelta(hours=24)
#: The most of a response body an attempt keeps.
BODY_EXCERPT_CHARS = 4096


def generate_secret() -> str:
    """A new ``whsec_`` key for an endpoint."""
    return HMAC_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SigningScheme(StrEnum):
    """How an endpoint's messages are signed: ``v1`` HMAC-SHA256 or ``v1a`` ed25519."""

    HMAC = "hmac"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, value: Any) -> SigningScheme:
        """``value`` as a scheme; :class:`InvalidOutbound` for anything else."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidOutbound(f"signing must be one of {', '.join(cls)}, not {value!r}"
                                  ) from None

    def new_key(self) -> str:
        """A new signing key: a ``whsec_`` secret, or an ed25519 ``whsk_`` private key."""
        return generate_secret() if self is SigningScheme.HMAC else new_key_pair()[0]


class DestinationStatus(StrEnum):
    """Where one message stands at one endpoint."""

    PENDING = "pending"        # waiting for next_attempt_at (the first try or a retry)
    SENDING = "sending"        # a worker holds it until its claim expires
    SUCCEEDED = "succeeded"    # an attempt got a 2xx
    FAILED = "failed"          # stopped: 410 Gone, or the endpoint was disabled
    EXHAUSTED = "exhausted"    # every try of the schedule failed


class AttemptStatus(StrEnum):
    """How one HTTP attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Next(StrEnum):
    """What an attempt leaves its destination waiting for (see :class:`AttemptRecord`)."""

    DONE = "succeeded"
    RETRY = "pending"
    STOP = "failed"
    EXHAUSTED = "exhausted"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    """A tenant that endpoints belong to: a client or a team."""

    name: str
    description: str = ""
    created_at: dt.datetime | None = None

    def public(self) -> dict[str, Any]:
        """The application as the CLI and the admin API show it."""
        return {"name": self.name, "description": self.description,
                "created_at": _iso(self.created_at)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EventType:
    """An event type of the catalogue; a payload must match its schema, when it has one."""

    name: str
    description: str = ""
    schema: dict[str, Any] | None = None
    created_at: dt.datetime | None = None

    def public(self) -> dict[str, Any]:
        """The event type as the CLI and the admin API show it."""
        return {"name": self.name, "description": self.description, "schema": self.schema,
                "created_at": _iso(self.created_at)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EndpointSettings:
    """What a person sets on an endpoint (``endpoint add``/``update``)."""

    url: str
    description: str = ""
    #: None receives every event type.
    event_types: tuple[str, ...] | None = None
    #: None receives every message; else only those sent on one of these channels.
    channels: tuple[str, ...] | None = None
    #: Requests per second; None is no limit.
    rate_limit: float | None = None
    #: Requests in flight at once; None is no cap.
    max_concurrency: int | None = None
    timeout_seconds: float = 15.0
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A URL an application's messages are sent to, with its keys and limits."""

    id: int
    app: str
    settings: EndpointSettings
    secret: str = dataclasses.field(repr=False)
    previous_secret: str | None = dataclasses.field(default=None, repr=False)
    previous_secret_expires_at: dt.datetime | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    disabled_at: dt.datetime | None = None
    failing_since: dt.datetime | None = None
    created_at: dt.datetime | None = None
    #: Why the stored keys could not be decrypted (then ``secret`` is empty): sending fails.
    secret_error: str | None = None

    @property
    def url(self) -> str:
        """Where messages go."""
        return self.settings.url

    def signing_secrets(self, now: dt.datetime) -> tuple[str, ...]:
        """The keys to sign with at ``now``: the current one, and the previous one during
        its overlap; :class:`SigningKeyUnavailable` when they could not be decrypted."""
        if self.secret_error is not None:
            raise SigningKeyUnavailable(self.secret_error)
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    @property
    def signing(self) -> SigningScheme:
        """The scheme of the key in use."""
        return SigningScheme.ED25519 if self.secret.startswith(PRIVATE_KEY_PREFIX) \
            else SigningScheme.HMAC

    def receiver_key(self) -> dict[str, str | None]:
        """What a receiver verifies with, shown once: the ``whsec_`` secret for HMAC, the
        ``whpk_`` public key for ed25519 (the private key never leaves)."""
        if self.signing is SigningScheme.ED25519:
            return {"secret": None, "public_key": public_key(self.secret)}
        return {"secret": self.secret, "public_key": None}

    def public(self) -> dict[str, Any]:
        """The endpoint as the CLI and the admin API show it: no key."""
        settings = self.settings
        return {
            "id": self.id, "app": self.app, "url": settings.url, "signing": str(self.signing),
            "description": settings.description,
            "event_types": list(settings.event_types) if settings.event_types is not None
            else None,
            "channels": list(settings.channels) if settings.channels is not None else None,
            "rate_limit": settings.rate_limit, "max_concurrency": settings.max_concurrency,
            "timeout_seconds": settings.timeout_seconds, "headers": settings.headers,
            "enabled": self.enabled, "disabled_reason": self.disabled_reason,
            "disabled_at": _iso(self.disabled_at),
            "previous_secret_expires_at": _iso(self.previous_secret_expires_at),
            "failing_since": _iso(self.failing_since), "created_at": _iso(self.created_at),
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reencrypted:
    """What re-encrypting the endpoints' stored keys did: how many rows changed, and which
    endpoints' keys no key of the service decrypts (left as they were)."""

    changed: int
    locked: tuple[int, ...] = ()
    #: Where the keys came from.
    keys: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NewMessage:
    """A message to publish (already validated against its event type)."""

    app: str
    event_type: str
    payload: Any
    channels: tuple[str, ...] = ()
    idempotency_key: str | None = None
    ordering_key: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A published message; ``uid`` is the ``webhook-id`` of every attempt."""

    id: int
    uid: str
    app: str
    event_type: str
    payload: Any
    channels: tuple[str, ...]
    idempotency_key: str | None
    ordering_key: str | None
    created_at: dt.datetime

    def public(self) -> dict[str, Any]:
        """The message as the CLI and the admin API show it."""
        return {"id": self.id, "uid": self.uid, "app": self.app, "event_type": self.event_type,
                "payload": self.payload, "channels": list(self.channels),
                "idempotency_key": self.idempotency_key, "ordering_key": self.ordering_key,
                "created_at": _iso(self.created_at)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Where one message stands at one endpoint."""

    message_id: int
    endpoint_id: int
    url: str
    status: DestinationStatus
    #: Tries of the current round (a resend or a recover starts a new one).
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    finished_at: dt.datetime | None

    def public(self) -> dict[str, Any]:
        """The destination as the CLI and the admin API show it."""
        return {"endpoint_id": self.endpoint_id, "url": self.url, "status": str(self.status),
                "attempts": self.attempts, "last_error": self.last_error,
                "next_attempt_at": _iso(self.next_attempt_at),
                "finished_at": _iso(self.finished_at)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EndpointHealth:
    """How the attempts at an endpoint went for its application's last messages."""

    attempts: int = 0
    succeeded: int = 0
    last_attempt_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Published:
    """What :meth:`OutboundStore.publish` did: the message, and whether it was new."""

    message: Message
    #: False when the idempotency key named a message of the last 24 hours: nothing was sent.
    created: bool
    #: How many endpoints the message was queued for (0 for a repeat).
    destinations: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """A destination a worker holds: send ``message`` to ``endpoint``, try ``attempt``."""

    destination_id: int
    #: 1 for the first try; counted when claimed.
    attempt: int
    claimed_until: dt.datetime
    message: Message
    endpoint: Endpoint


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AttemptRecord:
    """One HTTP attempt on a claimed destination, and what the destination does next."""

    destination_id: int
    status: AttemptStatus
    next: Next
    duration_ms: float
    #: With ``Next.RETRY``: seconds until the next try.
    retry_in: float | None = None
    response_code: int | None = None
    #: Truncated to :data:`BODY_EXCERPT_CHARS` when stored.
    response_body: str | None = None
    error: str | None = None
    started_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """What :meth:`OutboundStore.record_attempt` left: the endpoint's failing streak."""

    endpoint_id: int
    #: Since when every attempt at the endpoint failed; None after a success.
    failing_since: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """A stored attempt."""

    id: int
    message_id: int
    endpoint_id: int
    status: AttemptStatus
    response_code: int | None
    response_body: str | None
    duration_ms: float
    error: str | None
    started_at: dt.datetime

    def public(self) -> dict[str, Any]:
        """The attempt as the CLI and the admin API show it."""
        return {"id": self.id, "message_id": self.message_id, "endpoint_id": self.endpoint_id,
                "status": str(self.status), "response_code": self.response_code,
                "response_body": self.response_body, "duration_ms": self.duration_ms,
                "error": self.error, "started_at": _iso(self.started_at)}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
