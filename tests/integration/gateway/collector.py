"""A tiny OTLP/HTTP trace collector: an ASGI app that decodes what exporters POST to
``/v1/traces`` (protobuf) and keeps each span as a plain value."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from crossdock.core.asgi import Receive, Scope, Send, read_body, send_bytes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedSpan:
    """One span as the collector received it (ids in lower-case hex)."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    service: str
    #: The status code: 0 unset, 1 ok, 2 error.
    status: int


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class Collector:
    """Receives OTLP/HTTP exports; ``spans`` holds every span, in the order received."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.exports = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive) or b""
        if scope["path"] != "/v1/traces" or scope["method"] != "POST":
            await send_bytes(send, 404, b"not found", b"text/plain")
            return
        request = ExportTraceServiceRequest.FromString(body)
        self.exports += 1
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(ReceivedSpan(
                    name=span.name, trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                    parent_id=span.parent_span_id.hex(),
                    attributes={a.key: _value(a.value) for a in span.attributes},
                    service=str(resource.get("service.name")), status=span.status.code,
                ) for span in scope_spans.spans)
        await send_bytes(send, 200, ExportTraceServiceResponse().SerializeToString(),
                         b"application/x-protobuf")

    def named(self, name: str) -> list[ReceivedSpan]:
        """The spans called ``name``."""
        return [span for span in self.spans if span.name == name]
