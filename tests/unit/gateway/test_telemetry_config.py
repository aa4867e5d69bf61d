"""The ``telemetry`` keys: Apollo Router's read where they map, the rest reported, bad values
refused naming the key; the operation-name label capped."""

from __future__ import annotations

import pytest
import yaml
from prometheus_client import REGISTRY

from crossdock.core.errors import ConfigError
from crossdock.gateway.config import parse_config
from crossdock.gateway.metrics import OTHER, OperationMetrics
from crossdock.gateway.plugins.telemetry import Telemetry
from crossdock.gateway.plugins.telemetry_config import (
    DEFAULT_ENDPOINT,
    TelemetrySettings,
    TracingSettings,
    parse_telemetry,
)


def _parse(text: str) -> tuple[TelemetrySettings, list[str]]:
    unsupported: list[str] = []
    return parse_telemetry(yaml.safe_load(text), unsupported), unsupported


def test_a_router_file_is_read_where_it_maps_and_the_rest_is_reported() -> None:
    settings, unsupported = _parse("""
apollo: {client_name_header: x-client}
exporters:
  logging: {stdout: {enabled: true, format: json}}
  tracing:
    common: {service_name: shop, sampler: 0.25, parent_based_sampler: false,
             resource: {env: prod}}
    otlp: {enabled: true, endpoint: "http://collector:4318", protocol: http,
           batch_processor: {max_queue_size: 10}}
    propagation: {trace_context: true, jaeger: true}
    zipkin: {enabled: true}
  metrics:
    prometheus: {enabled: true, listen: 127.0.0.1:9090, path: /metrics}
instrumentation:
  events:
    router: {response: warn, request: info}
    subgraph: {request: info}
  spans: {mode: spec_compliant}
""")
    assert settings == TelemetrySettings(
        tracing=TracingSettings(endpoint="http://collector:4318/v1/traces", service_name="shop",
                                ratio=0.25, parent_based=False, trace_context=True),
        prometheus=True, access_log="warning")
    assert sorted(unsupported) == sorted([
        "telemetry.apollo", "telemetry.exporters.logging",
        "telemetry.exporters.tracing.common.resource",
        "telemetry.exporters.tracing.otlp.batch_processor",
        "telemetry.exporters.tracing.propagation.jaeger",
        "telemetry.exporters.tracing.zipkin",
        "telemetry.exporters.metrics.prometheus.listen",
        "telemetry.exporters.metrics.prometheus.path",
        "telemetry.instrumentation.events.router.request",
        "telemetry.instrumentation.events.subgraph",
        "telemetry.instrumentation.spans"])


def test_defaults_are_the_routers_with_otlp_over_http() -> None:
    settings, unsupported = _parse("exporters: {tracing: {otlp: {enabled: true}}}")
    assert settings.tracing == TracingSettings()
    assert settings.tracing.endpoint == DEFAULT_ENDPOINT == "http://127.0.0.1:4318/v1/traces"
    assert settings.tracing.ratio == 1.0
    assert (settings.prometheus, settings.access_log, unsupported) == (False, None, [])


def test_a_full_endpoint_url_is_kept_and_always_off_samples_nothing() -> None:
    settings, _ = _parse("""
exporters:
  tracing:
    common: {sampler: always_off}
    otlp: {enabled: true, endpoint: "https://otel.example.com/custom/traces"}
""")
    assert settings.tracing is not None
    assert settings.tracing.endpoint == "https://otel.example.com/custom/traces"
    assert settings.tracing.ratio == 0.0


@pytest.mark.parametrize(("text", "message"), [
    ("exporters: {tracing: {otlp: {enabled: true, protocol: grpc}}}",
     "telemetry.exporters.tracing.otlp.protocol: 'grpc': crossdock sends OTLP over HTTP only"),
    ("exporters: {tracing: {otlp: {enabled: yes please}}}",
     "telemetry.exporters.tracing.otlp.enabled: 'yes please' is not true or false"),
    ("exporters: {tracing: {otlp: {enabled: true, endpoint: collector:4318}}}",
     "telemetry.exporters.tracing.otlp.endpoint: 'collector:4318' is not an http"),
    ("exporters: {tracing: {otlp: {enabled: true}, common: {sampler: 1.5}}}",
     "telemetry.exporters.tracing.common.sampler: 1.5 is not a number from 0 to 1"),
    ("exporters: {tracing: {otlp: {enabled: true}, common: {service_name: ''}}}",
     "telemetry.exporters.tracing.common.service_name: '' is not a name"),
    ("exporters: {metrics: {prometheus: true}}",
     "telemetry.exporters.metrics.prometheus: expected a mapping"),
    ("instrumentation: {events: {router: {response: loud}}}",
     "telemetry.instrumentation.events.router.response: 'loud' is not one of"),
    ("[]", "telemetry: expected a mapping"),
], ids=["grpc", "enabled", "endpoint", "sampler", "service", "prometheus", "level", "list"])
def test_a_bad_value_is_a_config_error_naming_its_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_config({"telemetry": yaml.safe_load(text)})


def test_the_plugin_is_first_in_the_chain_only_when_something_is_on() -> None:
    # Authorization is always configured (its directives are on by default).
    assert [p.name for p in parse_config({"telemetry": {"exporters": {}}}).plugins] == [
        "authorization"]
    config = parse_config({"telemetry": {"exporters": {"metrics": {
        "prometheus": {"enabled": True}}}}})
    plugin, _ = config.plugins
    assert isinstance(plugin, Telemetry)
    assert plugin.tracing is None


def test_operation_names_past_the_limit_are_counted_as_other() -> None:
    metrics = OperationMetrics(limit=2, names=set())
    for name in ["CapA", "CapB", "CapC", "CapD", "CapA", "CapC"]:
        metrics.observe(name, "query", 0.01, failed=name == "CapD")

    def count(name: str) -> float:
        return REGISTRY.get_sample_value("crossdock_gateway_operation_seconds_count",
                                         {"operation_name": name, "operation": "query"}) or 0.0

    before_other = count(OTHER)
    metrics.observe("CapE", "query", 0.01, failed=False)
    assert (count("CapA"), count("CapB"), count("CapC"), count("CapD")) == (2, 1, 0, 0)
    assert count(OTHER) - before_other == 1
    assert REGISTRY.get_sample_value("crossdock_gateway_operation_errors_total", {
        "operation_name": OTHER, "operation": "query"}) >= 1


def test_a_new_plugin_does_not_admit_more_operation_names_than_the_limit() -> None:
    """A configuration reload makes a new plugin: the names admitted stay the process's."""
    names: set[str] = set()
    OperationMetrics(limit=1, names=names).observe("ReloadA", "query", 0.01, failed=False)
    OperationMetrics(limit=1, names=names).observe("ReloadB", "query", 0.01, failed=False)
    assert names == {"ReloadA"}
    assert REGISTRY.get_sample_value("crossdock_gateway_operation_seconds_count", {
        "operation_name": "ReloadB", "operation": "query"}) is None
