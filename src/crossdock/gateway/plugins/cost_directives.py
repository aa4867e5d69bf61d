"""What a supergraph's ``@cost`` and ``@listSize`` directives say, read once per supergraph.

Apollo composition copies both directives of the cost spec
(``https://specs.apollo.dev/cost/v0.1``) into the supergraph as they are (not through
``@join__directive``), links the spec on the schema and keeps, for a ``@cost`` set in several
subgraphs, the largest weight. The names follow the link: imported ones as imported (or as
renamed with ``{name: "@cost", as: "@weight"}``), the others prefixed by the link's namespace
(``@cost`` for the spec's own name, ``@cost__listSize``). A supergraph that does not link the
spec is read with the plain names when it defines those directives.

``weight`` is a string in the IBM spec and in current composition, an integer in older
federation releases: both are read; one that is not a number is a :class:`SupergraphError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from graphql import (
    DirectiveDefinitionNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    value_from_ast_untyped,
)

from crossdock.gateway.errors import SupergraphError
from crossdock.gateway.supergraph import field_set

if TYPE_CHECKING:
    from graphql import DirectiveNode, FieldDefinitionNode, SelectionSetNode

    from crossdock.gateway.supergraph import Supergraph

_COST_URL = re.compile(r"specs\.apollo\.dev/cost/v\d+\.\d+")
#: The types whose own ``@cost`` is the default weight of a field, argument or input field
#: of that type (the spec's OBJECT, SCALAR and ENUM locations).
_WEIGHTED_TYPES = (ObjectTypeDefinitionNode, ObjectTypeExtensionNode, ScalarTypeDefinitionNode,
                   ScalarTypeExtensionNode, EnumTypeDefinitionNode, EnumTypeExtensionNode)
_FIELDED_TYPES = (ObjectTypeDefinitionNode, ObjectTypeExtensionNode,
                  InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode)
_INPUT_TYPES = (InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode)


#: Sized field names under one field: a name to its own subtree (empty: a sized list).
SizedTree = Mapping[str, "SizedTree"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ListSize:
    """A field's ``@listSize``: how long the list it returns is taken to be."""

    assumed_size: int | None = None
    #: Arguments (or dotted paths into input objects) that set the length; the largest given
    #: wins.
    slicing_arguments: tuple[str, ...] = ()
    #: Fields of the returned object whose lists have that length (``"edges"``, or a path
    #: such as ``"results { page }"``).
    sized_fields: tuple[str, ...] = ()
    require_one_slicing_argument: bool = True
    #: ``sized_fields`` as a tree: a field name to the names under it (empty: that field is
    #: the sized list).
    sized: Mapping[str, SizedTree] = dataclasses.field(default_factory=dict)



@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CostDirectives:
    """The weights and list sizes a supergraph declares (absent: the defaults apply)."""

    #: ``@cost`` of an object, scalar or enum type.
    types: Mapping[str, float] = dataclasses.field(default_factory=dict)
    #: ``@cost`` of ``(type, field)``.
    fields: Mapping[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    #: ``@cost`` of ``(type, field, argument)``.
    arguments: Mapping[tuple[str, str, str], float] = dataclasses.field(default_factory=dict)
    #: ``@cost`` of ``(input type, input field)``.
    input_fields: Mapping[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    list_sizes: Mapping[tuple[str, str], ListSize] = dataclasses.field(default_factory=dict)
    #: ``@requires`` selections, by ``(type, field)``: what the field makes the gateway fetch.
    requires: Mapping[tuple[str, str], SelectionSetNode] = dataclasses.field(
        default_factory=dict)


def read_cost_directives(supergraph: Supergraph) -> CostDirectives:
    """The ``@cost`` and ``@listSize`` of ``supergraph``."""
    reader = _Reader(*_directive_names(supergraph))
    for definition in supergraph.document.definitions:
        if isinstance(definition, _WEIGHTED_TYPES):
            weight = reader.weight(definition.directives, definition.name.value)
            if weight is not None:
                reader.types[definition.name.value] = weight
        if isinstance(definition, _FIELDED_TYPES):
            for field in definition.fields or ():
                reader.field(definition.name.value, field)
        elif isinstance(definition, _INPUT_TYPES):
            for input_field in definition.fields or ():
                weight = reader.weight(input_field.directives,
                                       f"{definition.name.value}.{input_field.name.value}")
                if weight is not None:
                    reader.inputs[definition.name.value, input_field.name.value] = weight
    return CostDirectives(types=reader.types, fields=reader.fields, arguments=reader.arguments,
                          input_fields=reader.inputs, list_sizes=reader.sizes,
                          requires=_requires(supergraph))


class _Reader:
    """The directives found so far, under the names they have in the supergraph."""

    def __init__(self, cost_name: str, list_size_name: str) -> None:
        self.cost_name = cost_name
        self.list_size_name = list_size_name
        self.types: dict[str, float] = {}
        self.fields: dict[tuple[str, str], float] = {}
        self.arguments: dict[tuple[str, str, str], float] = {}
        self.inputs: dict[tuple[str, str], float] = {}
        self.sizes: dict[tuple[str, str], ListSize] = {}

    def weight(self, directives: Any, where: str) -> float | None:
        return _weight(directives, self.cost_name, where)

    def field(self, type_name: str, field: FieldDefinitionNode) -> None:
        name = field.name.value
        where = f"{type_name}.{name}"
        weight = self.weight(field.directives, where)
        if weight is not None:
            self.fields[type_name, name] = weight
        size = _list_size(field.directives, self.list_size_name, where)
        if size is not None:
            self.sizes[type_name, name] = size
        for argument in field.arguments or ():
            weight = self.weight(argument.directives, f"{where}({argument.name.value}:)")
            if weight is not None:
                self.arguments[type_name, name, argument.name.value] = weight


def _directive_names(supergraph: Supergraph) -> tuple[str, str]:
    """The names ``@cost`` and ``@listSize`` have in ``supergraph``."""
    for definition in supergraph.document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives:
            if directive.name.value != "link":
                continue
            args = _args(directive)
            if not _COST_URL.search(str(args.get("url") or "")):
                continue
            namespace = str(args.get("as") or "cost")
            imported = _imports(args.get("import"))
            cost = imported.get("cost", namespace)
            return cost, imported.get("listSize", f"{namespace}__listSize")
    defined = {d.name.value for d in supergraph.document.definitions
               if isinstance(d, DirectiveDefinitionNode)}
    return ("cost" if "cost" in defined else ""), \
        ("listSize" if "listSize" in defined else "")


def _imports(value: Any) -> dict[str, str]:
    """``import: ["@cost", {name: "@listSize", as: "@size"}]`` as ``{"cost": "cost",
    "listSize": "size"}``."""
    found: dict[str, str] = {}
    for item in value if isinstance(value, list) else ():
        if isinstance(item, str):
            found[item.lstrip("@")] = item.lstrip("@")
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            found[item["name"].lstrip("@")] = str(item.get("as") or item["name"]).lstrip("@")
    return found


def _args(directive: DirectiveNode) -> dict[str, Any]:
    return {arg.name.value: value_from_ast_untyped(arg.value) for arg in directive.arguments}


def _find(directives: Any, name: str) -> DirectiveNode | None:
    if not name:
        return None
    return next((d for d in directives or () if d.name.value == name), None)


def _weight(directives: Any, name: str, where: str) -> float | None:
    directive = _find(directives, name)
    if directive is None:
        return None
    value = _args(directive).get("weight")
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError):
            weight = float(value)
            if math.isfinite(weight):
                return weight
    raise SupergraphError(f"@{name} on {where}: weight {value!r} is not a number")


def _list_size(directives: Any, name: str, where: str) -> ListSize | None:
    directive = _find(directives, name)
    if directive is None:
        return None
    args = _args(directive)
    assumed = args.get("assumedSize")
    if assumed is not None and (isinstance(assumed, bool) or not isinstance(assumed, int)):
        raise SupergraphError(f"@{name} on {where}: assumedSize {assumed!r} is not a whole "
                              "number")
    sized_fields = tuple(str(s) for s in args.get("sizedFields") or ())
    sized: dict[str, SizedTree] = {}
    for text in sized_fields:
        try:
            selection = field_set(text)
        except GraphQLError as exc:
            raise SupergraphError(f"@{name} on {where}: sizedFields {text!r} is not a field "
                                  "path") from exc
        _merge(sized, selection)
    return ListSize(
        assumed_size=assumed,
        slicing_arguments=tuple(str(s) for s in args.get("slicingArguments") or ()),
        sized_fields=sized_fields, sized=sized,
        require_one_slicing_argument=args.get("requireOneSlicingArgument", True) is not False)


def _merge(tree: dict[str, SizedTree], selection: SelectionSetNode) -> None:
    for node in selection.selections:
        if isinstance(node, FieldNode):
            below = tree.setdefault(node.name.value, {})
            if node.selection_set is not None:
                _merge(below, node.selection_set)  # type: ignore[arg-type]


def _requires(supergraph: Supergraph) -> dict[tuple[str, str], SelectionSetNode]:
    found: dict[tuple[str, str], SelectionSetNode] = {}
    for info in supergraph.types.values():
        for field, graphs in info.fields.items():
            for declared in (graphs or {}).values():
                if declared.requires is not None:
                    found[info.name, field] = declared.requires
                    break
    return found
