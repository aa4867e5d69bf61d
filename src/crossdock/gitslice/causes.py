"""The webhook delivery behind the job that is running, for the runs the job starts.

A job queued by a webhook's event names the delivery in its arguments (a comment command in
its record); the job body says so once with :func:`delivered_by`, and every run it starts on
the way (a command's push and raised pull request, a review copy) records it, as each records
the job itself (:func:`crossdock.core.jobs.current_job`), without the delivery passing through
every operation between the job and the run.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_delivery: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "crossdock_gitslice_delivery", default=None)


def current_delivery() -> int | None:
    """The delivery behind the running job (None outside one, or for a job no webhook
    queued)."""
    return _delivery.get()


@contextlib.contextmanager
def delivered_by(delivery_id: int | None) -> Iterator[None]:
    """Within the block, runs record ``delivery_id`` as what queued their job."""
    token = _delivery.set(delivery_id)
    try:
        yield
    finally:
        _delivery.reset(token)
