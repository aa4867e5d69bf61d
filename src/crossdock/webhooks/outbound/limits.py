"""Per-endpoint limits in a sending worker: a token bucket for the rate, a count for the cap.

The store's claim already keeps an endpoint's destinations in flight within its concurrency
cap across workers (give or take one claim's batch); the gate here holds the exact cap
within a worker (a default one for endpoints without their own), and the rate. A
destination the rate turns away, or that finds too many waiting already, is not waited on
(it would hold a slot other endpoints' messages could use): the worker gives it back to the
queue, due when the gate opens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: Seconds until an attempt turned away by a full gate is due again.
FULL_RETRY_SECONDS = 0.1


class TokenBucket:
    """``rate`` tokens a second, up to ``burst`` saved; :meth:`take` spends one if there is."""

    def __init__(self, rate: float, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.clock = clock
        self.tokens = self.burst
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> float:
        """Spend a token: 0.0; or, with none left, the seconds until there is one."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Gate:
    """One endpoint's rate limit and concurrency cap in this worker.

    An attempt over the cap waits for a place, as long as no more than ``cap`` others wait
    already: so an endpoint holds at most twice its cap of the worker's slots, and what is
    beyond that goes back to the queue.
    """

    def __init__(self, *, rate: float | None, cap: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket = TokenBucket(rate, clock=clock) if rate else None
        self.rate = rate
        self.cap = cap
        self.waiting = 0
        self._places = asyncio.Semaphore(cap)

    async def enter(self) -> float:
        """Take a place: 0.0; or the seconds to wait before trying again (nothing taken)."""
        if self._places.locked() and self.waiting >= self.cap:
            return FULL_RETRY_SECONDS
        self.waiting += 1
        try:
            await self._places.acquire()
        finally:
            self.waiting -= 1
        wait = self.bucket.take() if self.bucket is not None else 0.0
        if wait:
            self._places.release()
        return wait

    def leave(self) -> None:
        """Give the place back."""
        self._places.release()


class Gates:
    """The gates of the endpoints a worker sends to, rebuilt when an endpoint's limits change
    (attempts in flight leave the gate they entered)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._gates: dict[int, Gate] = {}

    def get(self, endpoint_id: int, *, rate: float | None, cap: int) -> Gate:
        """The endpoint's gate for these limits."""
        gate = self._gates.get(endpoint_id)
        if gate is None or gate.rate != rate or gate.cap != cap:
            gate = Gate(rate=rate, cap=cap, clock=self.clock)
            self._gates[endpoint_id] = gate
        return gate
