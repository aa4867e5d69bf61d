"""The platform's events from the core bus that become outbound messages of the system
application ``crossdock``: their names and JSON Schemas.

GitSlice publishes them on the bus (the payloads are its contract, described in
docs/webhooks.md "Sending"); this service never imports GitSlice, so the names are spelled
here again and the schemas say what a receiver may count on. Cheap to import: every process
that registers the webhooks service reads :data:`RELAYED` to subscribe.
"""

from __future__ import annotations

from typing import Any

from crossdock.webhooks.outbound.models import EventType

SLICE_PULLED = "gitslice.slice.pulled"
PUSH_COMPLETED = "gitslice.push.completed"
PUSH_REFUSED = "gitslice.push.refused"
UPSTREAM_PR_OPENED = "gitslice.upstream_pr.opened"

_SHA = {"type": "string", "pattern": "^[0-9a-f]{40}$"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": ["slice", *required],
            "properties": {"slice": {"type": "string"}, **required, **(optional or {})}}


EVENT_TYPES = (
    EventType(name=SLICE_PULLED,
              description="A slice pulled upstream commits onto a slice branch.",
              schema=_object({"upstream_branch": {"type": "string"}, "upstream_head": _SHA,
                              "slice_branch": {"type": "string"},
                              "slice_head": {"anyOf": [_SHA, {"type": "null"}]},
                              "commits": {"type": "integer", "minimum": 0}})),
    EventType(name=PUSH_COMPLETED,
              description="A slice branch was applied onto an upstream branch.",
              schema=_object({"branch": {"type": "string"},
                              "upstream_branch": {"type": "string"}, "upstream_commit": _SHA,
                              "commits": {"type": "integer", "minimum": 0}})),
    EventType(name=PUSH_REFUSED,
              description="A push of a slice branch upstream failed (once per failed try).",
              schema=_object({"branch": {"type": ["string", "null"]},
                              "reason": {"type": "string"}})),
    EventType(name=UPSTREAM_PR_OPENED,
              description="An upstream pull request was opened for a slice branch.",
              schema=_object({"branch": {"type": "string"},
                              "slice_pr": {"type": ["integer", "null"]},
                              "upstream_pr": {"type": "integer"},
                              "upstream_url": {"type": "string"}})),
)

#: The bus event types sent on as messages of the system application.
RELAYED = tuple(event_type.name for event_type in EVENT_TYPES)
