"""The query planner: from an operation to a plan of subgraph fetches.

The planner walks the operation's selections against the supergraph. A field stays in the
fetch of its parent when that subgraph can resolve it (staying put is how @shareable and
@provides pay off); otherwise the planner adds the entity's key (and the field's @requires)
to the parent fetch and moves the field into an ``_entities`` fetch on a subgraph that
resolves it, reached through the fewest key hops. Abstract types are expanded into one
fragment per possible object type the subgraph knows, with ``__typename`` always selected
so that the executor and the response shaping know each object's type.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    InlineFragmentNode,
    NameNode,
    SelectionSetNode,
    print_ast,
)

if TYPE_CHECKING:
    from crossdock.gateway.plan import Shape
    from crossdock.gateway.supergraph import FieldInGraph, Key, Supergraph

#: Prefix of the aliases given to @requires fields with arguments.
REQUIRES_ALIAS = "_cdreq_"
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
#: Bounds the chain of key hops tried while looking for a subgraph that resolves a field.
MAX_DEPTH = 12

Provided = dict[str, Any]


def label_active(label: str) -> bool:
    """Whether a progressive @override label is on: only ``percent(100)`` without a config."""
    return label.replace(" ", "") == "percent(100)"


class Planner:
    """The questions planning asks of one supergraph, answered once and cached.

    :func:`crossdock.gateway.planning.plan_operation` plans an operation with it.
    """

    def __init__(self, supergraph: Supergraph) -> None:
        self.supergraph = supergraph
        self.types = supergraph.types
        self._possible: dict[str, frozenset[str]] = {}
        self._edges: dict[tuple[str, str, str], Key | None] = {}
        self._provided: dict[int, Provided] = {}
        self._aliased: dict[int, SelectionSetNode] = {}

    # -- supergraph queries (cached) -----------------------------------------------------------

    def possible(self, type_name: str) -> frozenset[str]:
        found = self._possible.get(type_name)
        if found is None:
            found = self._possible[type_name] = frozenset(
                self.supergraph.possible_types(type_name))
        return found

    def resolvable(self, type_name: str, field: str, graph: str,  # noqa: PLR0911
                   provided: Provided | None, *, local: bool = True) -> bool:
        """Whether ``graph`` can resolve ``type_name.field`` in the current position.

        With ``local``, a field with @requires does not count: it needs an entity fetch
        carrying the required fields, even from the subgraph of its parent.
        """
        info = self.types[type_name]
        declared = info.fields.get(field)
        if declared is None:
            if field not in info.returns:
                return False
            return graph in info.graphs or (graph in info.interface_object_in)
        decl = declared.get(graph)
        if decl is None:
            return False
        if decl.external:
            if provided is not None and (field in provided or field in provided.get(
                    "on " + type_name, {})):
                return True
            # Fed1 supergraphs mark the key fields of extended types external, yet the
            # extending subgraph returns them: they came in the representation.
            return self.supergraph.fed1 and field in info.key_fields.get(graph, ())
        if local and decl.requires is not None:
            return False
        return _usable(decl)

    def aliased(self, requires: SelectionSetNode) -> SelectionSetNode:
        """``requires`` with an alias on each field that takes arguments.

        The client may select the same field with other arguments in the same place; the
        alias keeps both apart in the subgraph request and in the merged data.
        """
        found = self._aliased.get(id(requires))
        if found is None:
            found = self._aliased[id(requires)] = _alias_arguments(requires)
        return found

    def provided_for(self, provides: SelectionSetNode) -> Provided:
        found = self._provided.get(id(provides))
        if found is None:
            found = self._provided[id(provides)] = _provided_map(provides)
        return found

    def key_edge(self, type_name: str, source: str, target: str) -> Key | None:
        """A key of ``type_name`` in ``target`` whose fields ``source`` can resolve itself."""
        cache_key = (type_name, source, target)
        if cache_key in self._edges:
            return self._edges[cache_key]
        found = None
        for key in self.types[type_name].keys.get(target, ()):
            if key.resolvable and self._local(type_name, key.selection, source):
                found = key
                break
        self._edges[cache_key] = found
        return found

    def _local(self, type_name: str, selection: SelectionSetNode, graph: str,
               provided: Provided | None = None) -> bool:
        for sel in selection.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name == "__typename":
                    continue
                if not self.resolvable(type_name, name, graph, provided):
                    return False
                if sel.selection_set is not None:
                    inner = self.types[type_name].returns[name][0]
                    inner_provided = None if provided is None else provided.get(name)
                    if not self._local(inner, sel.selection_set, graph, inner_provided):
                        return False
        return True

    def distance(self, type_name: str, source: str, target: str,
                 exclude: frozenset[str], provided: Provided | None = None) -> int | None:
        """The fewest entity hops from ``source`` to ``target`` for ``type_name``."""
        if source == target:
            return 0
        if provided and any(k.resolvable and self._local(type_name, k.selection, source, provided)
                            for k in self.types[type_name].keys.get(target, ())):
            return 1
        info = self.types[type_name]
        graphs = set(info.graphs) | set(info.keys)
        seen = {source}
        queue = deque([(source, 0)])
        while queue:
            graph, hops = queue.popleft()
            for nxt in graphs:
                if nxt in seen or (nxt in exclude and nxt != target):
                    continue
                if self.key_edge(type_name, graph, nxt) is not None:
                    if nxt == target:
                        return hops + 1
                    seen.add(nxt)
                    queue.append((nxt, hops + 1))
        # No chain of keys: a key whose fields come partly from other reachable subgraphs.
        for key in info.keys.get(target, ()):
            if key.resolvable and self.obtainable(type_name, key.selection, source,
                                                  seen - {target}):
                return 2
        return None

    def neighbours(self, type_name: str, graph: str) -> set[str]:
        """Subgraphs one key hop away from ``graph`` for ``type_name``."""
        return {g for g in self.types[type_name].keys
                if g != graph and self.key_edge(type_name, graph, g) is not None}

    def obtainable(self, type_name: str, selection: SelectionSetNode, source: str,
                   reachable: set[str], depth: int = 0) -> bool:
        """Whether each field of ``selection`` is local to ``source`` or to a reachable graph."""
        for sel in selection.selections:
            if not isinstance(sel, FieldNode) or sel.name.value == "__typename":
                continue
            name = sel.name.value
            inner = self.types[type_name].returns.get(name, ("", 0))[0]
            ok = False
            for graph in (source, *sorted(reachable - {source})):
                if self.resolvable(type_name, name, graph, None) and (
                        sel.selection_set is None
                        or self._local(inner, sel.selection_set, graph)
                        or (depth < 3 and self.obtainable(  # noqa: PLR2004
                            inner, sel.selection_set, graph, self.neighbours(inner, graph),
                            depth + 1))):
                    ok = True
                    break
            if not ok:
                return False
        return True


def _usable(decl: FieldInGraph) -> bool:
    if decl.used_overridden:
        return False
    if decl.override_label is not None:
        return label_active(decl.override_label)
    if decl.overridden_from_label:
        return True
    return True


def _provided_map(selection: SelectionSetNode) -> Provided:
    result: Provided = {}
    for sel in selection.selections:
        if isinstance(sel, FieldNode):
            sub = _provided_map(sel.selection_set) if sel.selection_set else {}
            existing = result.get(sel.name.value)
            result[sel.name.value] = {**existing, **sub} if existing else sub
        elif isinstance(sel, InlineFragmentNode):
            inner = _provided_map(sel.selection_set)
            if sel.type_condition is None:
                result.update(inner)
            else:
                result["on " + sel.type_condition.name.value] = inner
    return result


def _alias_arguments(selection: SelectionSetNode) -> SelectionSetNode:
    out: list[Any] = []
    for sel in selection.selections:
        if isinstance(sel, FieldNode):
            inner = _alias_arguments(sel.selection_set) if sel.selection_set else None
            alias = sel.alias
            if sel.arguments:
                digest = hashlib.sha1(  # noqa: S324 - a short stable name, not security
                    "".join(print_ast(a) for a in sel.arguments).encode()).hexdigest()[:8]
                alias = NameNode(value=f"{REQUIRES_ALIAS}{sel.name.value}_{digest}")
            out.append(FieldNode(alias=alias, name=sel.name, arguments=sel.arguments,
                                 directives=sel.directives, selection_set=inner))
        elif isinstance(sel, InlineFragmentNode):
            out.append(InlineFragmentNode(type_condition=sel.type_condition,
                                          directives=sel.directives,
                                          selection_set=_alias_arguments(sel.selection_set)))
        else:
            out.append(sel)
    return SelectionSetNode(selections=tuple(out))


def shapes_conflict(known: tuple[str, Shape] | None, shape: Shape) -> bool:
    """Whether two representation shapes would put different data under one key."""
    if known is None:
        return False
    sources = {name: (key, sub) for key, name, sub in known[1]}
    for key, name, sub in shape:
        found = sources.get(name)
        if found is not None and found != (key, sub):
            return True
    return False


def narrowed(field: FieldNode, selections: list[FieldNode]) -> FieldNode:
    """``field`` with only ``selections`` under it."""
    return FieldNode(alias=field.alias, name=field.name, arguments=field.arguments,
                     directives=(), selection_set=SelectionSetNode(selections=tuple(selections)))


def shape_of(selection: SelectionSetNode) -> Shape:
    out: list[tuple[str, str, Shape | None]] = []
    for sel in selection.selections:
        if isinstance(sel, FieldNode) and sel.name.value != "__typename":
            key = sel.alias.value if sel.alias else sel.name.value
            out.append((key, sel.name.value,
                        shape_of(sel.selection_set) if sel.selection_set else None))
        elif isinstance(sel, InlineFragmentNode):
            out.extend(shape_of(sel.selection_set))
    return tuple(out)
