"""Readers of the values ``gateway.yaml`` holds, shared by the sections that read them: each
gives the value or a :class:`ConfigError` naming its key."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from crossdock.core.errors import ConfigError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: An HTTP field name (RFC 9110's ``token``).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def boolean(value: Any, key: str) -> bool:
    """``value`` when it is true or false."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not true or false")
    return value


def parse_duration(value: Any, key: str) -> float:
    """Seconds in a duration such as ``30s``, ``500ms``, ``1m30s`` (or a number of seconds)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    text = str(value).strip() if isinstance(value, str) else ""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ConfigError(f"{key}: {value!r} is not a duration (such as 30s or 500ms)")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise ConfigError(f"{key}: the duration must be more than 0")
    return seconds


def supergraph_introspection(root: Mapping[str, Any], unsupported: list[str] | None = None,
                             ) -> bool | None:
    """``supergraph.introspection`` (None when the file does not say); the other
    ``supergraph`` keys are appended to ``unsupported``."""
    section = root.get("supergraph") or {}
    if not isinstance(section, dict):
        raise ConfigError("supergraph: expected a mapping of keys")
    if unsupported is not None:
        unsupported.extend(f"supergraph.{k}" for k in section if k != "introspection")
    if "introspection" not in section:
        return None
    return boolean(section["introspection"], "supergraph.introspection")


def mapping(value: Any, key: str) -> dict[str, Any]:
    """``value`` when it is a mapping of keys."""
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping of keys, got {type(value).__name__}")
    return value


def strings(value: Any, key: str) -> tuple[str, ...]:
    """``value`` when it is a list of strings (one string counts as a list of one)."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings")
    return tuple(value)


def per_subgraph(root: Mapping[str, Any], key: str) -> Iterator[tuple[str, str | None, Any]]:
    """Each ``traffic_shaping.all.<key>`` and ``traffic_shaping.subgraphs.<name>.<key>`` the
    file sets: (its dotted name, the subgraph or None for ``all``, its value). Sections of
    the wrong type are left to the configuration's own reader, which reports them."""
    shaping = root.get("traffic_shaping")
    if not isinstance(shaping, dict):
        return
    section = shaping.get("all")
    if isinstance(section, dict) and key in section:
        yield f"traffic_shaping.all.{key}", None, section[key]
    subgraphs = shaping.get("subgraphs")
    for name, own in (subgraphs.items() if isinstance(subgraphs, dict) else ()):
        if isinstance(own, dict) and key in own:
            yield f"traffic_shaping.subgraphs.{name}.{key}", str(name), own[key]
