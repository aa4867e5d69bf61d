"""Backoff with jitter: how long to wait before the next try of something that failed.

One value object for every retry in crossdock: the job queue builds its retry strategy from
one, each webhook source stores one (its ``retry_*`` columns), and outbound webhooks follow
one on a fixed schedule (:meth:`Backoff.from_schedule`). The waits either grow exponentially
or are listed one by one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Up to ``max_tries`` tries; after ``n`` failed ones wait ``base_seconds * factor**(n - 1)``.

    Each wait is capped at ``max_seconds``, then drawn uniformly within ``+-jitter`` of itself
    so that things that failed at the same moment do not retry in step. The defaults: 8 tries,
    about 5 s, 10 s, 20 s, 40 s, 80 s, 160 s, 320 s apart (about 10.5 minutes in all).

    With a ``schedule``, the wait after ``n`` failed tries is its ``n``-th step instead (the
    last step repeats when ``max_tries`` asks for more), still capped and jittered.
    """

    max_tries: int = 8
    base_seconds: float = 5.0
    factor: float = 2.0
    max_seconds: float = 3600.0
    jitter: float = 0.2
    schedule: tuple[float, ...] = ()

    @classmethod
    def from_schedule(cls, waits: Sequence[float], *, jitter: float = 0.2) -> Backoff:
        """One try, then one more after each wait of ``waits``, capped at the longest."""
        if not waits or min(waits) < 0:
            raise ValueError("a retry schedule needs at least one wait, none negative")
        return cls(max_tries=len(waits) + 1, schedule=tuple(waits), max_seconds=max(waits),
                   jitter=jitter)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after ``attempt`` failed tries (1 after the first); None: give up."""
        if attempt >= self.max_tries:
            return None
        nominal = self.nominal(attempt)
        if not self.jitter:
            return nominal
        return max(0.0, nominal * (1 + (rng or random).uniform(-self.jitter, self.jitter)))

    def nominal(self, attempt: int) -> float:
        """The wait after ``attempt`` failed tries before jitter."""
        if self.schedule:
            step = self.schedule[min(max(attempt, 1), len(self.schedule)) - 1]
            return min(self.max_seconds, step)
        if self.base_seconds <= 0:
            return 0.0
        try:
            grown = self.base_seconds * self.factor ** max(0, attempt - 1)
        except OverflowError:  # a float power past 1e308: the cap decides
            return self.max_seconds
        return min(self.max_seconds, grown)
