"""Routing rules: which handlers a delivery goes to.

A route matches on the event type and action (NULL matches any) and on filters over the JSON
payload: ``path == value`` or ``path != value``, the path dotted (``repository.full_name``,
``commits.0.id``), the value JSON when it parses as JSON (``42``, ``true``, ``"x"``) and a plain
string otherwise. A source without routes sends every delivery to the ``bus`` handler, which
publishes it on the core event bus as ``<provider>.<event type>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from crossdock.webhooks.errors import RouteError
from crossdock.webhooks.models import Delivery, Filter, Route

_FILTER = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(==|!=)\s*(.*?)\s*$")
_MISSING = object()


def parse_filter(text: str) -> Filter:
    """``"repository.full_name == octo/repo"`` as a :class:`Filter`."""
    match = _FILTER.match(text)
    if not match:
        raise RouteError(f"invalid filter {text!r}: expected 'path == value' or 'path != value'")
    path, op, raw = match.groups()
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return Filter(path=path, op=op, value=value)


def filters_from_json(items: Iterable[Any]) -> tuple[Filter, ...]:
    """Filters as stored in ``webhooks_routes.filters``."""
    return tuple(Filter(path=item["path"], op=item["op"], value=item["value"]) for item in items)


def filters_to_json(filters: Sequence[Filter]) -> list[dict[str, Any]]:
    """Filters as stored."""
    return [{"path": f.path, "op": f.op, "value": f.value} for f in filters]


def lookup(payload: Any, path: str) -> Any:
    """The value at a dotted path, or a marker that equals nothing when there is none."""
    value = payload
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def filter_matches(flt: Filter, payload: Any) -> bool:
    """Whether one filter holds on the payload."""
    value = lookup(payload, flt.path)
    equal = value is not _MISSING and value == flt.value
    return equal if flt.op == "==" else not equal


def route_matches(route: Route, delivery: Delivery, payload: Any) -> bool:
    """Whether a delivery goes to a route's handler."""
    if route.event_type not in (None, "*", delivery.event_type):
        return False
    if route.action not in (None, "*", delivery.action):
        return False
    return all(filter_matches(flt, payload) for flt in route.filters)


def default_routes(source: str) -> list[Route]:
    """The routes of a source that has none: publish everything on the bus."""
    return [Route(id=None, source=source, handler="bus")]


def select_routes(routes: Sequence[Route], delivery: Delivery, payload: Any) -> list[Route]:
    """The routes a delivery matches, in order."""
    candidates = routes or default_routes(delivery.source)
    return [route for route in candidates if route_matches(route, delivery, payload)]
