"""The supergraph model: which subgraph resolves which type and field, and how.

Parsed once from the supergraph SDL (Apollo Federation join v0.1 to v0.5, link v1.0 or core
v0.x) into plain dictionaries that the planner reads on every plan: no schema walks later.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    SelectionSetNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
    print_ast,
    value_from_ast_untyped,
)

from crossdock.gateway.errors import SupergraphError

if TYPE_CHECKING:
    from pathlib import Path

_JOIN_URL = re.compile(r"specs\.apollo\.dev/join/v(\d+)\.(\d+)")
#: The ``for: SECURITY`` features the gateway knows. The link spec asks a gateway to refuse a
#: supergraph with a SECURITY feature it does not support: fail closed, not open. The API
#: schema enforces ``@inaccessible``; the others are enforced by a plugin, and a gateway
#: without one that answers for them refuses the supergraph (``Plugin.guards``).
_SUPPORTED_SECURITY = re.compile(
    r"specs\.apollo\.dev/(inaccessible|authenticated|requiresScopes|policy)/v\d+\.\d+$")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Key:
    """One ``@key`` of an entity in one subgraph."""

    fields: str
    selection: SelectionSetNode
    resolvable: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FieldInGraph:
    """How one subgraph declares one field (a ``@join__field``)."""

    graph: str
    external: bool = False
    requires: SelectionSetNode | None = None
    provides: SelectionSetNode | None = None
    override_label: str | None = None
    overridden_from_label: bool = False
    used_overridden: bool = False
    #: The field's type in this subgraph, when it differs from the supergraph's.
    type: str | None = None


@dataclasses.dataclass(slots=True, kw_only=True)
class TypeInfo:
    """A named type of the supergraph and the subgraphs that define it."""

    name: str
    kind: str  # object, interface, union, enum, input, scalar
    graphs: list[str] = dataclasses.field(default_factory=list)
    keys: dict[str, list[Key]] = dataclasses.field(default_factory=dict)
    interface_object_in: set[str] = dataclasses.field(default_factory=set)
    #: Field name -> subgraph name -> declaration; a field absent here is in every graph.
    fields: dict[str, dict[str, FieldInGraph] | None] = dataclasses.field(default_factory=dict)
    #: interface name -> subgraphs where this type implements it
    implements: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    #: union member -> subgraphs where it is a member
    members: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    owner: str | None = None
    #: Field name -> (named return type, list depth).
    returns: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    #: Field name -> its type as written in the supergraph (``[ID!]``).
    type_strings: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Subgraph -> top-level field names used in any of its keys.
    key_fields: dict[str, set[str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True, kw_only=True)
class Subgraph:
    """A subgraph named by ``join__Graph``."""

    enum_value: str
    name: str
    url: str


def field_set(text: str) -> SelectionSetNode:
    """Parse a ``join__FieldSet`` such as ``"id organization { id }"``."""
    return parse("{" + text + "}", no_location=True).definitions[0].selection_set  # type: ignore[attr-defined,no-any-return]


def _args(directive: DirectiveNode) -> dict[str, Any]:
    return {arg.name.value: value_from_ast_untyped(arg.value) for arg in directive.arguments}


def _line(node: Any) -> int:
    loc = getattr(node, "loc", None)
    return loc.start_token.line if loc is not None else 0


class Supergraph:
    """What the planner needs to know about a supergraph."""

    def __init__(self, sdl: str, *, source: str = "supergraph") -> None:
        self.sdl = sdl
        self.source = source
        try:
            self.document: DocumentNode = parse(sdl)
        except GraphQLSyntaxError as exc:
            raise SupergraphError(f"{source}: not valid GraphQL SDL: {exc.message} "
                                  f"(line {exc.locations[0].line if exc.locations else '?'})"
                                  ) from exc
        self.subgraphs: dict[str, Subgraph] = {}
        self.types: dict[str, TypeInfo] = {}
        self.root_types = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
        self.join_prefix = "join__"
        self.fed1 = False
        self._read_schema_definition()
        self._refuse_unenforced_security()
        self._read_graphs()
        self._read_types()
        self.graph_by_enum = {g.enum_value: g.name for g in self.subgraphs.values()}
        self._resolve_graph_names()

    @classmethod
    def from_file(cls, path: Path) -> Supergraph:
        """Read and parse a supergraph file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SupergraphError(f"cannot read supergraph {path}: {exc.strerror}") from exc
        return cls(text, source=str(path))

    # -- reading -----------------------------------------------------------------------------

    def _read_schema_definition(self) -> None:
        found = False
        for definition in self.document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for op in definition.operation_types:
                self.root_types[op.operation.value] = op.type.name.value
            for directive in definition.directives:
                name = directive.name.value
                if name not in {"link", "core"}:
                    continue
                args = _args(directive)
                url = str(args.get("url") or args.get("feature") or "")
                match = _JOIN_URL.search(url)
                if match:
                    found = True
                    self.fed1 = match.group(1) == "0" and int(match.group(2)) < 2  # noqa: PLR2004
                    if args.get("as"):
                        self.join_prefix = f"{args['as']}__"
        if not found:
            line = next((_line(d) for d in self.document.definitions
                         if isinstance(d, SchemaDefinitionNode)), 0)
            where = f" (schema definition at line {line})" if line else " (no schema definition)"
            raise SupergraphError(
                f"{self.source}: not a supergraph: the schema has no @link or @core to the "
                f"join spec (https://specs.apollo.dev/join/v0.x){where}")

    def _refuse_unenforced_security(self) -> None:
        guarded: set[str] = set()
        unsupported: list[str] = []
        for definition in self.document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for directive in definition.directives:
                args = _args(directive) if directive.name.value in {"link", "core"} else {}
                url = str(args.get("url") or args.get("feature") or "")
                if args.get("for") != "SECURITY":
                    continue
                known = _SUPPORTED_SECURITY.search(url)
                if known is None:
                    unsupported.append(url)
                elif known[1] != "inaccessible":
                    guarded.add(known[1])
        #: The SECURITY features a plugin must enforce for this supergraph to be served.
        self.security = frozenset(guarded)
        if unsupported:
            raise SupergraphError(
                f"{self.source}: refused: the supergraph links SECURITY features this gateway "
                f"does not enforce ({', '.join(unsupported)}); serving it would answer the "
                "fields they guard to anyone, so it is not loaded (remove those directives "
                "from the subgraphs to serve it)")

    def _read_graphs(self) -> None:
        enum_name = f"{self.join_prefix}Graph"
        for definition in self.document.definitions:
            if isinstance(definition, EnumTypeDefinitionNode) and \
                    definition.name.value == enum_name:
                for value in definition.values or ():
                    for directive in value.directives:
                        if directive.name.value == f"{self.join_prefix}graph":
                            args = _args(directive)
                            self.subgraphs[value.name.value] = Subgraph(
                                enum_value=value.name.value, name=str(args["name"]),
                                url=str(args.get("url") or ""))
                if not self.subgraphs:
                    raise SupergraphError(
                        f"{self.source}: enum {enum_name} at line {_line(definition)} "
                        "names no subgraph (@join__graph)")
                return
        raise SupergraphError(f"{self.source}: not a supergraph: no enum {enum_name} "
                              "listing the subgraphs")

    def _is_internal(self, name: str) -> bool:
        return name.startswith((self.join_prefix, "link__", "core__")) or name in {
            "link__Import", "link__Purpose"}

    def _read_types(self) -> None:  # noqa: C901, PLR0912 - one pass, every kind
        kinds = {
            "ObjectTypeDefinitionNode": "object", "ObjectTypeExtensionNode": "object",
            "InterfaceTypeDefinitionNode": "interface", "InterfaceTypeExtensionNode": "interface",
            "UnionTypeDefinitionNode": "union", "UnionTypeExtensionNode": "union",
            "EnumTypeDefinitionNode": "enum", "EnumTypeExtensionNode": "enum",
            "InputObjectTypeDefinitionNode": "input", "InputObjectTypeExtensionNode": "input",
            "ScalarTypeDefinitionNode": "scalar", "ScalarTypeExtensionNode": "scalar",
        }
        jp = self.join_prefix
        for definition in self.document.definitions:
            kind = kinds.get(type(definition).__name__)
            if kind is None:
                continue
            node: TypeDefinitionNode = definition  # type: ignore[assignment]
            name = node.name.value
            if self._is_internal(name):
                continue
            info = self.types.get(name)
            if info is None:
                info = self.types[name] = TypeInfo(name=name, kind=kind)
            for directive in node.directives or ():
                dname = directive.name.value
                args = _args(directive)
                if dname == f"{jp}type":
                    graph = str(args["graph"])
                    if graph not in info.graphs:
                        info.graphs.append(graph)
                    if args.get("key"):
                        info.keys.setdefault(graph, []).append(Key(
                            fields=str(args["key"]), selection=field_set(str(args["key"])),
                            resolvable=args.get("resolvable", True) is not False))
                    if args.get("isInterfaceObject"):
                        info.interface_object_in.add(graph)
                elif dname == f"{jp}owner":
                    info.owner = str(args["graph"])
                elif dname == f"{jp}implements":
                    info.implements.setdefault(str(args["interface"]), set()).add(
                        str(args["graph"]))
                elif dname == f"{jp}unionMember":
                    info.members.setdefault(str(args["member"]), set()).add(str(args["graph"]))
            if isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode
                          | InterfaceTypeDefinitionNode | InterfaceTypeExtensionNode):
                for field in node.fields or ():
                    info.fields[field.name.value] = self._read_field(field.directives)
                    info.returns[field.name.value] = _return_type(field.type)
                    info.type_strings[field.name.value] = print_ast(field.type)
                if isinstance(node, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
                    for iface in node.interfaces or ():
                        info.implements.setdefault(iface.name.value, set())
            if isinstance(node, UnionTypeDefinitionNode | UnionTypeExtensionNode):
                for member in node.types or ():
                    info.members.setdefault(member.name.value, set())

    def _read_field(self, directives: Any) -> dict[str, FieldInGraph] | None:
        declared: dict[str, FieldInGraph] | None = None
        for directive in directives or ():
            if directive.name.value != f"{self.join_prefix}field":
                continue
            declared = {} if declared is None else declared
            args = _args(directive)
            graph = args.get("graph")
            if graph is None:
                continue
            requires = args.get("requires")
            provides = args.get("provides")
            label = args.get("overrideLabel")
            declared[str(graph)] = FieldInGraph(
                graph=str(graph),
                external=bool(args.get("external")),
                requires=field_set(str(requires)) if requires else None,
                provides=field_set(str(provides)) if provides else None,
                override_label=str(label) if label and args.get("override") else None,
                overridden_from_label=bool(label) and not args.get("override"),
                used_overridden=bool(args.get("usedOverridden")),
                type=str(args["type"]) if args.get("type") else None,
            )
        return declared

    def _resolve_graph_names(self) -> None:  # noqa: C901
        """Replace ``join__Graph`` enum values by subgraph names everywhere."""
        names = self.graph_by_enum
        all_graphs = list(names.values())
        for info in self.types.values():
            info.graphs = [names.get(g, g) for g in info.graphs]
            if not info.graphs and not self.fed1:
                info.graphs = list(all_graphs) if info.kind in {"enum", "input", "scalar"} else []
            if self.fed1 and not info.graphs:
                info.graphs = list(all_graphs)
            info.keys = {names.get(g, g): keys for g, keys in info.keys.items()}
            info.key_fields = {
                g: {sel.name.value for key in keys for sel in key.selection.selections
                    if isinstance(sel, FieldNode)}
                for g, keys in info.keys.items()}
            info.interface_object_in = {names.get(g, g) for g in info.interface_object_in}
            info.owner = names.get(info.owner, info.owner) if info.owner else None
            info.implements = {i: {names.get(g, g) for g in gs} or set(info.graphs)
                               for i, gs in info.implements.items()}
            info.members = {m: {names.get(g, g) for g in gs} for m, gs in info.members.items()}
            for fname, declared in list(info.fields.items()):
                if declared is not None:
                    info.fields[fname] = {
                        names.get(g, g): dataclasses.replace(d, graph=names.get(g, g))
                        for g, d in declared.items()}
                elif self.fed1 and info.owner:
                    info.fields[fname] = {info.owner: FieldInGraph(graph=info.owner)}
        for info in self.types.values():
            if info.kind == "union":
                for member, graphs in info.members.items():
                    if not graphs:
                        info.members[member] = set(self.types[member].graphs)

    # -- queries -----------------------------------------------------------------------------

    def url(self, graph: str) -> str:
        """The URL of a subgraph, by name."""
        for sub in self.subgraphs.values():
            if sub.name == graph:
                return sub.url
        raise KeyError(graph)

    def field_graphs(self, type_name: str, field: str) -> dict[str, FieldInGraph]:
        """The subgraphs that declare ``type_name.field`` (external ones included)."""
        info = self.types[type_name]
        declared = info.fields.get(field)
        if declared is None:
            return {g: FieldInGraph(graph=g) for g in info.graphs}
        return declared

    def possible_types(self, name: str) -> list[str]:
        """Object types that can be returned where ``name`` is expected."""
        info = self.types[name]
        if info.kind == "object":
            return [name]
        if info.kind == "union":
            return list(info.members)
        return [t.name for t in self.types.values()
                if t.kind == "object" and name in t.implements]


def _return_type(node: Any) -> tuple[str, int]:
    depth = 0
    while not hasattr(node, "name"):
        if type(node).__name__ == "ListTypeNode":
            depth += 1
        node = node.type
    return node.name.value, depth


def load_supergraph(path: Path) -> Supergraph:
    """Read a supergraph file, with a clear error when it is not one."""
    try:
        return Supergraph.from_file(path)
    except GraphQLError as exc:
        raise SupergraphError(f"{path}: {exc.message}") from exc
