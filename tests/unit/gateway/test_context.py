"""The request context built from an ASGI scope, and the W3C trace context rules."""

from __future__ import annotations

from typing import Any

import pytest

from crossdock.gateway.context import Headers, RequestContext, TraceContext

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _scope(*headers: tuple[bytes, bytes], client: Any = ("10.0.0.7", 5123)) -> dict[str, Any]:
    return {"type": "http", "headers": list(headers), "client": client}


def test_context_holds_the_request_id_client_headers_and_trace() -> None:
    context = RequestContext.from_scope(_scope(
        (b"x-custom", b"a"), (b"x-custom", b"b"), (b"traceparent", PARENT.encode()),
        (b"tracestate", b"congo=1"), (b"tracestate", b"rojo=2")), "req-1")
    assert context.request_id == "req-1"
    assert context.client == ("10.0.0.7", 5123)
    assert context.headers["X-Custom"] == "a, b"
    assert "x-custom" in context.headers
    assert context.trace == TraceContext(traceparent=PARENT, tracestate="congo=1,rojo=2")
    assert context.subgraph_headers == (("traceparent", PARENT),
                                        ("tracestate", "congo=1,rojo=2"))
    assert context.plan_key == ()
    assert dict(context.claims) == {}


def test_context_is_immutable_and_named_makes_a_new_one() -> None:
    context = RequestContext.from_scope(_scope(client=None), "req-2")
    assert context.client is None
    assert context.subgraph_headers == ()
    with pytest.raises(AttributeError):
        context.request_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        context.headers["x"] = "y"  # type: ignore[index]
    named = context.named("Top")
    assert named.operation_name == "Top"
    assert context.operation_name is None
    assert named.named("Top") is named


def test_headers_view_reads_latin1_and_lowercases_names() -> None:
    headers = Headers(((b"Content-Type", b"text/plain"), (b"x-name", "caf\xe9".encode("latin-1"))))
    assert headers["content-type"] == "text/plain"
    assert headers["X-NAME"] == "caf\xe9"
    assert sorted(headers) == ["content-type", "x-name"]
    assert len(headers) == 2


@pytest.mark.parametrize(("traceparent", "valid"), [
    (PARENT, True),
    ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later-field", True),
    (PARENT + "-extra", False),  # version 00 has exactly four fields
    ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", False),
    ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", False),
    ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", False),
    ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", False),
    ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", False),
    ("", False),
])
def test_traceparent_is_kept_only_when_valid(traceparent: str, valid: bool) -> None:
    trace = TraceContext.parse(traceparent, "a=1")
    assert (trace is not None) is valid
    if trace is not None:
        assert trace.traceparent == traceparent
        assert trace.tracestate == "a=1"


@pytest.mark.parametrize("tracestate", ["a=1\r\nx-injected: 1", "a=" + "x" * 511, "\x00"])
def test_an_unusable_tracestate_is_dropped_and_the_traceparent_kept(tracestate: str) -> None:
    trace = TraceContext.parse(PARENT, tracestate)
    assert trace == TraceContext(traceparent=PARENT)
    assert trace.headers() == (("traceparent", PARENT),)
