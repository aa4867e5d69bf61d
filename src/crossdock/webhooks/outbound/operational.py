"""Operational events: what the sending side says about itself, sent as outbound webhooks.

They belong to the system application ``crossdock``; a team that wants to hear when one of
its endpoints is disabled or a message ran out of tries adds an endpoint there with an
event-type filter. Events about the system application's own endpoints are not sent, so a
failing operational endpoint cannot feed itself. The platform's events from the bus
(:mod:`platform_events`, sent on by :mod:`relay`) are messages of the same application.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from crossdock.webhooks.errors import ApplicationExists, EventTypeExists
from crossdock.webhooks.outbound.models import (
    Application,
    Claim,
    Endpoint,
    EventType,
    NewMessage,
)
from crossdock.webhooks.outbound.platform_events import EVENT_TYPES as PLATFORM_EVENT_TYPES
from crossdock.webhooks.outbound.store import OutboundStore

SYSTEM_APP = "crossdock"
ENDPOINT_DISABLED = "endpoint.disabled"
ATTEMPT_EXHAUSTED = "message.attempt.exhausted"

_ENDPOINT = {"app": {"type": "string"}, "endpoint_id": {"type": "integer"},
             "url": {"type": "string"}}
EVENT_TYPES = (
    EventType(name=ENDPOINT_DISABLED,
              description="An endpoint was disabled: it answered 410 Gone, or every "
                          "attempt at it failed for days.",
              schema={"type": "object", "required": ["app", "endpoint_id", "url", "reason"],
                      "properties": {**_ENDPOINT, "reason": {"type": "string"},
                                     "failing_since": {"type": ["string", "null"]}}}),
    EventType(name=ATTEMPT_EXHAUSTED,
              description="A message failed at an endpoint on every try of the schedule.",
              schema={"type": "object",
                      "required": ["app", "endpoint_id", "url", "message_id", "attempts"],
                      "properties": {**_ENDPOINT, "message_id": {"type": "string"},
                                     "event_type": {"type": "string"},
                                     "attempts": {"type": "integer"},
                                     "last_error": {"type": ["string", "null"]}}}),
    *PLATFORM_EVENT_TYPES,
)


async def install(store: OutboundStore) -> None:
    """Add the system application and its event types where they are missing."""
    with contextlib.suppress(ApplicationExists):
        await store.add_application(Application(
            name=SYSTEM_APP, description="crossdock's own operational events"))
    for event_type in EVENT_TYPES:
        with contextlib.suppress(EventTypeExists):
            await store.add_event_type(event_type)


def endpoint_disabled(endpoint: Endpoint, reason: str,
                      failing_since: dt.datetime | None) -> NewMessage | None:
    """The event that says ``endpoint`` was disabled (None for a system endpoint)."""
    if endpoint.app == SYSTEM_APP:
        return None
    payload: dict[str, Any] = {
        "app": endpoint.app, "endpoint_id": endpoint.id, "url": endpoint.url,
        "reason": reason,
        "failing_since": failing_since.isoformat() if failing_since else None}
    return NewMessage(app=SYSTEM_APP, event_type=ENDPOINT_DISABLED, payload=payload)


def attempt_exhausted(claim: Claim, last_error: str | None) -> NewMessage | None:
    """The event that says a message ran out of tries (None at a system endpoint)."""
    endpoint = claim.endpoint
    if endpoint.app == SYSTEM_APP:
        return None
    payload = {"app": endpoint.app, "endpoint_id": endpoint.id, "url": endpoint.url,
               "message_id": claim.message.uid, "event_type": claim.message.event_type,
               "attempts": claim.attempt, "last_error": last_error}
    return NewMessage(app=SYSTEM_APP, event_type=ATTEMPT_EXHAUSTED, payload=payload)
