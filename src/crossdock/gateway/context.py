"""The request context: what the gateway knows of one client request, end to end.

The GraphQL app builds it from the ASGI scope (:meth:`RequestContext.from_scope`) and hands
it to ``Gateway.execute``; the plan cache keys on its ``plan_key`` and the executor sends its
``subgraph_headers`` with every subgraph request. It is immutable: a step that learns
something (the operation's name, a token's claims) makes a new one with
``dataclasses.replace``, so no request sees another's state.

The W3C trace context (``traceparent``, ``tracestate``) is forwarded to every subgraph when
the client sent a valid one, so a trace crosses the gateway even while the gateway itself
records no spans.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Hashable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crossdock.core.asgi import Scope

#: Version 00 of the W3C ``traceparent``; later versions may append fields after a dash.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?",
                          re.DOTALL)
#: The spec lets a party cut ``tracestate`` at 512 characters; it is printable ASCII.
_TRACESTATE = re.compile(r"[\x20-\x7e]{0,512}")
#: The empty read-only mapping of a context's claims and extensions until a step sets them.
_NO_CLAIMS: Mapping[str, Any] = MappingProxyType({})


class Headers(Mapping[str, str]):
    """A request's headers, read-only: lower-case names, repeated ones joined by commas."""

    __slots__ = ("_map", "_raw")

    def __init__(self, raw: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self._raw = raw
        self._map: dict[str, str] | None = None

    def _mapping(self) -> dict[str, str]:
        # Built on first use: most requests never read a header through the context.
        if self._map is None:
            found: dict[str, str] = {}
            for name, value in self._raw:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                found[key] = f"{found[key]}, {text}" if key in found else text
            self._map = found
        return self._map

    def __getitem__(self, name: str) -> str:
        return self._mapping()[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._mapping()

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"Headers({self._mapping()!r})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TraceContext:
    """A valid W3C trace context the client sent."""

    traceparent: str
    tracestate: str | None = None

    @classmethod
    def parse(cls, traceparent: str | None, tracestate: str | None) -> TraceContext | None:
        """The trace context of these header values, or None when ``traceparent`` is invalid.

        As the spec asks, a ``tracestate`` without a valid ``traceparent`` is dropped, and so
        is one that is not printable ASCII or longer than 512 characters.
        """
        if traceparent is None:
            return None
        match = _TRACEPARENT.fullmatch(traceparent.strip())
        if match is None:
            return None
        version, trace_id, parent_id, more = match.groups()
        if version == "ff" or (version == "00" and more is not None) \
                or trace_id == "0" * 32 or parent_id == "0" * 16:
            return None
        if tracestate is not None and not _TRACESTATE.fullmatch(tracestate):
            tracestate = None
        return cls(traceparent=match[0], tracestate=tracestate or None)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The headers that carry this context to a subgraph."""
        if self.tracestate is None:
            return (("traceparent", self.traceparent),)
        return (("traceparent", self.traceparent), ("tracestate", self.tracestate))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """One client request, as planning, execution and (later) plugins see it."""

    #: The client's ``X-Request-ID`` when usable, else one the gateway made; on every log line.
    request_id: str
    headers: Headers = dataclasses.field(default_factory=Headers)
    #: The client's address and port, when the server knows them.
    client: tuple[str, int] | None = None
    #: The operation's name: the one the client gave, or the document's only operation's.
    operation_name: str | None = None
    trace: TraceContext | None = None
    #: Headers every subgraph request of this request carries besides the fixed ones.
    subgraph_headers: tuple[tuple[str, str], ...] = ()
    #: What an authentication step established about the caller (a token's claims).
    claims: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _NO_CLAIMS)
    #: What a plan depends on besides the operation: the plan cache keys on it. An
    #: authorization step that removes fields from the operation puts its decision here
    #: (e.g. the scopes granted), so requests decided alike share a plan and others do not.
    plan_key: tuple[Hashable, ...] = ()
    #: Values plugins keep for later steps of the same request, by plugin name.
    extensions: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _NO_CLAIMS)

    @classmethod
    def from_scope(cls, scope: Scope, request_id: str) -> RequestContext:
        """The context of the HTTP request in ``scope``."""
        raw = tuple(scope["headers"])
        traceparent = tracestate = None
        for name, value in raw:
            if name == b"traceparent":
                traceparent = value.decode("latin-1")
            elif name == b"tracestate":
                text = value.decode("latin-1")
                tracestate = text if tracestate is None else f"{tracestate},{text}"
        trace = TraceContext.parse(traceparent, tracestate) if traceparent else None
        client = scope.get("client")
        return cls(request_id=request_id, headers=Headers(raw),
                   client=(client[0], client[1]) if client else None, trace=trace,
                   subgraph_headers=trace.headers() if trace is not None else ())

    def named(self, operation_name: str | None) -> RequestContext:
        """This context for the operation called ``operation_name``."""
        if operation_name == self.operation_name:
            return self
        return dataclasses.replace(self, operation_name=operation_name)
