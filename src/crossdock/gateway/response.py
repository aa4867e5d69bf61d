"""Shaping: the merged subgraph data, cut to exactly what the client asked for.

Walks the client's operation over the API schema: aliases, field order, ``__typename``,
fragments and @skip/@include decide what appears; fields the gateway added for its own needs
(keys, @requires inputs) disappear. A null where the schema says non-null makes the nearest
nullable parent null, as the GraphQL spec says.

This runs for every object of every response, so the per-(type, selection) work is compiled
once per operation (:class:`Compiled`), and response paths are linked tuples that become
lists only when an error needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)

from crossdock.gateway.planner import INTROSPECTION_FIELDS

Collect = Callable[[str, tuple[SelectionSetNode, ...]], dict[str, list[FieldNode]]]
#: A response path as a linked list: (parent, key) pairs, None at the root.
LinkedPath = tuple[Any, str | int] | None

_TYPENAME, _RAW, _LEAF, _LEAF_NON_NULL, _COMPOSITE = range(5)


class _Bubble(Exception):
    """A null in a non-null position, on its way to the nearest nullable parent."""


#: One selected field: (response key, field name, kind, type, subselections).
Compiled = tuple[tuple[str, str, int, Any, tuple[SelectionSetNode, ...]], ...]


def compile_fields(type_: GraphQLObjectType | GraphQLInterfaceType,
                   fields: dict[str, list[FieldNode]], *, root: bool) -> Compiled:
    """What shaping does for each field collected on ``type_``."""
    out = []
    definitions = type_.fields
    for key, nodes in fields.items():
        name = nodes[0].name.value
        subsets = tuple(n.selection_set for n in nodes if n.selection_set is not None)
        if name == "__typename":
            out.append((key, name, _TYPENAME, None, subsets))
        elif root and name in INTROSPECTION_FIELDS:
            out.append((key, name, _RAW, None, subsets))
        elif name in definitions:
            field_type = definitions[name].type
            inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
            if is_leaf_type(inner) and not isinstance(inner, GraphQLEnumType):
                kind = _LEAF_NON_NULL if inner is not field_type else _LEAF
            else:
                kind = _COMPOSITE
            out.append((key, name, kind, field_type, subsets))
    return tuple(out)


def materialize(path: LinkedPath) -> list[str | int]:
    """A linked path as the list the GraphQL spec wants."""
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys


class Shaper:
    """Completes one operation's data (one instance per request)."""

    def __init__(self, schema: GraphQLSchema,
                 compiled: Callable[[Any, tuple[SelectionSetNode, ...], bool], Compiled],
                 errors: list[dict[str, Any]]) -> None:
        self.schema = schema
        self.compiled = compiled
        self.errors = errors
        self.had_errors = bool(errors)

    def root(self, root_type: GraphQLObjectType, selection: SelectionSetNode,
             data: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.object(root_type, (selection,), data, None, root=True)
        except _Bubble:
            return None

    def object(self, type_: GraphQLObjectType | GraphQLInterfaceType,
               sets: tuple[SelectionSetNode, ...], data: dict[str, Any], path: LinkedPath,
               *, root: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, name, kind, field_type, subsets in self.compiled(type_, sets, root):
            if kind == _LEAF:
                result[key] = data.get(key)
            elif kind == _LEAF_NON_NULL:
                value = data.get(key)
                if value is None:
                    self.null_error((path, key), type_.name, name)
                    raise _Bubble
                result[key] = value
            elif kind == _TYPENAME:
                result[key] = type_.name
            elif kind == _RAW:
                result[key] = data.get(key)
            else:
                result[key] = self.value(field_type, subsets, data.get(key), (path, key),
                                         type_.name, name)
        return result

    def value(
            self, type_: Any, sets: tuple[SelectionSetNode, ...], value: Any,
            path: LinkedPath, parent: str, field: str) -> Any:
        if isinstance(type_, GraphQLNonNull):
            completed = self.nullable(type_.of_type, sets, value, path, parent, field)
            if completed is None:
                self.null_error(path, parent, field)
                raise _Bubble
            return completed
        try:
            return self.nullable(type_, sets, value, path, parent, field)
        except _Bubble:
            return None

    def nullable(  # noqa: C901, PLR0911
            self, type_: Any, sets: tuple[SelectionSetNode, ...], value: Any,
            path: LinkedPath, parent: str, field: str) -> Any:
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                self.error(path, f"Expected a list for {parent}.{field}.")
                return None
            item_type = type_.of_type
            return [self.value(item_type, sets, item, (path, i), parent, field)
                    for i, item in enumerate(value)]
        if is_leaf_type(type_):
            if isinstance(type_, GraphQLEnumType) and (
                    not isinstance(value, str) or value not in type_.values):
                self.error(path, f'Enum "{type_.name}" cannot represent value: {value!r}')
                return None
            return value
        if not isinstance(value, dict):
            self.error(path, f"Expected an object for {parent}.{field}.")
            return None
        object_type = type_
        if is_abstract_type(type_):
            typename = value.get("__typename")
            object_type = self.schema.get_type(typename) if isinstance(typename, str) else None
            if object_type is type_ or (isinstance(object_type, GraphQLInterfaceType)
                                        and self.schema.is_sub_type(type_, object_type)):
                # Only an @interfaceObject answered, and the client needed no concrete type.
                return self.object(object_type, sets, value, path)
            if not isinstance(object_type, GraphQLObjectType) or not self.schema.is_sub_type(
                    type_, object_type):
                if typename is not None and not self.had_errors:
                    self.error(path, f'Abstract type "{type_.name}" resolved to an unknown '
                                     f"type {typename!r}.")
                return None
        return self.object(object_type, sets, value, path)

    def null_error(self, path: LinkedPath, parent: str, field: str) -> None:
        if not self.had_errors:
            self.error(path, f"Cannot return null for non-nullable field {parent}.{field}.")

    def error(self, path: LinkedPath, message: str) -> None:
        self.errors.append({"message": message, "path": materialize(path)})
        self.had_errors = True
