"""The gateway's YAML configuration file (``--config gateway.yaml``).

Its keys are Apollo Router's ``router.yaml`` keys with the same meaning, so a team moves from
the router by pointing crossdock at its file. Read so far: ``traffic_shaping`` (``all`` and
``subgraphs.<name>``: ``timeout``, ``experimental_retry``), ``include_subgraph_errors``
(``all``, ``subgraphs``), ``headers`` (:mod:`.headers`), ``cors`` (:mod:`.cors`), ``csrf``
(:mod:`.csrf`), ``supergraph.introspection``, and the keys of the features built as plugins
with ``plugins:`` (:mod:`.plugins.loader`). Any other key is listed in
:attr:`GatewayConfig.unsupported`, which the gateway reports at start, one line each; a value
of the wrong type or out of range is a
:class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import yaml

from crossdock.core.errors import ConfigError
from crossdock.gateway.cors import CorsPolicy, parse_cors
from crossdock.gateway.csrf import CsrfPolicy, parse_csrf
from crossdock.gateway.headers import HeaderRules, Rule, parse_rules
from crossdock.gateway.plugins.loader import load_plugins, section_keys
from crossdock.gateway.values import boolean, parse_duration, supergraph_introspection

if TYPE_CHECKING:
    from pathlib import Path

    from crossdock.gateway.plugins.base import Plugin

#: What a subgraph request may take when no ``timeout`` is set (the router's default).
DEFAULT_TIMEOUT = 30.0
#: The keys of ``traffic_shaping.all`` / ``.subgraphs.<name>`` read here, and by plugins
#: (``plugins/compression.py``, ``plugins/circuit_breaker.py``, ``plugins/rate_limit.py``).
_TRAFFIC_KEYS = frozenset({"timeout", "experimental_retry", "compression", "circuit_breaker",
                           "global_rate_limit"})
#: The top-level keys read here.
_KEYS = frozenset({"traffic_shaping", "include_subgraph_errors", "headers", "cors", "csrf",
                   "supergraph"})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """``experimental_retry``: how many failed subgraph queries may be sent again.

    Each request puts ``retry_percent`` of a retry into a budget kept for ``ttl`` seconds,
    on top of a floor of ``min_per_sec`` retries a second; a retry takes one out.
    """

    min_per_sec: int = 10
    ttl: float = 10.0
    retry_percent: float = 0.2
    retry_mutations: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Traffic:
    """``traffic_shaping`` for all subgraphs or one: None where the file says nothing."""

    timeout: float | None = None
    retry: RetryPolicy | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    """What the configuration file says, with the router's defaults for what it does not."""

    traffic: Traffic = Traffic()
    traffic_subgraphs: dict[str, Traffic] = dataclasses.field(default_factory=dict)
    #: ``include_subgraph_errors.all``: subgraphs' own error messages reach clients.
    include_errors: bool = False
    include_errors_subgraphs: dict[str, bool] = dataclasses.field(default_factory=dict)
    #: ``headers.all.request`` and ``headers.subgraphs.<name>.request``.
    header_rules_all: tuple[Rule, ...] = ()
    header_rules_subgraphs: dict[str, tuple[Rule, ...]] = dataclasses.field(
        default_factory=dict)
    #: ``cors``; None: no response carries a CORS header.
    cors: CorsPolicy | None = None
    #: ``supergraph.introspection``: whether ``__schema`` and ``__type`` are answered; None
    #: when the file does not say (off, as in the router; ``crossdock up`` turns it on).
    introspection: bool | None = None
    #: ``traffic_shaping.router.compression`` (crossdock's own): large responses compressed
    #: for clients that accept it.
    compress_responses: bool = False
    #: ``csrf``: on, with the router's two header names, unless the file says otherwise.
    csrf: CsrfPolicy = dataclasses.field(default_factory=CsrfPolicy)
    #: The plugins the file configures (built-in features' and ``plugins:``), in order.
    plugins: tuple[Plugin, ...] = ()
    #: Dotted names of the keys crossdock does not support yet.
    unsupported: tuple[str, ...] = ()
    #: The timeout where the file sets none (``CROSSDOCK_GATEWAY_SUBGRAPH_TIMEOUT``).
    default_timeout: float = DEFAULT_TIMEOUT

    def timeout(self, subgraph: str) -> float:
        """Seconds a request to ``subgraph`` may take."""
        own = self.traffic_subgraphs.get(subgraph)
        if own is not None and own.timeout is not None:
            return own.timeout
        return self.traffic.timeout if self.traffic.timeout is not None \
            else self.default_timeout

    def retry(self, subgraph: str) -> RetryPolicy | None:
        """The retry policy of ``subgraph`` (None: failed requests are not sent again)."""
        own = self.traffic_subgraphs.get(subgraph)
        if own is not None and own.retry is not None:
            return own.retry
        return self.traffic.retry

    def includes_errors(self, subgraph: str) -> bool:
        """Whether ``subgraph``'s own error messages reach clients."""
        return self.include_errors_subgraphs.get(subgraph, self.include_errors)

    def header_rules(self, subgraph: str) -> HeaderRules | None:
        """The header rules of ``subgraph``, ``all``'s first (None: it has none)."""
        rules = self.header_rules_all + self.header_rules_subgraphs.get(subgraph, ())
        return HeaderRules(rules=rules) if rules else None


def load_config(path: Path) -> GatewayConfig:
    """The configuration in the YAML file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the gateway configuration: {exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ConfigError(f"{path}: not valid YAML{line}") from exc
    try:
        return parse_config({} if document is None else document)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_config(document: Any) -> GatewayConfig:
    """The configuration in an already parsed YAML document."""
    root = _mapping(document, "the configuration")
    known = _KEYS | section_keys()
    unsupported = [key for key in root if key not in known]
    shaping = root.get("traffic_shaping") or {}
    traffic, subgraphs = _traffic_shaping(shaping, unsupported)
    compress = _router_compression(shaping, unsupported)
    include, include_subgraphs = _error_inclusion(root.get("include_subgraph_errors") or {},
                                                  unsupported)
    rules_all, rules_subgraphs = _headers(root.get("headers") or {}, unsupported)
    cors = parse_cors(root["cors"] or {}, unsupported, parse_duration) \
        if "cors" in root else None
    introspection = supergraph_introspection(root, unsupported)
    csrf = parse_csrf(root["csrf"] or {}, unsupported) if "csrf" in root else CsrfPolicy()
    plugins = load_plugins(root, unsupported)
    return GatewayConfig(plugins=plugins, csrf=csrf, traffic=traffic,
                         traffic_subgraphs=subgraphs,
                         include_errors=include, include_errors_subgraphs=include_subgraphs,
                         header_rules_all=rules_all, header_rules_subgraphs=rules_subgraphs,
                         cors=cors, introspection=introspection,
                         compress_responses=compress,
                         unsupported=tuple(unsupported))


def _headers(value: Any, unsupported: list[str],
             ) -> tuple[tuple[Rule, ...], dict[str, tuple[Rule, ...]]]:
    """``headers``: the ``request`` rules of ``all`` and of each subgraph."""
    rules_all: tuple[Rule, ...] = ()
    subgraphs: dict[str, tuple[Rule, ...]] = {}
    for key, section in _mapping(value, "headers").items():
        if key == "all":
            rules_all = _header_section(section, "headers.all", unsupported)
        elif key == "subgraphs":
            for name, own in _mapping(section or {}, "headers.subgraphs").items():
                subgraphs[str(name)] = _header_section(own, f"headers.subgraphs.{name}",
                                                       unsupported)
        else:
            unsupported.append(f"headers.{key}")
    return rules_all, subgraphs


def _header_section(value: Any, key: str, unsupported: list[str]) -> tuple[Rule, ...]:
    section = _mapping(value or {}, key)
    # ``response`` is read by the response headers plugin (plugins/response_headers.py).
    unsupported.extend(f"{key}.{k}" for k in section if k not in {"request", "response"})
    return parse_rules(section.get("request"), f"{key}.request", unsupported)


def _traffic_shaping(value: Any, unsupported: list[str]) -> tuple[Traffic, dict[str, Traffic]]:
    traffic, subgraphs = Traffic(), {}
    for key, section in _mapping(value, "traffic_shaping").items():
        if key == "all":
            traffic = _traffic(section, "traffic_shaping.all", unsupported)
        elif key == "subgraphs":
            for name, own in _mapping(section or {}, "traffic_shaping.subgraphs").items():
                subgraphs[str(name)] = _traffic(own, f"traffic_shaping.subgraphs.{name}",
                                                unsupported)
        elif key != "router":  # read by _router_compression
            unsupported.append(f"traffic_shaping.{key}")
    return traffic, subgraphs


def _router_compression(value: dict[str, Any], unsupported: list[str]) -> bool:
    """``traffic_shaping.router``: only ``compression`` (crossdock's own key) is read."""
    router = _mapping(value.get("router") or {}, "traffic_shaping.router")
    unsupported.extend(f"traffic_shaping.router.{k}" for k in router if k != "compression")
    return boolean(router.get("compression", False), "traffic_shaping.router.compression")


def _error_inclusion(value: Any, unsupported: list[str]) -> tuple[bool, dict[str, bool]]:
    """``include_subgraph_errors``. The router's finer object form is not read yet: what is
    given one stays redacted, closed by default, and the key is reported."""
    include, subgraphs = False, {}
    for key, section in _mapping(value, "include_subgraph_errors").items():
        if key == "all":
            if isinstance(section, dict):
                unsupported.append("include_subgraph_errors.all")
            else:
                include = boolean(section, "include_subgraph_errors.all")
        elif key == "subgraphs":
            for name, own in _mapping(section or {}, "include_subgraph_errors.subgraphs").items():
                if isinstance(own, dict):
                    unsupported.append(f"include_subgraph_errors.subgraphs.{name}")
                    subgraphs[str(name)] = False
                else:
                    subgraphs[str(name)] = boolean(
                        own, f"include_subgraph_errors.subgraphs.{name}")
        else:
            unsupported.append(f"include_subgraph_errors.{key}")
    return include, subgraphs


def _traffic(value: Any, key: str, unsupported: list[str]) -> Traffic:
    section = _mapping(value or {}, key)
    unsupported.extend(f"{key}.{k}" for k in section if k not in _TRAFFIC_KEYS)
    timeout = parse_duration(section["timeout"], f"{key}.timeout") \
        if section.get("timeout") is not None else None
    retry = _retry(section["experimental_retry"], f"{key}.experimental_retry",
                   unsupported) if "experimental_retry" in section else None
    return Traffic(timeout=timeout, retry=retry)


def _retry(value: Any, key: str, unsupported: list[str]) -> RetryPolicy:
    section = _mapping(value or {}, key)
    default = RetryPolicy()
    unsupported.extend(f"{key}.{k}" for k in section
                       if k not in {"min_per_sec", "ttl", "retry_percent", "retry_mutations"})
    min_per_sec = section.get("min_per_sec", default.min_per_sec)
    if isinstance(min_per_sec, bool) or not isinstance(min_per_sec, int) or min_per_sec < 0:
        raise ConfigError(f"{key}.min_per_sec: {min_per_sec!r} is not a whole number >= 0")
    percent = section.get("retry_percent", default.retry_percent)
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not (
            0 <= percent <= 1000):  # noqa: PLR2004 - the router's own bound
        raise ConfigError(f"{key}.retry_percent: {percent!r} is not a number from 0 to 1000")
    ttl = parse_duration(section["ttl"], f"{key}.ttl") if "ttl" in section else default.ttl
    if not 1 <= ttl <= 60:  # noqa: PLR2004 - a budget kept 1 s to 60 s, as the router's
        raise ConfigError(f"{key}.ttl: must be from 1s to 60s")
    mutations = boolean(section.get("retry_mutations", False), f"{key}.retry_mutations")
    if mutations:
        # A retried mutation can run twice on the subgraph: crossdock never does it.
        raise ConfigError(f"{key}.retry_mutations: crossdock never retries mutations; "
                          "set it to false or leave it out")
    return RetryPolicy(min_per_sec=min_per_sec, ttl=ttl, retry_percent=float(percent))


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of keys, got {type(value).__name__}")
    return value


