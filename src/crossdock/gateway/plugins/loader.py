"""Plugins named in ``gateway.yaml``: the built-in features' sections and ``plugins:``.

Built-in features read Apollo Router's keys (``authentication``, ``apq``, ``limits``...):
each is a :class:`Section` listed in :data:`SECTIONS`, whose ``build`` reads its keys and
gives the feature's plugin (or None when the file leaves it off). Then ``plugins:`` names
plugins of the team's own, as the router's ``plugins:`` does for its native ones::

    plugins:
      mycompany.audit:            # an entry point in the crossdock.gateway.plugins group
        log_level: info
      "mycompany.plugins:Tenant": # or module:attribute
        header: x-tenant

Each is called with its options (the value under its name) and must give a
:class:`~crossdock.gateway.plugins.base.Plugin`. The chain's order is :data:`SECTIONS`'
order, then the file's ``plugins:`` order: the first is outermost (its ``on_subgraph``
wraps the others').
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
from collections.abc import Callable, Mapping
from typing import Any

from crossdock.core.errors import ConfigError
from crossdock.gateway.plugins import (
    authorization,
    circuit_breaker,
    compression,
    demand_control,
    jwt,
    rate_limit,
    response_headers,
    telemetry,
)
from crossdock.gateway.plugins.apq import build_apq
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.plugins.limits import build_limits
from crossdock.gateway.plugins.persisted_queries import build_persisted_queries

#: The entry point group where installed packages offer plugins by name.
ENTRY_POINTS = "crossdock.gateway.plugins"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A built-in feature configured by top-level ``keys`` of the file."""

    keys: frozenset[str]
    #: Reads the whole file's mapping (only its ``keys`` matter to it) and appends the dotted
    #: names of the sub-keys it does not support to the list; raises ConfigError.
    build: Callable[[Mapping[str, Any], list[str]], Plugin | None]


#: The built-in features, outermost first. A feature adds its Section here.
SECTIONS: tuple[Section, ...] = (
    Section(keys=frozenset({"telemetry"}), build=telemetry.build),
    Section(keys=frozenset({"persisted_queries"}), build=build_persisted_queries),
    Section(keys=frozenset({"apq"}), build=build_apq),
    Section(keys=frozenset({"authentication"}), build=jwt.build),
    Section(keys=frozenset({"limits"}), build=build_limits),
    Section(keys=frozenset({"authorization"}), build=authorization.build),
    Section(keys=frozenset({"demand_control"}), build=demand_control.build),
    Section(keys=frozenset({"traffic_shaping"}), build=rate_limit.build),
    Section(keys=frozenset({"traffic_shaping"}), build=circuit_breaker.build),
    Section(keys=frozenset({"traffic_shaping"}), build=compression.build),
    Section(keys=frozenset({"headers"}), build=response_headers.build),
)


def section_keys() -> frozenset[str]:
    """The top-level keys the built-in sections and ``plugins`` read."""
    return frozenset({"plugins"}).union(*(s.keys for s in SECTIONS))


def load_plugins(root: Mapping[str, Any], unsupported: list[str]) -> tuple[Plugin, ...]:
    """The plugins the file configures: the built-in sections', then ``plugins:``."""
    found = [plugin for section in SECTIONS
             if (plugin := section.build(root, unsupported)) is not None]
    named = root.get("plugins")
    if named is None:
        named = {}
    if not isinstance(named, dict):
        raise ConfigError("plugins: expected a mapping of plugin names to their options")
    found.extend(load_plugin(str(name), options) for name, options in named.items())
    return tuple(found)


def load_plugin(name: str, options: Any) -> Plugin:
    """The plugin ``name`` (an entry point's name, or ``module:attribute``) made with
    ``options``."""
    factory = _factory(name)
    try:
        plugin = factory(options)
    except ConfigError as exc:
        raise ConfigError(f"plugins.{name}: {exc}") from exc
    except Exception as exc:  # a third party's constructor: say which one failed
        raise ConfigError(f"plugins.{name}: the plugin refused its options: {exc}") from exc
    if not isinstance(plugin, Plugin):
        raise ConfigError(f"plugins.{name}: gave {type(plugin).__name__}, not a Plugin")
    return plugin


def _factory(name: str) -> Callable[[Any], Any]:
    for point in importlib.metadata.entry_points(group=ENTRY_POINTS, name=name):
        return point.load()  # type: ignore[no-any-return]
    module_name, colon, attribute = name.partition(":")
    if not colon or not module_name or not attribute:
        raise ConfigError(f"plugins.{name}: no plugin of that name (an entry point in "
                          f"{ENTRY_POINTS}, or module:attribute)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"plugins.{name}: cannot import {module_name}: {exc}") from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"plugins.{name}: {module_name} has no callable {attribute}")
    return factory  # type: ignore[no-any-return]
