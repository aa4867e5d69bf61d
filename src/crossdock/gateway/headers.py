"""Header rules: which of a client's headers each subgraph request carries (``headers``).

Read from the configuration file's ``headers`` key, with Apollo Router's meaning: rules for
``all`` subgraphs, then each subgraph's own (``subgraphs.<name>``), each a ``request`` list
applied in order to the headers being built for the subgraph request:

- ``propagate``: ``named`` copies one client header (``rename`` sends it under another name;
  ``default`` is sent when the client sent none), ``matching`` copies every client header
  whose lower-case name the regular expression matches (anywhere in the name);
- ``insert``: ``name`` and ``value``, a static header; or ``name`` and ``from_claim``
  (crossdock's own key), the request's claim of that name (a string as it is, another value
  as JSON; nothing when the request has no such claim);
- ``remove``: ``named`` or ``matching`` takes headers out of those built so far.

Hop-by-hop and content headers are never propagated, whatever a rule says: they describe the
client's connection and body, not the subgraph request's. The W3C trace context is not a
rule's business either: the gateway forwards a valid one itself (:mod:`.context`).

Rules are compiled once when the configuration is read; a request computes each subgraph's
headers once, and only for subgraphs that have rules.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

import orjson

from crossdock.core.errors import ConfigError
from crossdock.gateway.values import HEADER_NAME

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Never propagated, never inserted (the router's list, and the trace context we forward).
RESERVED = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-type",
    "content-encoding", "accept", "accept-encoding", "traceparent", "tracestate"})


#: What a header value built from a claim may hold: visible ASCII and spaces, no line break.
_SAFE_VALUE = re.compile(r"[\x20-\x7e]*")


def _reserved(name: str) -> bool:
    return name in RESERVED or name.startswith("proxy-")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Propagate:
    """Copy the client's header ``named`` (sent as ``rename``, or ``default`` if missing)."""

    named: str
    rename: str | None = None
    default: str | None = None

    def apply(self, client: Mapping[str, str], out: dict[str, str]) -> None:
        """Add the copied header to ``out``."""
        value = client.get(self.named, self.default)
        if value is not None:
            out[self.rename or self.named] = value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PropagateMatching:
    """Copy every client header whose name ``pattern`` matches."""

    pattern: re.Pattern[str]

    def apply(self, client: Mapping[str, str], out: dict[str, str]) -> None:
        """Add the matching headers to ``out``."""
        out.update({name: value for name, value in client.items()
                    if not _reserved(name) and self.pattern.search(name)})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Insert:
    """Send the static header ``name: value``."""

    name: str
    value: str

    def apply(self, client: Mapping[str, str], out: dict[str, str]) -> None:  # noqa: ARG002 - one signature for every rule
        """Set the header in ``out``."""
        out[self.name] = self.value


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InsertClaim:
    """Send the request's claim ``claim`` as the header ``name``."""

    name: str
    claim: str

    def insert(self, claims: Mapping[str, Any], out: dict[str, str]) -> None:
        """Set the header in ``out`` when the claim is there and fits in a header."""
        value = claims.get(self.claim)
        if value is None:
            return
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if _SAFE_VALUE.fullmatch(text):
            out[self.name] = text


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Remove:
    """Take out of the headers built so far the one ``named``, or those ``pattern`` matches."""

    named: str | None = None
    pattern: re.Pattern[str] | None = None

    def apply(self, client: Mapping[str, str], out: dict[str, str]) -> None:  # noqa: ARG002 - one signature for every rule
        """Remove the headers from ``out``."""
        if self.named is not None:
            out.pop(self.named, None)
        elif self.pattern is not None:
            for name in [name for name in out if self.pattern.search(name)]:
                del out[name]


Rule = Propagate | PropagateMatching | Insert | InsertClaim | Remove


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HeaderRules:
    """The rules of one subgraph, ``all``'s first."""

    rules: tuple[Rule, ...] = ()

    def apply(self, client: Mapping[str, str], claims: Mapping[str, Any] | None = None,
              ) -> tuple[tuple[str, str], ...]:
        """The headers a subgraph request carries for a client that sent ``client``, whose
        token gave ``claims``."""
        out: dict[str, str] = {}
        for rule in self.rules:
            if isinstance(rule, InsertClaim):
                rule.insert(claims or {}, out)
            else:
                rule.apply(client, out)
        return tuple(out.items())


def parse_rules(value: Any, key: str, unsupported: list[str]) -> tuple[Rule, ...]:
    """The rules of one ``request`` list at ``key`` (``headers.all.request``)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of rules, got {type(value).__name__}")
    rules: list[Rule] = []
    for index, item in enumerate(value):
        where = f"{key}[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{where}: expected one of propagate, insert, remove")
        ((kind, body),) = item.items()
        if kind not in {"propagate", "insert", "remove"}:
            raise ConfigError(f"{where}: {kind!r} is not one of propagate, insert, remove")
        if not isinstance(body, dict):
            raise ConfigError(f"{where}.{kind}: expected a mapping of keys")
        rule = _rule(kind, body, f"{where}.{kind}", unsupported)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _rule(kind: str, body: dict[str, Any], key: str, unsupported: list[str]) -> Rule | None:
    if kind == "insert" and "from_claim" in body:
        _only(body, {"name", "from_claim"}, key, unsupported)
        return InsertClaim(name=_name(body.get("name"), f"{key}.name"),
                           claim=_text(body["from_claim"], f"{key}.from_claim"))
    if kind == "insert":
        if "name" not in body or "value" not in body:
            # The router's ``from_context`` and ``path`` inserts are not read yet.
            unsupported.append(key)
            return None
        _only(body, {"name", "value"}, key, unsupported)
        return Insert(name=_name(body["name"], f"{key}.name"),
                      value=_text(body["value"], f"{key}.value"))
    if kind == "propagate" and "named" in body:
        _only(body, {"named", "rename", "default"}, key, unsupported)
        rename = body.get("rename")
        default = body.get("default")
        return Propagate(named=_name(body["named"], f"{key}.named"),
                         rename=None if rename is None else _name(rename, f"{key}.rename"),
                         default=None if default is None else _text(default,
                                                                    f"{key}.default"))
    if "named" in body and "matching" not in body:
        _only(body, {"named"}, key, unsupported)
        return Remove(named=_text(body["named"], f"{key}.named").lower())
    if "matching" in body and "named" not in body:
        _only(body, {"matching"}, key, unsupported)
        pattern = _regex(body["matching"], f"{key}.matching")
        return PropagateMatching(pattern=pattern) if kind == "propagate" \
            else Remove(pattern=pattern)
    raise ConfigError(f"{key}: give either named or matching")


def _only(body: dict[str, Any], known: set[str], key: str, unsupported: list[str]) -> None:
    unsupported.extend(f"{key}.{k}" for k in body if k not in known)


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: {value!r} is not a string")
    if "\r" in value or "\n" in value:
        raise ConfigError(f"{key}: a header value cannot hold a line break")
    return value


def _name(value: Any, key: str) -> str:
    name = _text(value, key)
    if not HEADER_NAME.fullmatch(name):
        raise ConfigError(f"{key}: {name!r} is not a header name")
    name = name.lower()
    if _reserved(name):
        raise ConfigError(f"{key}: {name} is set by the gateway itself, never by a rule")
    return name


def _regex(value: Any, key: str) -> re.Pattern[str]:
    text = _text(value, key)
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(f"{key}: {text!r} is not a regular expression: {exc}") from exc
