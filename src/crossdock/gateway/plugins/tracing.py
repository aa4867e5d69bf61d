"""OpenTelemetry spans of the gateway, exported over OTLP/HTTP by a batch span processor.

Only :mod:`.telemetry` imports this module, and only when ``gateway.yaml`` turns OTLP
tracing on: the ``otel`` extra is not needed otherwise. Spans are started with an explicit
parent (no context variable is attached), so a hook that never runs leaves nothing behind.
The tracer provider is private to the plugin (never the process's global one) and made on
the first span, in the process that serves: ``--workers`` forks before any request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.span import TraceState

if TYPE_CHECKING:
    from opentelemetry.util.types import Attributes

    from crossdock.gateway.context import TraceContext
    from crossdock.gateway.plugins.telemetry_config import TracingSettings
    from crossdock.gateway.transport import SubgraphHeaders

__all__ = ["Span", "Tracing"]

#: The W3C headers a fetch span's context replaces in a subgraph request.
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_KINDS = {"server": SpanKind.SERVER, "client": SpanKind.CLIENT, "internal": SpanKind.INTERNAL}


class Tracing:
    """Starts the gateway's spans and sends them to one OTLP/HTTP endpoint."""

    __slots__ = ("_provider", "_tracer", "settings")

    def __init__(self, settings: TracingSettings) -> None:
        self.settings = settings
        self._provider: TracerProvider | None = None
        self._tracer: trace.Tracer | None = None

    def _start(self) -> trace.Tracer:
        settings = self.settings
        sampler: Sampler = TraceIdRatioBased(settings.ratio)
        if settings.parent_based:
            sampler = ParentBased(root=sampler)
        provider = TracerProvider(
            sampler=sampler, resource=Resource({"service.name": settings.service_name}))
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=settings.endpoint)))
        self._provider = provider
        self._tracer = provider.get_tracer("crossdock.gateway")
        return self._tracer

    def start(self, name: str, parent: Span | None, *, kind: str = "internal",
              attributes: Attributes = None) -> Span:
        """A span called ``name`` under ``parent`` (None: a new trace); ``kind`` is
        ``server``, ``client`` or ``internal``."""
        tracer = self._tracer if self._tracer is not None else self._start()
        context = trace.set_span_in_context(parent) if parent is not None else None
        return tracer.start_span(name, context=context, kind=_KINDS[kind],
                                 attributes=attributes)

    @staticmethod
    def fail(span: Span, description: str) -> None:
        """Marks ``span`` as failed, saying why."""
        span.set_status(StatusCode.ERROR, description)

    def remote_parent(self, client: TraceContext | None) -> Span | None:
        """The client's span, from its ``traceparent``, when the gateway continues it."""
        if client is None or not self.settings.trace_context:
            return None
        _, trace_id, span_id, flags = client.traceparent.split("-")[:4]
        state = TraceState.from_header([client.tracestate]) if client.tracestate else None
        return NonRecordingSpan(SpanContext(
            trace_id=int(trace_id, 16), span_id=int(span_id, 16), is_remote=True,
            trace_flags=TraceFlags(int(flags, 16) & TraceFlags.SAMPLED), trace_state=state))

    def headers(self, span: Span, headers: SubgraphHeaders) -> SubgraphHeaders:
        """``headers`` with ``span``'s W3C context in place of the one they carried."""
        if not self.settings.trace_context:
            return headers
        found = span.get_span_context()
        kept = tuple((n, v) for n, v in headers if n not in _TRACE_HEADERS)
        parent = ("traceparent",
                  f"00-{found.trace_id:032x}-{found.span_id:016x}-{found.trace_flags:02x}")
        state = found.trace_state.to_header() if found.trace_state else ""
        if state:
            return (*kept, parent, ("tracestate", state))
        return (*kept, parent)

    def flush(self) -> None:
        """Exports the spans queued now, blocking until the collector has them."""
        if self._provider is not None:
            self._provider.force_flush()

    async def aclose(self) -> None:
        """Exports the spans still queued, then stops the exporter's thread."""
        if self._provider is not None:
            # shutdown() blocks on the last export: off the event loop.
            await asyncio.to_thread(self._provider.shutdown)
            self._provider = self._tracer = None

