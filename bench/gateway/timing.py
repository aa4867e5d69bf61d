"""Timing of one in-process step, shared by the per-request cost scripts of this folder."""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def figures(samples: list[float]) -> str:
    """The median and p95 of ``samples`` (seconds), in microseconds."""
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"median {statistics.median(ordered) * 1e6:7.1f} us   p95 {p95 * 1e6:7.1f} us"


async def timed(call: Callable[[], Awaitable[Any]], requests: int) -> list[float]:
    """The seconds each of ``requests`` awaits of ``call`` took, after a warm-up."""
    for _ in range(min(200, requests)):
        await call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples
