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
from typing import Any, NamedTuple

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

from crossdock.gateway.errors import GatewayError
from crossdock.gateway.planner import INTROSPECTION_FIELDS

Collect = Callable[[str, tuple[SelectionSetNode, ...]], dict[str, list[FieldNode]]]
#: A response path as a linked list: (parent, key) pairs, None at the root.
LinkedPath = tuple[Any, str | int] | None
#: Completes one value of a composite (or enum) field: the shaped value, or None, or raises
#: ``_Bubble`` when a null must reach a nullable parent.
Complete = Callable[["_Request", Any, LinkedPath], Any]


class _Bubble(GatewayError):
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


class _Layout(NamedTuple):
    """What shaping does to objects of one type under one selection."""

    type_name: str
    #: Every response key, in selection order: their raw values are copied in one pass.
    keys: list[str]
    #: In selection order, what to check or complete after the copy: (key, field name, None
    #: for a non-null leaf, else how to complete the raw value).
    steps: list[tuple[str, str, Complete | None]]
    #: Keys of ``__typename`` selections.
    typenames: list[str]


class Shaping:
    """One operation's shaping, compiled on first use and shared by all its requests."""

    __slots__ = ("_layouts", "collect", "schema")

    def __init__(self, schema: GraphQLSchema, collect: Collect) -> None:
        self.schema = schema
        self.collect = collect
        self._layouts: dict[tuple[str, tuple[int, ...]], _Layout] = {}

    def root(self, root_type: GraphQLObjectType, selection: SelectionSetNode,
             data: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The response's ``data``; errors met are appended to ``errors``."""
        complete = self.object(root_type, (selection,), "", "", non_null=True, root=True)
        try:
            return complete(_Request(errors), data, None)  # type: ignore[no-any-return]
        except _Bubble:
            return None

    def object(self, type_: GraphQLObjectType | GraphQLInterfaceType,
               sets: tuple[SelectionSetNode, ...], parent: str, field: str, *,
               non_null: bool, root: bool = False) -> Complete:
        """How to complete an object of ``type_`` under ``sets`` at ``parent.field``."""
        key = (type_.name, tuple(map(id, sets)))
        layout = self._layouts.get(key)
        if layout is None:
            layout = self._layouts[key] = self._layout(type_, sets, root=root)
        return _object_completer(layout, parent, field, non_null=non_null)

    def _layout(self, type_: GraphQLObjectType | GraphQLInterfaceType,
                sets: tuple[SelectionSetNode, ...], *, root: bool) -> _Layout:
        layout = _Layout(type_.name, [], [], [])
        definitions = type_.fields
        for key, nodes in self.collect(type_.name, sets).items():
            name = nodes[0].name.value
            if name == "__typename":
                layout.typenames.append(key)
            elif name in definitions:
                step = self._step(key, nodes, definitions[name].type, type_.name)
                if step is not None:
                    layout.steps.append(step)
            elif not (root and name in INTROSPECTION_FIELDS):
                continue  # not in the API schema: never shown
            # (Root introspection fields were answered by the gateway: copied as they are.)
            layout.keys.append(key)
        return layout

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
        return self.object(type_, sets, parent, field, non_null=non_null)

    def _abstract_completer(self, type_: Any, sets: tuple[SelectionSetNode, ...],
                            parent: str, field: str, *, non_null: bool) -> Complete:
        #: Runtime type name -> how to complete it (None: not a type allowed here).
        by_typename: dict[str, Complete | None] = {}

        def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
            if not isinstance(value, dict):
                _unusable(request, value, path, parent, field, expected="an object",
                          non_null=non_null)
                return None
            typename = value.get("__typename")
            if isinstance(typename, str):
                if typename not in by_typename:
                    by_typename[typename] = self._runtime(
                        type_, sets, typename, parent, field, non_null=non_null)
                runtime = by_typename[typename]
                if runtime is not None:
                    return runtime(request, value, path)
            if typename is not None and not request.had_errors:
                request.error(path, f'Abstract type "{type_.name}" resolved to an unknown '
                                    f"type {typename!r}.")
            request.null(path, parent, field, non_null=non_null)
            return None

        return complete

    def _runtime(self, type_: Any, sets: tuple[SelectionSetNode, ...], typename: str,
                 parent: str, field: str, *, non_null: bool) -> Complete | None:
        object_type = self.schema.get_type(typename)
        if object_type is type_ or (isinstance(object_type, GraphQLInterfaceType)
                                    and self.schema.is_sub_type(type_, object_type)):
            # Only an @interfaceObject answered, and the client needed no concrete type.
            return self.object(object_type, sets, parent, field, non_null=non_null)
        if isinstance(object_type, GraphQLObjectType) and self.schema.is_sub_type(
                type_, object_type):
            return self.object(object_type, sets, parent, field, non_null=non_null)
        return None


def _object_completer(layout: _Layout, parent: str, field: str, *,
                      non_null: bool) -> Complete:
    type_name, keys, steps, typenames = layout

    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if not isinstance(value, dict):
            _unusable(request, value, path, parent, field, expected="an object",
                          non_null=non_null)
            return None
        # Raw values are copied first, in selection order; composites then replace theirs
        # in place, which keeps the order. (A loop, not a comprehension: on Python 3.11 a
        # comprehension makes a function object per object shaped.)
        get = value.get
        result = {}
        for key in keys:
            result[key] = get(key)
        try:
            for key, name, complete_field in steps:
                if complete_field is not None:
                    result[key] = complete_field(request, result[key], (path, key))
                elif result[key] is None:
                    request.null((path, key), type_name, name, non_null=True)
        except _Bubble:
            if non_null:
                raise
            return None
        for key in typenames:
            result[key] = type_name
        return result

    return complete


def _unusable(request: _Request, value: Any, path: LinkedPath, parent: str, field: str, *,
              expected: str, non_null: bool) -> None:
    """A null, or a value that is not ``expected``, where ``parent.field`` wants one."""
    if value is not None:
        request.error(path, f"Expected {expected} for {parent}.{field}.")
    request.null(path, parent, field, non_null=non_null)


def _list_completer(item: Complete, parent: str, field: str, *, non_null: bool) -> Complete:
    def complete(request: _Request, value: Any, path: LinkedPath) -> Any:
        if isinstance(value, list):
            completed = []
            try:
                for i, v in enumerate(value):  # a loop: see _object_completer
                    completed.append(item(request, v, (path, i)))
            except _Bubble:
                if non_null:
                    raise
                return None
            return completed
        _unusable(request, value, path, parent, field, expected="a list", non_null=non_null)
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
