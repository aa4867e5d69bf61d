"""Persisted query manifests: the operations a team registered, by id, read from files.

Two formats, told apart by their shape:

- Apollo's persisted query manifest::

      {"format": "apollo-persisted-query-manifest", "version": 1,
       "operations": [{"id": "...", "name": "...", "type": "query", "body": "..."}]}

- Relay's id map (what ``relay-compiler --persist-output`` writes): ``{"<id>": "<text>"}``.

The safelist compares a freeform document with the registered ones as Apollo Router does:
after :func:`normalize` (operations then fragments, each sorted by name, printed without
comments or formatting), so reordering definitions or reformatting matches and reordering
fields does not; a body that does not parse only matches itself.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    print_ast,
)

from crossdock.core.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

_APOLLO_FORMAT = "apollo-persisted-query-manifest"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """Every operation of the manifest files: bodies by id, and the safelist."""

    bodies: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The bodies as written, and normalized (:func:`normalize`).
    texts: frozenset[str] = frozenset()
    normalized: frozenset[str] = frozenset()

    def allows(self, text: str) -> bool:
        """Whether ``text`` is a registered body, as written or once normalized."""
        return text in self.texts or normalize(text) in self.normalized


def normalize(text: str) -> str:
    """``text`` in the safelist's form (the text itself when it does not parse)."""
    try:
        document = parse(text, no_location=True)
    except GraphQLError:
        return text
    operations = sorted((d for d in document.definitions
                         if isinstance(d, OperationDefinitionNode)),
                        key=lambda d: d.name.value if d.name else "")
    fragments = sorted((d for d in document.definitions
                        if isinstance(d, FragmentDefinitionNode)),
                       key=lambda d: d.name.value)
    return print_ast(DocumentNode(definitions=(*operations, *fragments)))


def load_manifests(paths: tuple[Path, ...], key: str, normalized: bool = False) -> Manifest:
    """The operations of the files at ``paths`` (a later file's id wins), normalized too when
    asked (only a safelist needs it); ConfigError naming ``key[i]`` when one cannot be read
    or is in neither format."""
    bodies: dict[str, str] = {}
    for index, path in enumerate(paths):
        where = f"{key}[{index}] ({path})"
        try:
            document = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read the manifest: {exc}") from exc
        _read(document, bodies, where)
    texts = frozenset(bodies.values())
    return Manifest(bodies=bodies, texts=texts,
                    normalized=frozenset(normalize(t) for t in texts) if normalized
                    else frozenset())


def _read(document: Any, bodies: dict[str, str], where: str) -> None:
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected Apollo's manifest or Relay's id map, "
                          "a JSON object")
    if "operations" not in document and "format" not in document:
        for identifier, body in document.items():
            if not isinstance(body, str):
                raise ConfigError(f"{where}: the id {identifier!r} maps to no query text")
            bodies[identifier] = body
        return
    if document.get("format") != _APOLLO_FORMAT or document.get("version") != 1:
        raise ConfigError(f"{where}: expected format {_APOLLO_FORMAT!r} and version 1")
    operations = document.get("operations")
    if not isinstance(operations, list):
        raise ConfigError(f"{where}: operations must be a list")
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or not isinstance(operation.get("id"), str) \
                or not isinstance(operation.get("body"), str):
            raise ConfigError(f"{where}: operations[{number}] needs a string id and body")
        bodies[operation["id"]] = operation["body"]
