"""What one attempt to deliver a message to an endpoint came to, and what happens next.

An inbound handler can only raise; an outbound attempt says more, because the endpoint's
answer decides the next step: :class:`Delivered` (a 2xx) ends it, :class:`RetryAfter` (a 429
or 503 with ``Retry-After``) names the wait, :class:`Gone` (a 410) disables the endpoint at
once, and :class:`Failed` takes the retry schedule. Each carries what the attempt record keeps.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """What the endpoint answered, as stored with the attempt (no answer: no status)."""

    status: int | None = None
    #: The start of the response body, truncated to the sender's limit.
    body: str = ""
    duration_ms: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """The endpoint answered 2xx."""

    response: Response


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryAfter:
    """The endpoint asked for another try after ``seconds`` (already within bounds)."""

    seconds: float
    response: Response


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Gone:
    """The endpoint answered 410: it wants no more deliveries."""

    response: Response


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Failed:
    """Any other answer, or none: retried on the schedule."""

    reason: str
    response: Response


Outcome = Delivered | RetryAfter | Gone | Failed
