"""The cost of an operation: the IBM GraphQL cost directive spec, counted as Apollo Router does.

Estimated before planning, from the operation and its variables:

- the operation's own cost: 10 for a mutation, 0 for a query;
- each field: ``count * (weight + its selections) + its arguments + its @requires``, where
  ``weight`` is the field's ``@cost``, else its type's, else 1 for an object, interface or
  union and 0 for a scalar or enum; ``count`` is 1, or for a list the size a ``@listSize``
  gives (the largest slicing argument passed or defaulted, else ``assumedSize``; a parent's
  ``sizedFields`` size the child lists they name), else the configured ``list_size``;
- each argument: its ``@cost`` (or its type's); an input object counts 1 (or its ``@cost``)
  plus its fields, a list the sum of its items;
- ``__typename`` and fields turned off by ``@skip``/``@include`` are free; fragments count
  where they are spread.

The actual cost walks the response instead: each object returned counts its weight (1 by
default), each scalar its ``@cost`` if any, a list the sum of its items; the arguments of a
field count once. The estimate and the actual cost differ only by the lists' real lengths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    InlineFragmentNode,
    Undefined,
    get_named_type,
    is_abstract_type,
    is_composite_type,
    value_from_ast,
    value_from_ast_untyped,
)

from crossdock.gateway.errors import OperationCostError

if TYPE_CHECKING:
    from graphql import (
        DocumentNode,
        GraphQLField,
        GraphQLNamedType,
        GraphQLOutputType,
        GraphQLSchema,
        OperationDefinitionNode,
        SelectionSetNode,
    )

    from crossdock.gateway.plugins.cost_directives import CostDirectives, ListSize, SizedTree

#: What a mutation costs before its fields (Apollo Router's figure).
MUTATION_COST = 10.0
_NO_SIZING: tuple[int | None, SizedTree] = (None, {})


class CostCalculator:
    """Estimates and measures operation costs for one supergraph's API schema."""

    __slots__ = ("_fields", "directives", "list_size", "schema")

    def __init__(self, schema: GraphQLSchema, directives: CostDirectives, *,
                 list_size: int) -> None:
        self.schema = schema
        self.directives = directives
        #: The length taken for a list without a ``@listSize`` that says otherwise.
        self.list_size = list_size
        self._fields: dict[tuple[str, str], _Field | None] = {}

    def estimated(self, document: DocumentNode, operation: OperationDefinitionNode,
                  variables: Mapping[str, Any]) -> float:
        """The estimated cost of ``operation``; :class:`OperationCostError` when a
        ``@listSize`` that requires exactly one slicing argument gets none or several."""
        walk = _Walk(document, variables)
        root = self.schema.get_root_type(operation.operation)
        assert root is not None  # the operation was validated against this schema
        base = MUTATION_COST if operation.operation.value == "mutation" else 0.0
        return base + self._selections(walk, operation.selection_set, root.name, _NO_SIZING)

    def actual(self, document: DocumentNode, operation: OperationDefinitionNode,
               variables: Mapping[str, Any], data: Any) -> float:
        """The cost of what the response's ``data`` holds for ``operation``."""
        root = self.schema.get_root_type(operation.operation)
        if root is None or not isinstance(data, dict):
            return 0.0
        return self._response_object(_Walk(document, variables), operation.selection_set,
                                     root.name, data)

    # -- the estimate --------------------------------------------------------------------

    def _selections(self, walk: _Walk, selection_set: SelectionSetNode, parent: str,
                    sizing: tuple[int | None, SizedTree]) -> float:
        cost = 0.0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost += self._field(walk, node, parent, sizing)
            elif isinstance(node, InlineFragmentNode):
                if not walk.skipped(node):
                    condition = node.type_condition.name.value if node.type_condition \
                        else parent
                    cost += self._selections(walk, node.selection_set, condition, sizing)
            elif isinstance(node, FragmentSpreadNode) and not walk.skipped(node):
                fragment = walk.fragments[node.name.value]
                cost += self._selections(walk, fragment.selection_set,
                                         fragment.type_condition.name.value, sizing)
        return cost

    def _field(self, walk: _Walk, node: FieldNode, parent: str,
               sizing: tuple[int | None, SizedTree]) -> float:
        name = node.name.value
        if name.startswith("__") or walk.skipped(node):
            return 0.0
        field = self._field_of(parent, name)
        if field is None:
            return 0.0
        definition = field.definition
        own = self.directives.list_sizes.get((parent, name))
        own_sizing = _resolve(own, definition, node, walk.variables) if own else None
        below = sizing[1].get(name)
        count = 1
        if field.is_list:
            if below is not None and not below and sizing[0] is not None:
                count = sizing[0]  # a parent's @listSize names this list in sizedFields
            elif own_sizing is not None and own_sizing[0] is not None:
                count = own_sizing[0]
            else:
                count = self.list_size
        inner = own_sizing if own_sizing is not None else \
            (sizing[0], below) if below else _NO_SIZING
        weight = field.weight
        if node.selection_set is not None:
            weight += self._selections(walk, node.selection_set, field.type_name, inner)
        cost = count * weight + self._arguments(walk, node, parent, definition)
        required = self.directives.requires.get((parent, name))
        if required is not None:
            # What @requires makes the gateway fetch first: counted even when the operation
            # does not select it (an upper bound, as the router's).
            cost += self._selections(walk, required, parent, inner)
        return cost

    # -- the actual cost -----------------------------------------------------------------

    def _response_object(self, walk: _Walk, selection_set: SelectionSetNode, parent: str,
                         value: Mapping[str, Any]) -> float:
        cost = 0.0
        for key, (node, owner) in walk.collect(self.schema, selection_set, parent,
                                               value.get("__typename")).items():
            if key in value:
                cost += self._response_field(walk, node, owner, value[key], arguments=True)
        return cost

    def _response_field(self, walk: _Walk, node: FieldNode, parent: str, value: Any, *,
                        arguments: bool) -> float:
        field = self._field_of(parent, node.name.value)
        if field is None:
            return 0.0
        cost = 0.0
        if isinstance(value, list):
            for item in value:
                cost += self._response_field(walk, node, parent, item, arguments=False)
        elif isinstance(value, dict) and field.composite and node.selection_set is not None:
            cost += field.weight
            cost += self._response_object(walk, node.selection_set, field.type_name, value)
        else:
            cost += field.declared or 0.0
        if arguments and node.arguments:
            cost += self._arguments(walk, node, parent, field.definition)
        return cost

    # -- shared --------------------------------------------------------------------------

    def _field_of(self, parent: str, name: str) -> _Field | None:
        """What costing ``parent.name`` needs (None: an introspection or unknown field)."""
        key = (parent, name)
        try:
            return self._fields[key]
        except KeyError:
            pass
        found = None
        fields = getattr(self.schema.type_map.get(parent), "fields", None)
        definition = fields.get(name) if fields is not None and not name.startswith("__") \
            else None
        if definition is not None:
            named = get_named_type(definition.type)
            # The field's @cost, else its type's.
            declared = self.directives.fields.get(key)
            if declared is None:
                declared = self.directives.types.get(named.name)
            composite = is_composite_type(named)
            found = _Field(definition=definition, type_name=named.name,
                           is_list=_is_list(definition.type), composite=composite,
                           declared=declared, weight=declared if declared is not None
                           else 1.0 if composite else 0.0)
        self._fields[key] = found
        return found

    def _arguments(self, walk: _Walk, node: FieldNode, parent: str,
                   definition: GraphQLField) -> float:
        cost = 0.0
        for argument in node.arguments:
            name = argument.name.value
            declared = definition.args.get(name)
            if declared is None:
                continue
            named = get_named_type(declared.type)
            weight = self.directives.arguments.get((parent, node.name.value, name))
            if weight is None:
                weight = self.directives.types.get(named.name)
            cost += self._input(value_from_ast_untyped(argument.value, walk.variables),
                                weight, named)
        return cost

    def _input(self, value: Any, weight: float | None, named: GraphQLNamedType) -> float:
        """The cost of an argument's or input field's value."""
        if value is None or value is Undefined:
            return 0.0
        if isinstance(value, dict) and isinstance(named, GraphQLInputObjectType):
            cost = 1.0 if weight is None else weight
            for key, item in value.items():
                field = named.fields.get(key)
                if field is None:
                    continue
                inner = get_named_type(field.type)
                own = self.directives.input_fields.get((named.name, key))
                cost += self._input(item, own if own is not None
                                    else self.directives.types.get(inner.name), inner)
            return cost
        if isinstance(value, list):
            return (weight or 0.0) + sum(self._input(item, weight, named) for item in value)
        return weight or 0.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Field:
    """A field of the schema as costing sees it, worked out once per calculator."""

    definition: GraphQLField
    #: The named type it returns.
    type_name: str
    is_list: bool
    composite: bool
    #: Its ``@cost``, else its type's (None: neither has one).
    declared: float | None
    #: ``declared``, else 1 for an object, interface or union and 0 for a scalar or enum.
    weight: float


class _Walk:
    """One operation's fragments and variables, as a walk over it needs them."""

    __slots__ = ("collected", "fragments", "variables")

    def __init__(self, document: DocumentNode, variables: Mapping[str, Any]) -> None:
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.variables = dict(variables)
        # Each item of a list is collected the same way: once per selection set and type.
        self.collected: dict[tuple[int, str, str | None], dict[str, tuple[FieldNode, str]]] = {}

    def skipped(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        """Whether ``@skip``/``@include`` leave ``node`` out."""
        for directive in node.directives or ():
            name = directive.name.value
            if name in {"skip", "include"} and directive.arguments:
                condition = value_from_ast_untyped(directive.arguments[0].value,
                                                   self.variables)
                if condition is (name == "skip"):
                    return True
        return False

    def collect(self, schema: GraphQLSchema, selection_set: SelectionSetNode, parent: str,
                runtime: Any) -> dict[str, tuple[FieldNode, str]]:
        """The fields of a response object by response key, each with the type it was
        selected on. Fragments whose type the object may have apply; without its
        ``__typename`` every fragment may, and the first field of a key wins."""
        runtime = runtime if isinstance(runtime, str) else None
        key = (id(selection_set), parent, runtime)
        found = self.collected.get(key)
        if found is None:
            found = self.collected[key] = {}
            self._collect(schema, selection_set, parent, runtime, found)
        return found

    def _collect(self, schema: GraphQLSchema, selection_set: SelectionSetNode, parent: str,
                 runtime: str | None, found: dict[str, tuple[FieldNode, str]]) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                found.setdefault(key, (node, parent))
                continue
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else parent
                selections = node.selection_set
            else:
                assert isinstance(node, FragmentSpreadNode)
                fragment = self.fragments[node.name.value]
                condition = fragment.type_condition.name.value
                selections = fragment.selection_set
            if _applies(schema, condition, runtime):
                self._collect(schema, selections, condition, runtime, found)


def _is_list(type_: GraphQLOutputType) -> bool:
    return isinstance(type_.of_type if isinstance(type_, GraphQLNonNull) else type_,
                      GraphQLList)


def _applies(schema: GraphQLSchema, condition: str, runtime: str | None) -> bool:
    if runtime is None or condition == runtime:
        return True
    abstract = schema.type_map.get(condition)
    concrete = schema.type_map.get(runtime)
    return abstract is not None and concrete is not None and is_abstract_type(abstract) \
        and schema.is_sub_type(abstract, concrete)  # type: ignore[arg-type]


def _resolve(own: ListSize, definition: GraphQLField, node: FieldNode,
             variables: Mapping[str, Any]) -> tuple[int | None, SizedTree]:
    """The size a field's ``@listSize`` gives this occurrence, and its sized fields."""
    sizes: list[int] = []
    if own.slicing_arguments:
        given = {a.name.value: a.value for a in node.arguments}
        for path in own.slicing_arguments:
            name, _, rest = path.partition(".")
            declared = definition.args.get(name)
            if declared is None:
                continue
            size = None
            if name in given:
                size = _size(value_from_ast(given[name], declared.type, dict(variables)), rest)
            if size is None:
                size = _size(declared.default_value, rest)
            if size is not None:
                sizes.append(size)
        if own.require_one_slicing_argument and len(sizes) != 1:
            raise OperationCostError(
                f"Exactly one slicing argument is required, but found {len(sizes)}")
    return (max(sizes) if sizes else own.assumed_size), own.sized


def _size(value: Any, path: str) -> int | None:
    """The length a slicing argument's value gives (an integer, or a list's length)."""
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
