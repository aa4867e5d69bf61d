"""A rate limit per subgraph: ``traffic_shaping.all|subgraphs.<name>.global_rate_limit``.

Apollo Router's key and meaning: at most ``capacity`` requests to the subgraph per
``interval``, excess requests rejected. Rejected here means the fetch fails at once, without
a request, with ``SUBREQUEST_HTTP_ERROR`` and the reason ``rate limited``; the rest of the
response is still served. The limit is a fixed window per gateway process (each worker counts
its own), and every attempt counts, retries included. ``all``'s limit is each subgraph's own
limit, not one shared by all of them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from crossdock.core.errors import ConfigError
from crossdock.gateway.errors import SubgraphUnreachable
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.values import mapping, parse_duration, per_subgraph

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.plugins.base import SubgraphAnswer, SubgraphCall, SubgraphRequest


class Window:
    """``capacity`` attempts per ``interval`` seconds, counted in fixed windows."""

    __slots__ = ("capacity", "interval", "started", "used")

    def __init__(self, capacity: int, interval: float) -> None:
        self.capacity = capacity
        self.interval = interval
        self.started = 0.0
        self.used = 0

    def take(self, now: float) -> bool:
        """Count one attempt at ``now``; False when the window is full."""
        if now - self.started >= self.interval:
            self.started, self.used = now, 0
        if self.used >= self.capacity:
            return False
        self.used += 1
        return True


class RateLimit(Plugin):
    """Fails fetches to a subgraph past its rate, without sending them."""

    name: ClassVar[str] = "rate_limit"

    def __init__(self, *, default: tuple[int, float] | None,
                 own: Mapping[str, tuple[int, float]]) -> None:
        self.default = default
        self.own = dict(own)
        self.windows: dict[str, Window | None] = {}

    def window(self, subgraph: str) -> Window | None:
        """``subgraph``'s window (None: it has no limit)."""
        if subgraph not in self.windows:
            limit = self.own.get(subgraph, self.default)
            self.windows[subgraph] = Window(*limit) if limit is not None else None
        return self.windows[subgraph]

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        window = self.window(request.subgraph)
        if window is not None and not window.take(time.monotonic()):
            raise SubgraphUnreachable("rate limited")
        return await call(request)


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The plugin of the ``global_rate_limit`` keys; None when no subgraph has one."""
    default: tuple[int, float] | None = None
    own: dict[str, tuple[int, float]] = {}
    for key, subgraph, value in per_subgraph(root, "global_rate_limit"):
        section = mapping(value, key)
        unsupported.extend(f"{key}.{k}" for k in section if k not in {"capacity", "interval"})
        capacity = section.get("capacity")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ConfigError(f"{key}.capacity: {capacity!r} is not a whole number >= 1")
        if "interval" not in section:
            raise ConfigError(f"{key}.interval: required (a duration such as 1s)")
        limit = (capacity, parse_duration(section["interval"], f"{key}.interval"))
        if subgraph is None:
            default = limit
        else:
            own[subgraph] = limit
    if default is None and not own:
        return None
    return RateLimit(default=default, own=own)
