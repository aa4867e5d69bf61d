"""Shaping: the merged subgraph data, cut to exactly what the client asked for.

Walks the client's operation over the API schema: aliases, field order, ``__typename``,
fragments and @skip/@include decide what appears; fields the gateway added for its own needs
(keys, @requires inputs) disappear. A null where the schema says non-null makes the nearest
nullable parent null, as the GraphQL spec says.

This runs for every object of every response, so :class:`Shaping` compiles the operation
once per plan into closures, one per object selection and one per composite field, with
the schema questions (kinds, nullability, child selections) already answered: a request
runs one call per object and no schema lookup. Response paths are linked tuples that become
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
#: Completes one value of a composite (or enum) field: the shaped value, or None, or raises
#: ``_Bubble`` when a null must reach a nullable parent.
Complete = Callable[["_Request", Any, LinkedPath], Any]
#: Shapes one object (a dict of merged data) under one compiled selection.
ShapeObject = Callable[["_Request", dict[str, Any], LinkedPath], dict[str, Any]]


class _Bubble(Exception):
    """A null in a non-null position, on its way to the nearest nullable parent."""


def materialize(path: LinkedPath) -> list[str | int]:
    """A linked path as the list the GraphQL spec wants."""
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys


class _Request:
    """The errors of the request being shaped (the compiled walk is shared by requests)."""

    __slots__ = ("errors", "had_errors")

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        self.had_errors = bool(errors)

    def null(self, path: LinkedPath, parent: str, field: str, *, non_null: bool) -> None:
        """A null at ``path``: fine where nullable, an error that bubbles up elsewhere."""
        if not non_null:
            return
        if not self.had_errors:
            self.error(path, f"Cannot return null for non-nullable field {parent}.{field}.")
        raise _Bubble

    def error(self, path: LinkedPath, message: str) -> None:
        self.errors.append({"message": message, "path": materialize(path)})
        self.had_errors = True


class Shaping:
    """One operation's shaping, compiled on first use and shared by all its requests."""

    __slots__ = ("_objects", "collect", "schema")

    def __init__(self, schema: GraphQLSchema, collect: Collect) -> None:
        self.schema = schema
        self.collect = collect
        self._objects: dict[tuple[str, tuple[int, ...]], ShapeObject] = {}

    def root(self, root_type: GraphQLObjectType, selection: SelectionSetNode,
             data: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The response's ``data``; errors met are appended to ``errors``."""
        shape = self.object(root_type, (selection,), root=True)
        try:
            return shape(_Request(errors), data, None)
        except _Bubble:
            return None

    def object(self, type_: GraphQLObjectType | GraphQLInterfaceType,
               sets: tuple[SelectionSetNode, ...], *, root: bool = False) -> ShapeObject:
        """How to shape objects of ``type_`` under ``sets`` (compiled once)."""
        key = (type_.name, tuple(map(id, sets)))
        found = self._objects.get(key)
        if found is None:
            found = self._objects[key] = self._compile_object(type_, sets, root=root)
        return found

    def _compile_object(self, type_: GraphQLObjectType | GraphQLInterfaceType,
                        sets: tuple[SelectionSetNode, ...], *, root: bool) -> ShapeObject:
        type_name = type_.name
        definitions = type_.fields
        keys: list[str] = []
        typenames: list[str] = []
        #: In selection order, what to check or complete after the leaves are copied:
        #: (key, field name, None for a non-null leaf or how to complete the value).
        steps: list[tuple[str, str, Complete | None]] = []
        for key, nodes in self.collect(type_name, sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                typenames.append(key)
            elif name in definitions:
                step = self._step(key, nodes, definitions[name].type, type_name)
                if step is not None:
                    steps.append(step)
            elif not (root and name in INTROSPECTION_FIELDS):
                continue  # not in the API schema: never shown
            # (Root introspection fields were answered by the gateway: copied as they are.)
            keys.append(key)
        return _object_shaper(type_name, keys, steps, typenames)

    def _step(self, key: str, nodes: list[FieldNode], field_type: Any,
              parent: str) -> tuple[str, str, Complete | None] | None:
        """What a field needs after its raw value is copied: nothing for a nullable leaf."""
        name = nodes[0].name.value
        inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        if not is_leaf_type(inner) or isinstance(inner, GraphQLEnumType):
            subsets = tuple(n.selection_set for n in nodes if n.selection_set is not None)
            return key, name, self.completer(field_type, subsets, parent, name)
        return (key, name, None) if inner is not field_type else None

    def completer(self, type_: Any, sets: tuple[SelectionSetNode, ...], parent: str,
                  field: str) -> Complete:
        """How to complete a value of ``type_`` (non-null or not) at ``parent.field``."""
        non_null = isinstance(type_, GraphQLNonNull)
        if non_null:
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            item = self.completer(type_.of_type, sets, parent, field)
            return _list_completer(item, parent, field, non_null=non_null)
        if isinstance(type_, GraphQLEnumType):
            return _enum_completer(type_, parent, field, non_null=non_null)
        if is_leaf_type(type_):
            return _leaf_completer(parent, field, non_null=non_null)
        if is_abstract_type(type_):
            return self._abstract_completer(type_, sets, parent, field, non_null=non_null)
        return _object_completer(self.object(type_, sets), parent, field, non_null=non_null)

    def _abstract_completer(self, type_: Any, sets: tuple[SelectionSetNode, ...],
                            parent: str, field: str, *, non_null: bool) -> Complete:
        #: Runtime type name -> how to shape it (None: not a type allowed here).
        by_typename: dict[str, ShapeObject | None] = {}

        def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
            if isinstance(value, dict):
                typename = value.get("__typename")
                if isinstance(typename, str):
                    if typename not in by_typename:
                        by_typename[typename] = self._runtime_shape(type_, sets, typename)
                    shape = by_typename[typename]
                else:
                    shape = None
                if shape is not None:
                    try:
                        return shape(request, value, path)
                    except _Bubble:
                        if non_null:
                            raise
                        return None
                if typename is not None and not request.had_errors:
                    request.error(path, f'Abstract type "{type_.name}" resolved to an unknown '
                                        f"type {typename!r}.")
            elif value is not None:
                request.error(path, f"Expected an object for {parent}.{field}.")
            request.null(path, parent, field, non_null=non_null)
            return None

        return complete

    def _runtime_shape(self, type_: Any, sets: tuple[SelectionSetNode, ...],
                       typename: str) -> ShapeObject | None:
        object_type = self.schema.get_type(typename)
        if object_type is type_ or (isinstance(object_type, GraphQLInterfaceType)
                                    and self.schema.is_sub_type(type_, object_type)):
            # Only an @interfaceObject answered, and the client needed no concrete type.
            return self.object(object_type, sets)
        if isinstance(object_type, GraphQLObjectType) and self.schema.is_sub_type(
                type_, object_type):
            return self.object(object_type, sets)
        return None


def _object_shaper(type_name: str, keys: list[str],
                   steps: list[tuple[str, str, Complete | None]],
                   typenames: list[str]) -> ShapeObject:
    def shape(request: _Request, data: dict[str, Any], path: LinkedPath) -> dict[str, Any]:
        # Leaves are copied in one pass, in selection order; composites then replace
        # their raw value in place, which keeps the order.
        get = data.get
        result = {key: get(key) for key in keys}
        for key, name, complete in steps:
            if complete is not None:
                result[key] = complete(request, result[key], (path, key))
            elif result[key] is None:
                request.null((path, key), type_name, name, non_null=True)
        for key in typenames:
            result[key] = type_name
        return result

    return shape


def _object_completer(shape: ShapeObject, parent: str, field: str, *,
                      non_null: bool) -> Complete:
    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if isinstance(value, dict):
            try:
                return shape(request, value, path)
            except _Bubble:
                if non_null:
                    raise
                return None
        if value is not None:
            request.error(path, f"Expected an object for {parent}.{field}.")
        request.null(path, parent, field, non_null=non_null)
        return None

    return complete


def _list_completer(item: Complete, parent: str, field: str, *, non_null: bool) -> Complete:
    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if isinstance(value, list):
            try:
                return [item(request, v, (path, i)) for i, v in enumerate(value)]
            except _Bubble:
                if non_null:
                    raise
                return None
        if value is not None:
            request.error(path, f"Expected a list for {parent}.{field}.")
        request.null(path, parent, field, non_null=non_null)
        return None

    return complete


def _enum_completer(type_: GraphQLEnumType, parent: str, field: str, *,
                    non_null: bool) -> Complete:
    values = type_.values

    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if isinstance(value, str) and value in values:
            return value
        if value is not None:
            request.error(path, f'Enum "{type_.name}" cannot represent value: {value!r}')
        request.null(path, parent, field, non_null=non_null)
        return None

    return complete


def _leaf_completer(parent: str, field: str, *, non_null: bool) -> Complete:
    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if value is None:
            request.null(path, parent, field, non_null=non_null)
        return value

    return complete
