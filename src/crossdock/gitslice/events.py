"""The events GitSlice publishes on the core bus, each with the state change it reports.

A subscriber (the webhooks service sends them on as outbound messages of the system
application ``crossdock``) gets small, stable JSON documents; every one names its ``slice``
and carries the slice as the bus key, so one slice's events reach a handler in order.

- ``gitslice.slice.pulled``: a pull or pull-branch recorded its commits (``slice``,
  ``upstream_branch``, ``upstream_head``, ``slice_branch``, ``slice_head``, ``commits``).
- ``gitslice.push.completed``: a slice branch was applied upstream (``slice``, ``branch``,
  ``upstream_branch``, ``upstream_commit``, ``commits``).
- ``gitslice.push.refused``: a push ended without applying (``slice``, ``branch``,
  ``reason``), once per failed try.
- ``gitslice.upstream_pr.opened``: raise-pr opened an upstream pull request (``slice``,
  ``branch``, ``slice_pr`` or null, ``upstream_pr``, ``upstream_url``); reusing an open one
  publishes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from crossdock.core.database import Connection

SLICE_PULLED = "gitslice.slice.pulled"
PUSH_COMPLETED = "gitslice.push.completed"
PUSH_REFUSED = "gitslice.push.refused"
UPSTREAM_PR_OPENED = "gitslice.upstream_pr.opened"


class EventSink(Protocol):
    """Where events go: the core bus, in the caller's transaction."""

    async def publish(self, event_type: str, payload: dict[str, Any], *,
                      key: str | None = None, connection: Connection | None = None) -> int: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SliceEvent:
    """An event about one slice, published with the row that records it."""

    type: str
    slice: str
    fields: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON document subscribers get."""
        return {"slice": self.slice, **self.fields}


def slice_pulled(slice_name: str, *, upstream_branch: str, upstream_head: str,
                 slice_branch: str, slice_head: str | None, commits: int) -> SliceEvent:
    """``gitslice.slice.pulled``."""
    return SliceEvent(type=SLICE_PULLED, slice=slice_name, fields={
        "upstream_branch": upstream_branch, "upstream_head": upstream_head,
        "slice_branch": slice_branch, "slice_head": slice_head, "commits": commits})


def push_completed(slice_name: str, *, branch: str, upstream_branch: str,
                   upstream_commit: str, commits: int) -> SliceEvent:
    """``gitslice.push.completed``."""
    return SliceEvent(type=PUSH_COMPLETED, slice=slice_name, fields={
        "branch": branch, "upstream_branch": upstream_branch,
        "upstream_commit": upstream_commit, "commits": commits})


def push_refused(slice_name: str, *, branch: str | None, reason: str) -> SliceEvent:
    """``gitslice.push.refused``."""
    return SliceEvent(type=PUSH_REFUSED, slice=slice_name,
                      fields={"branch": branch, "reason": reason})


def upstream_pr_opened(slice_name: str, *, branch: str, slice_pr: int | None,
                       upstream_pr: int, upstream_url: str) -> SliceEvent:
    """``gitslice.upstream_pr.opened``."""
    return SliceEvent(type=UPSTREAM_PR_OPENED, slice=slice_name, fields={
        "branch": branch, "slice_pr": slice_pr, "upstream_pr": upstream_pr,
        "upstream_url": upstream_url})
