"""The outbound tables' rows as value objects."""

from __future__ import annotations

from typing import Any

from crossdock.core.errors import SecretUndecryptable
from crossdock.core.secretbox import SecretBox
from crossdock.webhooks.outbound.models import (
    Application,
    Attempt,
    AttemptStatus,
    Destination,
    DestinationStatus,
    Endpoint,
    EndpointSettings,
    EventType,
    Message,
)


def application(row: dict[str, Any]) -> Application:
    """A ``webhooks_out_applications`` row."""
    return Application(name=row["name"], description=row["description"],
                       created_at=row["created_at"])


def event_type(row: dict[str, Any]) -> EventType:
    """A ``webhooks_out_event_types`` row."""
    return EventType(name=row["name"], description=row["description"], schema=row["schema"],
                     created_at=row["created_at"])


def _tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


def endpoint(row: dict[str, Any], secrets: SecretBox) -> Endpoint:
    """A ``webhooks_out_endpoints`` row, its keys decrypted with ``secrets`` (an endpoint whose
    keys cannot be is still read, with a ``secret_error``: only sending to it fails)."""
    error = None
    try:
        secret = secrets.decrypt(row["secret"])
        previous = secrets.decrypt(row["previous_secret"]) if row["previous_secret"] else None
    except SecretUndecryptable:
        secret, previous = "", None
        error = (f"endpoint {row['id']}: its signing secret cannot be decrypted with the keys "
                 f"of {secrets.where}; set the key it was encrypted with")
    return Endpoint(
        id=row["id"], app=row["app"],
        settings=EndpointSettings(
            url=row["url"], description=row["description"],
            event_types=_tuple(row["event_types"]), channels=_tuple(row["channels"]),
            rate_limit=row["rate_limit"], max_concurrency=row["max_concurrency"],
            timeout_seconds=row["timeout_seconds"], headers=row["headers"]),
        secret=secret, previous_secret=previous,
        previous_secret_expires_at=row["previous_secret_expires_at"],
        enabled=row["enabled"], disabled_reason=row["disabled_reason"],
        disabled_at=row["disabled_at"], failing_since=row["failing_since"],
        created_at=row["created_at"], secret_error=error)


def message(row: dict[str, Any]) -> Message:
    """A ``webhooks_out_messages`` row."""
    return Message(id=row["id"], uid=row["uid"], app=row["app"], event_type=row["event_type"],
                   payload=row["payload"], channels=tuple(row["channels"]),
                   idempotency_key=row["idempotency_key"], ordering_key=row["ordering_key"],
                   created_at=row["created_at"])


def attempt(row: dict[str, Any]) -> Attempt:
    """A ``webhooks_out_attempts`` row."""
    return Attempt(id=row["id"], message_id=row["message_id"], endpoint_id=row["endpoint_id"],
                   status=AttemptStatus(row["status"]), response_code=row["response_code"],
                   response_body=row["response_body"], duration_ms=row["duration_ms"],
                   error=row["error"], started_at=row["started_at"])


def destination(row: dict[str, Any]) -> Destination:
    """A ``webhooks_out_destinations`` row with its endpoint's ``url``."""
    return Destination(message_id=row["message_id"], endpoint_id=row["endpoint_id"],
                       url=row["url"], status=DestinationStatus(row["status"]),
                       attempts=row["attempts"], last_error=row["last_error"],
                       next_attempt_at=row["next_attempt_at"], finished_at=row["finished_at"])
