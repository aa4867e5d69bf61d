"""One ``Cache-Control`` for a response made of several subgraph answers: the most restrictive.

The client's response holds data from every subgraph the plan asked, so a cache may keep it
only as long as, and only as widely as, the strictest of their answers allows. The merge is
Apollo Router's: an answer without ``Cache-Control`` is not cacheable (``no-store``);
``no-store`` anywhere makes the whole response ``no-store`` and nothing else; ``private``
anywhere wins over ``public``; the freshness is the smallest of the answers' own (each
answer's ``s-maxage`` if it has one, else its ``max-age``, less its ``Age``), written as
``max-age``; ``no-cache``, ``must-revalidate``, ``proxy-revalidate`` and ``no-transform``
anywhere are kept. A directive this module does not know is ignored, as RFC 9111 asks of
caches; a ``max-age`` that is not a number makes that answer ``no-store``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The flags kept when any answer has them, in the order they are written.
_FLAGS = ("no-cache", "must-revalidate", "proxy-revalidate", "private", "public",
          "no-transform")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """What one answer's (or several merged answers') ``Cache-Control`` allows."""

    no_store: bool = False
    #: Seconds the response stays fresh (None: no answer said).
    max_age: int | None = None
    flags: frozenset[str] = frozenset()

    @classmethod
    def of(cls, headers: Sequence[tuple[str, str]]) -> CachePolicy:
        """The policy of an answer with ``headers`` (lower-case names)."""
        values = [value for name, value in headers if name == "cache-control"]
        if not values:
            return NO_STORE
        found: dict[str, str | None] = {}
        for part in ",".join(values).split(","):
            key, equals, value = part.strip().partition("=")
            if key:
                found[key.lower()] = value.strip().strip('"') if equals else None
        if "no-store" in found:
            return NO_STORE
        try:
            ttl = _seconds(found, "s-maxage")
            if ttl is None:
                ttl = _seconds(found, "max-age")
            age = _seconds(_first(headers, "age"), "age")
        except ValueError:
            return NO_STORE
        if ttl is not None and age is not None:
            ttl = max(ttl - age, 0)
        return cls(max_age=ttl, flags=frozenset(flag for flag in _FLAGS if flag in found))

    def merge(self, other: CachePolicy) -> CachePolicy:
        """The policy that honours both this one and ``other``."""
        if self.no_store or other.no_store:
            return NO_STORE
        ages = [age for age in (self.max_age, other.max_age) if age is not None]
        return CachePolicy(max_age=min(ages) if ages else None, flags=self.flags | other.flags)

    def header(self) -> str:
        """The ``Cache-Control`` value."""
        if self.no_store:
            return "no-store"
        parts = ["no-cache"] if "no-cache" in self.flags else []
        if self.max_age is not None:
            parts.append(f"max-age={self.max_age}")
        parts += [flag for flag in _FLAGS[1:] if flag in self.flags
                  and not (flag == "public" and "private" in self.flags)]
        return ", ".join(parts)


NO_STORE = CachePolicy(no_store=True)


def _first(headers: Sequence[tuple[str, str]], name: str) -> dict[str, str | None]:
    """``{name: value}`` of the first header called ``name``, or an empty mapping."""
    for key, value in headers:
        if key == name:
            return {name: value.strip()}
    return {}


def _seconds(found: dict[str, str | None], key: str) -> int | None:
    """The whole seconds of directive ``key`` (None when absent); ValueError when invalid."""
    if key not in found:
        return None
    value = found[key]
    if value is None or not value.isdigit():
        raise ValueError(key)
    return int(value)
