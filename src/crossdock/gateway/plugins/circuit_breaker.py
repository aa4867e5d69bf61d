"""A circuit breaker per subgraph: ``traffic_shaping.all|subgraphs.<name>.circuit_breaker``.

crossdock's own key (Apollo Router has none)::

    circuit_breaker:
      failure_ratio: 0.5   # open when half the attempts fail...
      min_requests: 10     # ...of at least this many...
      window: 10s          # ...in this window
      open_for: 5s         # then fail fast this long before one probe

A failed attempt is one that raised (refused, reset, timed out) or got a 5xx. While the
circuit is open every fetch to that subgraph fails at once, without a request, with
``SUBREQUEST_HTTP_ERROR`` and the reason ``circuit open``: a subgraph that is down costs
neither its callers' time nor its own recovery. After ``open_for`` one attempt is let through
(half-open): its success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any, ClassVar

from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.gateway.errors import SubgraphError, SubgraphUnreachable
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.values import parse_duration, per_subgraph

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.plugins.base import SubgraphAnswer, SubgraphCall, SubgraphRequest

log = get_logger("crossdock.gateway")

_SERVER_ERROR = 500
_BUCKETS = 10
_KEYS = frozenset({"failure_ratio", "min_requests", "window", "open_for"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """When one subgraph's circuit opens, and for how long."""

    failure_ratio: float = 0.5
    min_requests: int = 10
    window: float = 10.0
    open_for: float = 5.0


class Circuit:
    """One subgraph's circuit: closed (counting), open (until a time), or half-open."""

    __slots__ = ("_attempts", "_failures", "_slot", "opened_until", "policy", "probing")

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.opened_until: float | None = None
        self.probing = False
        self._attempts = [0] * _BUCKETS
        self._failures = [0] * _BUCKETS
        self._slot = 0

    def admit(self, now: float) -> bool | None:
        """None: refused (open, or a probe is out); False: an ordinary attempt; True: the
        half-open probe."""
        if self.opened_until is None:
            return False
        if now < self.opened_until or self.probing:
            return None
        self.probing = True
        return True

    def record(self, now: float, *, failed: bool, probe: bool) -> None:
        """Count an attempt's outcome."""
        if probe:
            self.probing = False
            if failed:
                self.opened_until = now + self.policy.open_for
            else:
                self.opened_until = None
                self._attempts = [0] * _BUCKETS
                self._failures = [0] * _BUCKETS
            return
        if self.opened_until is not None:
            return  # an answer to an attempt sent before the circuit opened
        index = self._advance(now)
        self._attempts[index] += 1
        self._failures[index] += failed
        attempts = sum(self._attempts)
        if failed and attempts >= self.policy.min_requests \
                and sum(self._failures) >= self.policy.failure_ratio * attempts:
            self.opened_until = now + self.policy.open_for

    def _advance(self, now: float) -> int:
        """The current bucket, after emptying those older than the window."""
        slot = int(now / (self.policy.window / _BUCKETS))
        for step in range(1, min(slot - self._slot, _BUCKETS) + 1):
            index = (self._slot + step) % _BUCKETS
            self._attempts[index] = self._failures[index] = 0
        self._slot = max(slot, self._slot)
        return slot % _BUCKETS


class CircuitBreaker(Plugin):
    """Fails fetches to a subgraph whose circuit is open, without sending them."""

    name: ClassVar[str] = "circuit_breaker"

    def __init__(self, *, default: BreakerPolicy | None,
                 own: Mapping[str, BreakerPolicy | None]) -> None:
        self.default = default
        self.own = dict(own)
        self.circuits: dict[str, Circuit | None] = {}

    def circuit(self, subgraph: str) -> Circuit | None:
        """``subgraph``'s circuit (None: it has no breaker)."""
        if subgraph not in self.circuits:
            policy = self.own.get(subgraph, self.default)
            self.circuits[subgraph] = Circuit(policy) if policy is not None else None
        return self.circuits[subgraph]

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        circuit = self.circuit(request.subgraph)
        if circuit is None:
            return await call(request)
        probe = circuit.admit(time.monotonic())
        if probe is None:
            raise SubgraphUnreachable("circuit open")
        try:
            answer = await call(request)
        except SubgraphError:
            self._record(circuit, request.subgraph, failed=True, probe=probe)
            raise
        except BaseException:
            if probe:
                circuit.probing = False  # cancelled: another attempt may probe
            raise
        self._record(circuit, request.subgraph, failed=answer.status >= _SERVER_ERROR,
                     probe=probe)
        return answer

    @staticmethod
    def _record(circuit: Circuit, subgraph: str, *, failed: bool, probe: bool) -> None:
        until = circuit.opened_until
        circuit.record(time.monotonic(), failed=failed, probe=probe)
        if probe and not failed:
            log.info("subgraph_circuit_closed", subgraph=subgraph)
        elif circuit.opened_until is not None and circuit.opened_until != until:
            log.warning("subgraph_circuit_opened", subgraph=subgraph,
                        seconds=circuit.policy.open_for)


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The plugin of the ``circuit_breaker`` keys; None when no subgraph has one."""
    default: BreakerPolicy | None = None
    own: dict[str, BreakerPolicy | None] = {}
    for key, subgraph, value in per_subgraph(root, "circuit_breaker"):
        policy = _policy(value, key, unsupported)
        if subgraph is None:
            default = policy
        else:
            own[subgraph] = policy
    if default is None and not any(own.values()):
        return None
    return CircuitBreaker(default=default, own=own)


def _policy(value: Any, key: str, unsupported: list[str]) -> BreakerPolicy | None:
    """A ``circuit_breaker`` value: a mapping of the keys above, or false (none)."""
    if value is False:
        return None
    if value is True or value is None:
        return BreakerPolicy()
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of keys, or false")
    unsupported.extend(f"{key}.{k}" for k in value if k not in _KEYS)
    default = BreakerPolicy()
    ratio = value.get("failure_ratio", default.failure_ratio)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ConfigError(f"{key}.failure_ratio: {ratio!r} is not a number above 0, at most 1")
    least = value.get("min_requests", default.min_requests)
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise ConfigError(f"{key}.min_requests: {least!r} is not a whole number >= 1")
    window = parse_duration(value["window"], f"{key}.window") if "window" in value \
        else default.window
    open_for = parse_duration(value["open_for"], f"{key}.open_for") if "open_for" in value \
        else default.open_for
    return BreakerPolicy(failure_ratio=float(ratio), min_requests=least, window=window,
                         open_for=open_for)
