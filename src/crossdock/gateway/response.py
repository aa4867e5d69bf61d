"""Shaping: the merged subgraph data, cut to exactly what the client asked for.

Walks the client's operation over the API schema: aliases, field order, ``__typename``,
fragments and @skip/@include decide what appears; fields the gateway added for its own needs
(keys, @requires inputs) disappear. A null where the schema says non-null makes the nearest
nullable parent null, as the GraphQL spec says.

The walk over the operation and the schema is done once per plan: :class:`Shapes` compiles
each (type, selection sets) into a flat list of :class:`_Field` entries, filled lazily and
kept with the cached plan, so a request only loops over those lists and its data. Response
paths are linked tuples, made into lists only for an error.
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
    GraphQLOutputType,
    GraphQLSchema,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)

from crossdock.gateway.planner import INTROSPECTION_FIELDS

Collect = Callable[[str, tuple[SelectionSetNode, ...]], dict[str, list[FieldNode]]]
#: A response path as a linked list, innermost last: ``((None, "a"), 0)`` is ``["a", 0]``.
_Path = tuple[Any, Any] | None

# What a compiled field does with its value.
_TYPENAME, _INTROSPECTION, _FIELD = range(3)
# What a compiled type holds.
_LEAF, _ENUM, _LIST, _COMPOSITE = range(4)


class _Bubble(Exception):
    """A null in a non-null position, on its way to the nearest nullable parent."""


class _Type:
    """A field's output type, unwrapped once: non-null, then leaf, enum, list or composite."""

    __slots__ = ("abstract", "enum_values", "kind", "named", "nonnull", "of")

    def __init__(self, type_: GraphQLOutputType) -> None:
        self.nonnull = isinstance(type_, GraphQLNonNull)
        inner: Any = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        self.of: _Type | None = None
        self.enum_values: Any = None
        self.named: Any = inner
        self.abstract = False
        if isinstance(inner, GraphQLList):
            self.kind = _LIST
            self.of = _Type(inner.of_type)
        elif isinstance(inner, GraphQLEnumType):
            self.kind = _ENUM
            self.enum_values = inner.values
        elif is_leaf_type(inner):
            self.kind = _LEAF
        else:
            self.kind = _COMPOSITE
            self.abstract = is_abstract_type(inner)


class _Field:
    """One response key of a compiled selection."""

    __slots__ = ("children", "key", "mode", "name", "parent", "sets", "type", "value")

    def __init__(self, key: str, mode: int, *, name: str = "", parent: str = "",
                 type_: _Type | None = None, sets: tuple[SelectionSetNode, ...] = (),
                 value: Any = None) -> None:
        self.key = key
        self.mode = mode
        self.name = name
        self.parent = parent
        self.type = type_
        self.sets = sets
        self.value = value
        #: Runtime type name -> compiled selection of this field's objects of that type.
        self.children: dict[str, list[_Field]] = {}


class Shapes:
    """The compiled selections of one planned operation (kept with its plan)."""

    __slots__ = ("_roots", "collect", "schema")

    def __init__(self, schema: GraphQLSchema, collect: Collect) -> None:
        self.schema = schema
        self.collect = collect
        self._roots: dict[tuple[str, int], list[_Field]] = {}

    def root(self, type_: GraphQLObjectType, selection: SelectionSetNode) -> list[_Field]:
        key = (type_.name, id(selection))
        found = self._roots.get(key)
        if found is None:
            found = self._roots[key] = self.compile(type_, (selection,), root=True)
        return found

    def compile(self, type_: GraphQLObjectType | GraphQLInterfaceType,
                sets: tuple[SelectionSetNode, ...], *, root: bool = False) -> list[_Field]:
        compiled: list[_Field] = []
        fields = type_.fields
        for key, nodes in self.collect(type_.name, sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                compiled.append(_Field(key, _TYPENAME, value=type_.name))
                continue
            if root and name in INTROSPECTION_FIELDS:
                compiled.append(_Field(key, _INTROSPECTION))
                continue
            field = fields.get(name)
            if field is None:
                continue
            compiled.append(_Field(
                key, _FIELD, name=name, parent=type_.name, type_=_Type(field.type),
                sets=tuple(n.selection_set for n in nodes if n.selection_set is not None)))
        return compiled


class Shaper:
    """Completes one operation's data (one instance per request)."""

    __slots__ = ("errors", "had_errors", "schema", "shapes")

    def __init__(self, shapes: Shapes, errors: list[dict[str, Any]]) -> None:
        self.shapes = shapes
        self.schema = shapes.schema
        self.errors = errors
        self.had_errors = bool(errors)

    def root(self, root_type: GraphQLObjectType, selection: SelectionSetNode,
             data: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.object(self.shapes.root(root_type, selection), data, None)
        except _Bubble:
            return None

    def object(self, fields: list[_Field], data: dict[str, Any],
               path: _Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for field in fields:
            key = field.key
            mode = field.mode
            if mode == _FIELD:
                value = data.get(key)
                type_ = field.type
                assert type_ is not None
                if value is None:
                    if type_.nonnull:
                        self.null_error((path, key), field)
                        raise _Bubble
                    result[key] = None
                elif type_.kind == _LEAF:
                    result[key] = value
                else:
                    result[key] = self.value(field, type_, value, (path, key))
            elif mode == _TYPENAME:
                result[key] = field.value
            else:
                result[key] = data.get(key)
        return result

    def value(self, field: _Field, type_: _Type, value: Any, path: _Path) -> Any:
        if type_.nonnull:
            completed = self.nullable(field, type_, value, path)
            if completed is None:
                self.null_error(path, field)
                raise _Bubble
            return completed
        try:
            return self.nullable(field, type_, value, path)
        except _Bubble:
            return None

    def nullable(  # noqa: C901, PLR0911
            self, field: _Field, type_: _Type, value: Any, path: _Path) -> Any:
        if value is None:
            return None
        kind = type_.kind
        if kind == _LEAF:
            return value
        if kind == _ENUM:
            if not isinstance(value, str) or value not in type_.enum_values:
                self.error(path, f'Enum "{type_.named.name}" cannot represent value: {value!r}')
                return None
            return value
        if kind == _LIST:
            if not isinstance(value, list):
                self.error(path, f"Expected a list for {field.parent}.{field.name}.")
                return None
            item = type_.of
            assert item is not None
            if item.kind == _LEAF and not item.nonnull:
                return value  # nothing to check or cut: the data is this request's own
            return [self.value(field, item, v, (path, i)) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            self.error(path, f"Expected an object for {field.parent}.{field.name}.")
            return None
        typename = value.get("__typename") if type_.abstract else type_.named.name
        children = field.children.get(typename) if isinstance(typename, str) else None
        if children is None:
            children = self.resolve(field, type_, typename, path)
            if children is None:
                return None
        return self.object(children, value, path)

    def resolve(self, field: _Field, type_: _Type, typename: Any,
                path: _Path) -> list[_Field] | None:
        """The compiled selection for objects of ``typename`` at ``field`` (then cached)."""
        named = type_.named
        if type_.abstract:
            object_type = self.schema.get_type(typename) if isinstance(typename, str) else None
            if object_type is named or (isinstance(object_type, GraphQLInterfaceType)
                                        and self.schema.is_sub_type(named, object_type)):
                # Only an @interfaceObject answered, and the client needed no concrete type.
                pass
            elif not isinstance(object_type, GraphQLObjectType) or not self.schema.is_sub_type(
                    named, object_type):
                if typename is not None and not self.had_errors:
                    self.error(path, f'Abstract type "{named.name}" resolved to an unknown '
                                     f"type {typename!r}.")
                return None
        else:
            object_type = named
        compiled = field.children[typename] = self.shapes.compile(
            object_type, field.sets)
        return compiled

    def null_error(self, path: _Path, field: _Field) -> None:
        if not self.had_errors:
            self.error(path, f"Cannot return null for non-nullable field "
                             f"{field.parent}.{field.name}.")

    def error(self, path: _Path, message: str) -> None:
        self.errors.append({"message": message, "path": _as_list(path)})
        self.had_errors = True


def _as_list(path: _Path) -> list[Any]:
    out: list[Any] = []
    while path is not None:
        path, key = path
        out.append(key)
    out.reverse()
    return out
