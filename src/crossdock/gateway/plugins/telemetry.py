"""Telemetry (``telemetry`` in ``gateway.yaml``): OpenTelemetry spans, Prometheus metrics by
operation name, and one access log line per request, each only where the file turns it on.

Without the key (or with all three off) the plugin is not in the chain: no span is started,
no label added, no hook called. On, each request keeps a :class:`_Request` in its context's
``extensions["telemetry"]`` from ``on_request`` to ``on_response``: when it started, its
spans, its operation and how many subgraph attempts it made.

Spans, named as Apollo Router names them: ``router`` (the whole request; a child of the
client's ``traceparent`` when it sent one), under it ``supergraph`` (the operation:
``graphql.operation.name``, ``graphql.operation.type``), under that ``query_planning`` (to
the plan chosen) and one ``subgraph`` per attempt at a fetch (``subgraph.name``, the fetch's
type and document). The subgraph request carries its ``subgraph`` span's ``traceparent``, in
place of the client's. A trace the sampler leaves out has only its ``router`` span, never
recorded, whose ``traceparent`` (sampled flag off) its subgraph requests carry: no child span
is started for nothing.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from crossdock.core.logging import get_logger
from crossdock.gateway.metrics import OperationMetrics
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.plugins.telemetry_config import TelemetrySettings, parse_telemetry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.context import RequestContext
    from crossdock.gateway.plan import Plan
    from crossdock.gateway.plugins.base import (
        GraphQLRequest,
        Operation,
        SubgraphAnswer,
        SubgraphCall,
        SubgraphRequest,
    )
    from crossdock.gateway.plugins.tracing import Span, Tracing
    from crossdock.gateway.result import Result

log = get_logger("crossdock.gateway")
#: A subgraph answer with this status or above marks its span as failed.
_HTTP_ERROR = 400


class _Request:
    """What telemetry keeps of one request between its hooks."""

    __slots__ = ("fetches", "kind", "name", "planning", "router", "started", "supergraph")

    def __init__(self, router: Span | None) -> None:
        self.started = time.perf_counter()
        self.router = router
        self.supergraph: Span | None = None
        self.planning: Span | None = None
        self.name: str | None = None
        self.kind = "unknown"
        self.fetches = 0


def _state(context: RequestContext) -> _Request | None:
    found = context.extensions.get(Telemetry.name)
    return found if isinstance(found, _Request) else None


class Telemetry(Plugin):
    """Spans to an OTLP collector, metrics by operation name, access log lines."""

    name = "telemetry"

    def __init__(self, settings: TelemetrySettings) -> None:
        self.settings = settings
        self.tracing: Tracing | None = None
        if settings.tracing is not None:
            # Imported here: the otel extra is needed only where tracing is on.
            from crossdock.gateway.plugins.tracing import Tracing

            self.tracing = Tracing(settings.tracing)
        self.metrics = OperationMetrics() if settings.prometheus else None
        self.access_log = settings.access_log

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest:
        router = None
        tracing = self.tracing
        if tracing is not None:
            router = tracing.start("router", tracing.remote_parent(request.context.trace),
                                   kind="server",
                                   attributes={"http.request.method": request.method})
        context = request.context
        return request.with_context(dataclasses.replace(context, extensions={
            **context.extensions, self.name: _Request(router)}))

    async def on_operation(self, operation: Operation) -> Operation:
        state = _state(operation.context)
        if state is None:
            return operation
        state.name = operation.context.operation_name
        state.kind = operation.kind
        tracing = self.tracing
        # An unsampled trace gets no child spans: none would be recorded, and its subgraphs
        # are told by the router span's traceparent (see on_subgraph).
        if tracing is not None and state.router is not None and state.router.is_recording():
            state.supergraph = tracing.start("supergraph", state.router, attributes={
                "graphql.operation.name": state.name or "",
                "graphql.operation.type": state.kind})
            state.planning = tracing.start("query_planning", state.supergraph, attributes={
                "graphql.operation.name": state.name or ""})
        return operation

    async def on_plan(self, operation: Operation, plan: Plan) -> Result | None:
        state = _state(operation.context)
        if state is not None and state.planning is not None:
            state.planning.set_attribute("crossdock.plan.fetches",
                                         sum(len(stage) for stage in plan.stages))
            state.planning.end()
            state.planning = None
        return None

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        state = _state(request.context)
        if state is None:
            return await call(request)
        state.fetches += 1
        tracing = self.tracing
        if tracing is None or state.router is None:
            return await call(request)
        if state.supergraph is None:  # unsampled, or before the operation was known
            return await call(dataclasses.replace(
                request, headers=tracing.headers(state.router, request.headers)))
        span = tracing.start("subgraph", state.supergraph, kind="client",
                             attributes=_fetch_attributes(request, state))
        try:
            answer = await call(dataclasses.replace(
                request, headers=tracing.headers(span, request.headers)))
        except Exception as exc:
            tracing.fail(span, type(exc).__name__)
            span.end()
            raise
        span.set_attribute("http.response.status_code", answer.status)
        if answer.status >= _HTTP_ERROR:
            tracing.fail(span, f"HTTP {answer.status}")
        span.end()
        return answer

    async def on_response(self, request: GraphQLRequest, result: Result) -> Result:
        state = _state(request.context)
        if state is None:
            return result
        seconds = time.perf_counter() - state.started
        errors = result.body.get("errors")
        count = len(errors) if isinstance(errors, list) else 0
        if self.tracing is not None:
            _end_spans(self.tracing, state, result.status, count)
        if self.metrics is not None:
            self.metrics.observe(state.name, state.kind, seconds,
                                 failed=result.status >= _HTTP_ERROR or count > 0)
        if self.access_log is not None:
            getattr(log, self.access_log)(
                "graphql_request", request_id=request.context.request_id,
                operation_name=state.name, operation_type=state.kind, status=result.status,
                duration_ms=round(seconds * 1000, 3), errors=count,
                subgraph_fetches=state.fetches)
        return result

    async def aclose(self) -> None:
        if self.tracing is not None:
            await self.tracing.aclose()


def _fetch_attributes(request: SubgraphRequest, state: _Request) -> Mapping[str, Any]:
    return {"subgraph.name": request.subgraph,
            "subgraph.graphql.operation.type": request.kind,
            "subgraph.graphql.document": str(request.body.get("query", "")),
            "graphql.operation.name": state.name or ""}


def _end_spans(tracing: Tracing, state: _Request, status: int, errors: int) -> None:
    """Ends the request's open spans, innermost first, marking failures."""
    if state.planning is not None:
        state.planning.end()
    if state.supergraph is not None:
        if errors:
            tracing.fail(state.supergraph, f"{errors} GraphQL errors")
        state.supergraph.end()
    if state.router is not None:
        state.router.set_attribute("http.response.status_code", status)
        if status >= _HTTP_ERROR:
            tracing.fail(state.router, f"HTTP {status}")
        state.router.end()


def build(root: Mapping[str, Any], unsupported: list[str]) -> Telemetry | None:
    """The telemetry plugin of the file's ``telemetry`` key (None when it turns nothing on)."""
    if "telemetry" not in root:
        return None
    settings = parse_telemetry(root["telemetry"], unsupported)
    return Telemetry(settings) if settings.enabled else None
