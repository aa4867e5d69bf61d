"""The representations a gateway sends to ``_entities``, checked before any entity resolves.

Strawberry hands each representation's fields to the type's ``resolve_reference`` as they came:
a typename that names no entity of the subgraph was a ``KeyError``, a missing key a
``TypeError``, a key of the wrong JSON type whatever the resolver then did with it, each an
``INTERNAL_SERVER_ERROR``. A representation is anyone's input (a client may query
``_entities`` itself), so each bad one is its item's ``BAD_USER_INPUT`` error instead.
"""

from __future__ import annotations

import inspect
from typing import Any

from crossdock.core.errors import AdminGraphError

#: Longer key values are refused: an id or a repository URL is far shorter.
MAX_KEY = 2000


def key_names(origin: object) -> list[str] | None:
    """The key fields ``origin.resolve_reference`` takes (``info`` aside), None without one."""
    resolve = getattr(origin, "resolve_reference", None)
    if resolve is None:
        return None
    return [name for name, param in inspect.signature(resolve).parameters.items()
            if name != "info" and param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]


def checked(representation: object, keys: dict[str, list[str]]) -> dict[str, Any]:
    """``representation`` as its type's ``resolve_reference`` takes it: its ``__typename`` and
    its keys as strings (an ID may come as a JSON number); other fields are left out (no
    entity here ``@requires`` any).

    ``keys`` gives each entity type's key fields. Raises :class:`AdminGraphError` naming what
    is wrong.
    """
    if not isinstance(representation, dict):
        raise AdminGraphError("a representation is an object with __typename and its key")
    typename = representation.get("__typename")
    if not isinstance(typename, str) or typename not in keys:
        raise AdminGraphError(f"__typename {str(typename)[:100]!r} names no entity of this"
                              f" subgraph (one of {', '.join(sorted(keys))})")
    found: dict[str, Any] = {"__typename": typename}
    for name in keys[typename]:
        value = representation.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_KEY:
            raise AdminGraphError(f"a {typename} representation needs its key {name} as a"
                                  f" string of at most {MAX_KEY} characters")
        found[name] = value
    return found
