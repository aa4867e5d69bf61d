"""The outbound tables behind :class:`OutboundStore` (queries in ``../queries.sql``), in three
parts: endpoints (``endpoints``), messages (``messages``) and the queue the sending worker
works (``queue``), on what they share (``tables``). The store is the one place that sees the
database driver."""

from __future__ import annotations

from crossdock.webhooks.outbound.store.messages import MessageTables
from crossdock.webhooks.outbound.store.queue import QueueTables

__all__ = ["OutboundStore"]


class OutboundStore(MessageTables, QueueTables):
    """Applications, endpoints, event types and the messages sent to them.

    A message's life: :meth:`publish` stores it and, in the same transaction, one
    *destination* per enabled endpoint of its application whose event-type filter and
    channels match, each ``pending`` and due at once (or, behind an unfinished destination
    of the same ordering key at that endpoint, waiting for its turn). A worker
    :meth:`claim_due` s destinations (``sending``, leased for a while, the try counted),
    sends, and :meth:`record_attempt` s the outcome: ``succeeded``, ``pending`` again after
    a delay, ``failed`` (stopped: 410 Gone) or ``exhausted`` (no try left); finishing a head
    makes the next of its key due. A claim the worker cannot use goes back untried with
    :meth:`reschedule`; a worker that dies leaves its claims to expire and be claimed again,
    so a message is sent at least once (always with the same ``webhook-id``, its ``uid``).
    :meth:`disable_endpoint` stops an endpoint's waiting destinations (``failed``);
    :meth:`recover` queues an endpoint's failed and exhausted ones again. :meth:`prune`
    deletes messages past the retention whose destinations are all final.

    Every method opens its own transaction; driver errors leave as webhooks errors.
    """
