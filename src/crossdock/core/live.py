"""What a service's running part lends its own admin subgraph in the same process.

Under ``crossdock up`` the admin subgraphs are built before the services start, and served by
the same process: a service whose subgraph describes its running state (the gateway: its
supergraph after a hot reload, its planner) lends that state on the runtime while it runs,
under a typed key of its own, and its subgraph's resolvers read it back. The core only keeps
the slots; it never knows what is in them. Where the service does not run in the process
(``crossdock admin graph serve`` beside a gateway of its own), the slot is empty and
:meth:`LiveStates.require` says so in one line, which the subgraph answers as an error with
the code ``SERVICE_UNAVAILABLE``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from crossdock.core.errors import NotLive

if TYPE_CHECKING:
    from collections.abc import Iterator

T = TypeVar("T")


# Not slotted: a slotted generic dataclass cannot be made as ``LiveKey[T](...)``.
@dataclasses.dataclass(frozen=True)
class LiveKey(Generic[T]):
    """The typed name of one service's live state (``LiveKey[GatewayApp]("gateway")``)."""

    service: str
    #: What is missing where the service does not run, for :class:`NotLive`'s message.
    absent: str = ""


class LiveStates:
    """The live states lent in this process, by key."""

    def __init__(self) -> None:
        self._lent: dict[LiveKey[Any], Any] = {}

    @contextlib.contextmanager
    def lend(self, key: LiveKey[T], value: T) -> Iterator[T]:
        """Lend ``value`` under ``key`` for as long as the block runs."""
        if key in self._lent:
            raise ValueError(f"the {key.service} service already lent its live state")
        self._lent[key] = value
        try:
            yield value
        finally:
            del self._lent[key]

    def get(self, key: LiveKey[T]) -> T | None:
        """What is lent under ``key``; None when nothing is."""
        return cast("T | None", self._lent.get(key))

    def require(self, key: LiveKey[T]) -> T:
        """What is lent under ``key``; :class:`NotLive` when nothing is."""
        found = self.get(key)
        if found is None:
            raise NotLive(key.absent or f"the {key.service} service does not run in this "
                          "process")
        return found
