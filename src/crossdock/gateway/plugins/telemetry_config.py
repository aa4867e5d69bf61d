"""The ``telemetry`` keys of ``gateway.yaml``: Apollo Router's, read where crossdock has the
feature.

Read: ``exporters.tracing.otlp`` (``enabled``, ``endpoint``, ``protocol``: ``http`` only),
``exporters.tracing.common`` (``service_name``, ``sampler``, ``parent_based_sampler``),
``exporters.tracing.propagation.trace_context``, ``exporters.metrics.prometheus.enabled``
and ``instrumentation.events.router.response`` (the access log's level). Every other key
under ``telemetry`` is appended to the unsupported list; a value of the wrong type is a
:class:`ConfigError` naming its key.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any
from urllib.parse import urlsplit

from crossdock.core.errors import ConfigError
from crossdock.gateway.values import boolean

#: Where OTLP over HTTP goes when ``endpoint`` is ``default`` or left out (the router's).
DEFAULT_ENDPOINT = "http://127.0.0.1:4318/v1/traces"
#: The service name spans carry when ``service_name`` is left out.
DEFAULT_SERVICE = "crossdock-gateway"
#: The router's event levels and the log method each one is written with.
_LEVELS = {"info": "info", "warn": "warning", "error": "error"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TracingSettings:
    """OTLP tracing: where spans go, which traces are kept, whether W3C context crosses."""

    endpoint: str = DEFAULT_ENDPOINT
    service_name: str = DEFAULT_SERVICE
    #: The share of new traces recorded, 0 to 1.
    ratio: float = 1.0
    #: A trace the client's ``traceparent`` says is sampled (or not) stays so.
    parent_based: bool = True
    #: Continue the client's ``traceparent`` and send each fetch span's to its subgraph.
    trace_context: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TelemetrySettings:
    """What ``telemetry`` turns on; None or False where it is off."""

    tracing: TracingSettings | None = None
    #: Prometheus metrics by operation name (``exporters.metrics.prometheus.enabled``).
    prometheus: bool = False
    #: The structlog method of the access log line (``info``, ``warning``, ``error``).
    access_log: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether any of it is on."""
        return self.tracing is not None or self.prometheus or self.access_log is not None


def parse_telemetry(value: Any, unsupported: list[str]) -> TelemetrySettings:
    """The settings in the ``telemetry`` mapping."""
    root = _section(value, "telemetry", {"exporters", "instrumentation"}, unsupported)
    exporters = _section(root.get("exporters"), "telemetry.exporters",
                         {"tracing", "metrics"}, unsupported)
    return TelemetrySettings(
        tracing=_tracing(exporters.get("tracing"), unsupported),
        prometheus=_prometheus(exporters.get("metrics"), unsupported),
        access_log=_access_log(root.get("instrumentation"), unsupported))


def _tracing(value: Any, unsupported: list[str]) -> TracingSettings | None:
    key = "telemetry.exporters.tracing"
    tracing = _section(value, key, {"otlp", "common", "propagation"}, unsupported)
    otlp = _section(tracing.get("otlp"), f"{key}.otlp", {"enabled", "endpoint", "protocol"},
                    unsupported)
    common = _section(tracing.get("common"), f"{key}.common",
                      {"service_name", "sampler", "parent_based_sampler"}, unsupported)
    propagation = _section(tracing.get("propagation"), f"{key}.propagation",
                           {"trace_context"}, unsupported)
    if not boolean(otlp.get("enabled", False), f"{key}.otlp.enabled"):
        return None
    protocol = otlp.get("protocol", "http")
    if protocol != "http":
        raise ConfigError(f"{key}.otlp.protocol: {protocol!r}: crossdock sends OTLP over "
                          "HTTP only; set http and the collector's HTTP endpoint (port 4318)")
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        raise ConfigError(f"{key}.otlp.enabled: tracing needs the otel extra "
                          "(pip install 'crossdock[gateway,otel]')")
    service = common.get("service_name", DEFAULT_SERVICE)
    if not isinstance(service, str) or not service:
        raise ConfigError(f"{key}.common.service_name: {service!r} is not a name")
    return TracingSettings(
        endpoint=_endpoint(otlp.get("endpoint", "default"), f"{key}.otlp.endpoint"),
        service_name=service,
        ratio=_sampler(common.get("sampler", 1.0), f"{key}.common.sampler"),
        parent_based=boolean(common.get("parent_based_sampler", True),
                             f"{key}.common.parent_based_sampler"),
        trace_context=boolean(propagation.get("trace_context", True),
                              f"{key}.propagation.trace_context"))


def _endpoint(value: Any, key: str) -> str:
    """The traces URL: ``default``, or a base URL (``/v1/traces`` added) or a full one."""
    if value == "default":
        return DEFAULT_ENDPOINT
    if not isinstance(value, str):
        raise ConfigError(f"{key}: {value!r} is not an http(s) URL or default")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{key}: {value!r} is not an http(s) URL or default")
    if parts.path in {"", "/"}:
        return value.rstrip("/") + "/v1/traces"
    return value


def _sampler(value: Any, key: str) -> float:
    """The share of traces kept: a number from 0 to 1, ``always_on`` or ``always_off``."""
    if value == "always_on":
        return 1.0
    if value == "always_off":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{key}: {value!r} is not a number from 0 to 1, always_on or "
                          "always_off")
    return float(value)


def _prometheus(value: Any, unsupported: list[str]) -> bool:
    key = "telemetry.exporters.metrics"
    metrics = _section(value, key, {"prometheus"}, unsupported)
    # listen and path are reported: the metrics are served on the gateway's own /metrics.
    prometheus = _section(metrics.get("prometheus"), f"{key}.prometheus", {"enabled"},
                          unsupported)
    return boolean(prometheus.get("enabled", False), f"{key}.prometheus.enabled")


def _access_log(value: Any, unsupported: list[str]) -> str | None:
    key = "telemetry.instrumentation"
    events = _section(_section(value, key, {"events"}, unsupported).get("events"),
                      f"{key}.events", {"router"}, unsupported)
    router = _section(events.get("router"), f"{key}.events.router", {"response"},
                      unsupported)
    level = router.get("response", "off")
    if level == "off":
        return None
    if level not in _LEVELS:
        raise ConfigError(f"{key}.events.router.response: {level!r} is not one of "
                          "info, warn, error, off")
    return _LEVELS[level]


def _section(value: Any, key: str, read: set[str], unsupported: list[str]) -> dict[str, Any]:
    """The mapping at ``key`` (empty when absent); its keys not in ``read`` are reported."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of keys, got {type(value).__name__}")
    unsupported.extend(f"{key}.{k}" for k in value if k not in read)
    return value
