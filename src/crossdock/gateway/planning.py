"""Planning one operation: the walk over its selections that builds the fetches.

See :mod:`crossdock.gateway.planner` for the strategy and the questions the walk asks of the
supergraph; this module holds the per-operation state (fetches made so far, where objects may
live) and the recursive walk. Field collection is :mod:`crossdock.gateway.fields`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    SelectionSetNode,
    print_ast,
)

from crossdock.gateway.errors import PlanningError
from crossdock.gateway.fields import FieldCollector, Fields, operation_of
from crossdock.gateway.plan import ALIAS_PREFIX, Fetch, Path, Plan, Selection
from crossdock.gateway.planner import (
    INTROSPECTION_FIELDS,
    MAX_DEPTH,
    Planner,
    Provided,
    narrowed,
    shape_of,
    shapes_conflict,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


def plan_operation(planner: Planner, document: DocumentNode, operation_name: str | None,
                   variables: Mapping[str, Any]) -> Plan:
    """Plan one operation; ``variables`` only matter through @skip/@include."""
    return OperationPlanner(planner, document, operation_name, variables).run()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """Where the walk stands: what a field planned here goes into, and under what terms."""

    #: The fetch being filled, and the selection in it that the field goes into.
    fetch: Fetch
    out: Selection
    #: The response path (``@`` for each list level, ``|Type`` for a type condition).
    path: Path = ()
    #: What an enclosing @provides makes resolvable from ``fetch``'s subgraph here.
    provided: Provided | None = None
    #: Subgraphs not to jump to from here (the target of a key being fetched, to not loop).
    exclude: frozenset[str] = frozenset()
    #: Entity hops and nested positions so far, bounded by ``MAX_DEPTH``.
    depth: int = 0

    def moved(self, **changes: Any) -> Position:
        """This position with ``changes`` (a deeper one, another fetch...)."""
        return dataclasses.replace(self, **changes)

    def origin(self) -> Origin:
        """A jump from here."""
        return Origin(graph=self.fetch.graph, fetch_id=self.fetch.id, path=self.path,
                      exclude=self.exclude, provided=self.provided)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where a jump to another subgraph would start, for ranking the subgraphs to jump to."""

    graph: str
    #: The fetch the jump would extend; -1 when only asking whether a plan exists.
    fetch_id: int = -1
    path: Path = ()
    exclude: frozenset[str] = frozenset()
    provided: Provided | None = None


class OperationPlanner:
    """The state of planning one operation."""

    def __init__(self, planner: Planner, document: DocumentNode, operation_name: str | None,
                 variables: Mapping[str, Any]) -> None:
        self.planner = planner
        self.sg = planner.supergraph
        self.types = planner.types
        self.operation = operation_of(document, operation_name)
        #: The operation's field collection, shared with the response shaping of its plan.
        self.fields = FieldCollector(document, variables, types=self.types,
                                     possible=planner.possible)
        self.collect = self.fields.collect
        self.fetches: list[Fetch] = []
        self.entity_fetches: dict[tuple[int, str, Path, int], Fetch] = {}
        self.introspection = False
        self.count = 0
        #: Response path -> subgraphs that could hold the object there.
        self.locations: dict[Path, frozenset[str]] = {}

    # -- planning -----------------------------------------------------------------------------

    def run(self) -> Plan:
        op = self.operation.operation.value
        root = self.sg.root_types.get(op, op.capitalize())
        fields = self.collect(root, [self.operation.selection_set])
        stages: list[list[Fetch]] = []
        if op == "mutation":
            current: Fetch | None = None
            for key, nodes in fields.items():
                name = nodes[0].name.value
                if name == "__typename":
                    continue
                graph = self.root_graph(root, name, None)
                if current is None or current.graph != graph:
                    self.fetches = []
                    current = self.new_fetch(graph, "mutation")
                    stages.append(self.fetches)
                self.plan_field(Position(fetch=current, out=current.selection), root, key,
                                nodes)
        else:
            roots: dict[str, Fetch] = {}
            for key, nodes in fields.items():
                name = nodes[0].name.value
                if name in INTROSPECTION_FIELDS:
                    self.introspection = True
                    continue
                if name == "__typename":
                    continue
                for graph, group in self.root_groups(root, name, nodes, roots):
                    fetch = roots.get(graph)
                    if fetch is None:
                        fetch = roots[graph] = self.new_fetch(graph, "query")
                    self.plan_field(Position(fetch=fetch, out=fetch.selection), root, key,
                                    group)
            stages.append(self.fetches)
        variable_types = {
            v.variable.name.value: print_ast(v.type) + (
                f" = {print_ast(v.default_value)}" if v.default_value is not None else "")
            for v in self.operation.variable_definitions or ()}
        for stage in stages:
            for fetch in stage:
                fetch.finish(variable_types)
        return Plan(operation=op, stages=stages, introspection=self.introspection)

    def root_candidates(self, root: str, name: str, roots: dict[str, Fetch] | None) -> list[str]:
        if name not in self.types[root].returns:
            raise PlanningError(f"{root}.{name} is not in the supergraph")
        declared = self.sg.field_graphs(root, name)
        candidates = [g for g in declared if self.planner.resolvable(root, name, g, None)]
        if not candidates:
            raise PlanningError(f"no subgraph resolves {root}.{name}")
        if roots:
            candidates.sort(key=lambda g: g not in roots)
        return candidates

    def root_graph(self, root: str, name: str, roots: dict[str, Fetch] | None) -> str:
        return self.root_candidates(root, name, roots)[0]

    def root_groups(self, root: str, name: str, nodes: list[FieldNode],
                    roots: dict[str, Fetch]) -> list[tuple[str, list[FieldNode]]]:
        """Where to fetch a root field: one subgraph if one can, else split its subfields."""
        candidates = self.root_candidates(root, name, roots)
        for graph in candidates:
            if self.field_plannable(graph, root, nodes, None, 0):
                return [(graph, nodes)]
        return_type = self.types[root].returns[name][0]
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if len(candidates) == 1 or not sets or self.types[return_type].kind != "object":
            return [(candidates[0], nodes)]
        groups: dict[str, list[FieldNode]] = {}
        for sub_nodes in self.collect(return_type, sets).values():
            graph = next((g for g in candidates
                          if self.field_plannable(g, return_type, sub_nodes, None, 1)),
                         candidates[0])
            groups.setdefault(graph, []).extend(sub_nodes)
        return [(graph, [narrowed(nodes[0], subs)]) for graph, subs in groups.items()]

    def plannable(self, graph: str, type_name: str, selection_sets: list[SelectionSetNode],
                  provided: Provided | None, depth: int) -> bool:
        """Whether the selections can be planned from ``graph`` (no side effects)."""
        if depth > MAX_DEPTH:
            return False
        info = self.types[type_name]
        if info.kind == "object" or graph in info.interface_object_in:
            targets = [type_name]
        else:
            targets = [o for o in sorted(self.planner.possible(type_name))
                       if self.knows(graph, type_name, o)]
        for target in targets:
            for nodes in self.collect(target, selection_sets).values():
                if not self.field_plannable(graph, target, nodes, provided, depth):
                    return False
        return True

    def field_plannable(self, graph: str, type_name: str, nodes: list[FieldNode],
                        provided: Provided | None, depth: int) -> bool:
        name = nodes[0].name.value
        if name == "__typename":
            return True
        info = self.types[type_name]
        if name not in info.returns:
            return False
        if self.planner.resolvable(type_name, name, graph, provided):
            target_graph = graph
            sub_provided = self.sub_provided(type_name, name, graph, provided)
        else:
            target = self.choose_target(Origin(graph=graph, provided=provided), type_name, name)
            if target is None:
                return False
            target_graph, sub_provided = target[0], None
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if not sets:
            return True
        return self.plannable(target_graph, info.returns[name][0], sets, sub_provided, depth + 1)

    def sub_provided(self, type_name: str, name: str, graph: str,
                     provided: Provided | None) -> Provided | None:
        """What @provides makes resolvable under ``type_name.name`` fetched from ``graph``."""
        decl = self.types[type_name].fields.get(name)
        declared = decl.get(graph) if decl else None
        if declared is not None and declared.provides is not None:
            return self.planner.provided_for(declared.provides)
        if provided is not None:
            found = provided.get(name)
            if found is None:
                found = provided.get("on " + type_name, {}).get(name)
            return found  # type: ignore[no-any-return]
        return None

    def new_fetch(self, graph: str, kind: str, path: Path = ()) -> Fetch:
        fetch = Fetch(id=self.count, graph=graph, kind=kind, path=path)
        self.count += 1
        self.fetches.append(fetch)
        return fetch

    def shared_types(self, parent: str, name: str, return_type: str, path: Path,
                     sub_path: Path) -> frozenset[str] | None:
        """For a field several subgraphs could answer here, the types all of them can return.

        A @shareable field must answer the same from any subgraph that could hold its parent
        object, so types that only some of them have in the union or interface are not
        asked for (as Apollo and Hive plan it).
        """
        where = self.locations.get(path)
        while where is None and path and path[-1][0] == "|":
            path = path[:-1]
            where = self.locations.get(path)
        info = self.types[parent]
        if where is None:
            where = frozenset(info.graphs)
        elif info.keys:
            where = where | {g for g, keys in info.keys.items() if any(k.resolvable for k in keys)}
        graphs = [g for g in self.sg.field_graphs(parent, name)
                  if g in where and self.planner.resolvable(parent, name, g, None, local=False)]
        self.locations[sub_path] = frozenset(graphs)
        if self.types[return_type].kind == "object" or len(graphs) < 2:  # noqa: PLR2004
            return None
        return frozenset(o for o in self.planner.possible(return_type)
                         if all(self.knows(g, return_type, o) for g in graphs))

    def plan_composite(self, at: Position, type_name: str,
                       selection_sets: list[SelectionSetNode],
                       restrict: frozenset[str] | None = None) -> set[int]:
        info = self.types[type_name]
        graph = at.fetch.graph
        provided = at.provided
        if info.kind == "object":
            return self.plan_fields(at, type_name, self.collect(type_name, selection_sets))
        if graph in info.interface_object_in:
            return self.plan_interface_object(at, type_name, selection_sets)
        at.out.add_typename()
        used = {at.fetch.id}
        known = [o for o in sorted(self.planner.possible(type_name))
                 if self.knows(graph, type_name, o) and (restrict is None or o in restrict)]
        if not known:
            for nodes in self.collect(type_name, selection_sets).values():
                name = nodes[0].name.value
                if name != "__typename" and not self.planner.resolvable(type_name, name, graph,
                                                                        provided):
                    raise PlanningError(f"cannot plan {type_name}.{name}: subgraph {graph!r} "
                                        "returns no type that implements it")
        for object_type in known:
            fields = self.collect(object_type, selection_sets)
            fields.pop("__typename", None)
            if not fields:
                continue
            used |= self.plan_fields(at.moved(out=at.out.fragment(object_type),
                                              path=(*at.path, "|" + object_type)),
                                     object_type, fields)
        return used

    def plan_interface_object(self, at: Position, type_name: str,
                              selection_sets: list[SelectionSetNode]) -> set[int]:
        """An interface that this subgraph knows as an @interfaceObject.

        The subgraph resolves the interface's own fields but knows no implementation: when
        the client needs the concrete type (``__typename``, type conditions, fields other
        subgraphs resolve), an entity fetch to a subgraph that has the real interface finds
        it, and resolves the rest.
        """
        fetch = at.fetch
        at.out.add_typename()
        own = self.collect(type_name, selection_sets)
        local = {key: nodes for key, nodes in own.items()
                 if nodes[0].name.value != "__typename"
                 and self.planner.resolvable(type_name, nodes[0].name.value, fetch.graph,
                                             at.provided)}
        used = self.plan_fields(at, type_name, local)
        # Interface fields other subgraphs resolve on the interface itself (as an
        # @interfaceObject or an entity interface) need no concrete type either.
        for key, nodes in own.items():
            name = nodes[0].name.value
            if key in local or name == "__typename":
                continue
            if self.rank_targets(at.origin(), type_name, name):
                used |= self.plan_jump(at, type_name, key, nodes)
                local[key] = nodes
        rest: dict[str, dict[str, list[FieldNode]]] = {}
        needs_type = len(local) != len(own)
        for object_type in sorted(self.planner.possible(type_name)):
            fields = self.collect(object_type, selection_sets)
            remaining = {k: v for k, v in fields.items() if k not in local}
            rest[object_type] = remaining
            if any(k not in own for k in fields):
                needs_type = True
        if not needs_type:
            return used
        info = self.types[type_name]
        target = next((g for g in info.keys if g not in info.interface_object_in
                       and g != fetch.graph and any(k.resolvable for k in info.keys[g])), None)
        if target is None:
            raise PlanningError(f"no subgraph can resolve the concrete type of {type_name} "
                                f"returned by subgraph {fetch.graph!r}")
        child_key = _fetch_key(fetch.id, target, at.path, 0)
        child = self.entity_fetches.get(child_key)
        if child is None:
            child = self.new_fetch(target, "entities", child_key[2])
            self.entity_fetches[child_key] = child
        keys = [k for k in info.keys[target] if k.resolvable]
        chosen = next((k for k in keys if self.planner._local(  # noqa: SLF001
            type_name, k.selection, fetch.graph)), keys[0])
        needed = self.plan_fields(at.moved(exclude=at.exclude | {target}, depth=at.depth + 1),
                                  type_name, self.collect(type_name, [chosen.selection]))
        child.depends |= needed - {child.id}
        child.requires[type_name] = (type_name, shape_of(chosen.selection))
        frag = child.selection.fragment(type_name)
        frag.add_typename()
        used |= needed | {child.id}
        for object_type, fields in rest.items():
            fields.pop("__typename", None)
            if fields and self.knows(target, type_name, object_type):
                used |= self.plan_fields(
                    at.moved(fetch=child, out=frag.fragment(object_type),
                             path=(*at.path, "|" + object_type), provided=None,
                             depth=at.depth + 1),
                    object_type, fields)
        return used

    def knows(self, graph: str, abstract: str, object_type: str) -> bool:
        """Whether ``graph`` can return ``object_type`` where ``abstract`` is expected."""
        info = self.types[abstract]
        obj = self.types[object_type]
        if info.kind == "union":
            return graph in info.members.get(object_type, ())
        graphs = obj.implements.get(abstract)
        return graphs is not None and graph in graphs and graph in obj.graphs

    def plan_fields(self, at: Position, type_name: str, fields: Fields) -> set[int]:
        used = {at.fetch.id}
        for key, nodes in fields.items():
            used |= self.plan_field(at, type_name, key, nodes)
        return used

    def plan_field(self, at: Position, type_name: str, key: str, nodes: list[FieldNode], *,
                   split: bool = True, satisfied: bool = False) -> set[int]:
        fetch = at.fetch
        name = nodes[0].name.value
        if name == "__typename":
            at.out.add_typename()
            return {fetch.id}
        info = self.types[type_name]
        if name not in info.returns:
            raise PlanningError(f"{type_name}.{name} is not in the supergraph")
        if not self.planner.resolvable(type_name, name, fetch.graph, at.provided,
                                       local=not satisfied):
            return self.plan_jump(at, type_name, key, nodes)
        return_type, list_depth = info.returns[name]
        composite = self.types.get(return_type) is not None and self.types[
            return_type].kind in {"object", "interface", "union"}
        decl = info.fields.get(name)
        declared = decl.get(fetch.graph) if decl else None
        path = at.path
        if declared is not None and declared.type is not None and path and path[-1][0] == "|" \
                and declared.type != info.type_strings[name]:
            fetch.renames = True
            sub = at.out.add_field(ALIAS_PREFIX + key, nodes[0], composite=composite,
                                   alias=ALIAS_PREFIX + key)
        else:
            sub = at.out.add_field(key, nodes[0], composite=composite)
        if sub is None:
            return {fetch.id}
        if declared is not None and declared.type is not None:
            # The subgraph may declare a narrower type (an object where the supergraph has
            # a union): plan for what it can return, and keep __typename for the shaping.
            narrower = declared.type.strip("[]!")
            if narrower != return_type and narrower in self.types:
                return_type = narrower
                sub.add_typename()
        sub_provided = self.sub_provided(type_name, name, fetch.graph, at.provided)
        sub_path = (*path, key, *("@",) * list_depth)
        selection_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        if split and not self.plannable(fetch.graph, return_type, selection_sets, sub_provided,
                                        at.depth + 1):
            groups = self.split_field(at, type_name, nodes[0], return_type, selection_sets)
            if groups is not None:
                used = {fetch.id}
                for graph, group in groups:
                    if graph == fetch.graph:
                        used |= self.plan_field(at, type_name, key, group, split=False)
                    else:
                        used |= self.plan_jump(at, type_name, key, group, forced=graph)
                return used
        inner = at.moved(out=sub, path=sub_path, provided=sub_provided)
        return self.plan_composite(inner, return_type, selection_sets,
                                   self.shared_types(type_name, name, return_type, path,
                                                     sub_path)) | {fetch.id}

    def split_field(self, at: Position, type_name: str, first: FieldNode, return_type: str,
                    sets: list[SelectionSetNode]) -> list[tuple[str, list[FieldNode]]] | None:
        """Subfields of ``type_name.name`` grouped by the subgraph to fetch the field from.

        A subfield that the subgraph of ``at`` cannot reach under this field is fetched with
        the field itself from another subgraph, through the parent entity.
        """
        graph, provided, exclude = at.fetch.graph, at.provided, at.exclude
        name = first.name.value
        if self.types[return_type].kind != "object" or not self.types[type_name].keys:
            return None
        local_provided = self.sub_provided(type_name, name, graph, provided)
        others = [g for g in self.sg.field_graphs(type_name, name)
                  if g != graph and g not in exclude
                  and self.planner.resolvable(type_name, name, g, None, local=False)
                  and self.planner.distance(type_name, graph, g, exclude) is not None]
        groups: dict[str, list[FieldNode]] = {}
        for sub_nodes in self.collect(return_type, sets).values():
            target = graph
            if not self.field_plannable(graph, return_type, sub_nodes, local_provided, 1):
                target = next((g for g in others if self.field_plannable(
                    g, return_type, sub_nodes, self.sub_provided(type_name, name, g, None), 1)),
                    graph)
            groups.setdefault(target, []).extend(sub_nodes)
        if list(groups) == [graph]:
            return None
        return [(target, [narrowed(first, subs)]) for target, subs in groups.items()]

    def plan_jump(self, at: Position, type_name: str, key: str, nodes: list[FieldNode],
                  forced: str | None = None) -> set[int]:
        fetch, path, depth = at.fetch, at.path, at.depth
        name = nodes[0].name.value
        if depth > MAX_DEPTH:
            raise PlanningError(f"cannot plan {type_name}.{name}: too many entity hops")
        if forced:
            target: tuple[str, str] | None = (forced, type_name)
        else:
            targets = self.rank_targets(at.origin(), type_name, name)
            target = targets[0] if targets else None
            return_type = self.types[type_name].returns[name][0]
            sets = [n.selection_set for n in nodes if n.selection_set is not None]
            if len(targets) > 1 and sets:
                fits = [t for t in targets if self.plannable(
                    t[0], return_type, sets, self.sub_provided(t[1], name, t[0], None),
                    depth + 1)]
                if fits:
                    target = fits[0]
                elif self.types[return_type].kind == "object":
                    return self.plan_split_jump(at, type_name, key, nodes, targets)
        if target is None:
            raise PlanningError(
                f"cannot plan {type_name}.{name}: no subgraph that resolves it can be reached "
                f"from subgraph {fetch.graph!r}")
        graph, entity_type = target
        key_selection, required = self.requirement(at, type_name, entity_type, name, graph)
        at.out.add_typename()
        # Key fields must not come from the target itself (that would loop); required
        # fields may, through an earlier fetch to it.
        deeper = at.moved(depth=depth + 1)
        used = self.plan_fields(deeper.moved(exclude=at.exclude | {graph}), type_name,
                                self.collect(type_name, [key_selection]))
        shape = shape_of(key_selection)
        if required is not None:
            used |= self.plan_fields(deeper, type_name, self.collect(type_name, [required]))
            shape += shape_of(required)
        variant = 0
        while True:
            child_key = _fetch_key(fetch.id, graph, path, variant)
            child = self.entity_fetches.get(child_key)
            if child is None or (child.id not in used and not shapes_conflict(
                    child.requires.get(type_name), shape)):
                break
            variant += 1
        if child is None:
            child = self.new_fetch(graph, "entities", child_key[2])
            self.entity_fetches[child_key] = child
        child.depends |= used - {child.id}
        known = child.requires.get(type_name)
        if known is not None:
            shape = tuple(dict.fromkeys(known[1] + shape))
        child.requires[type_name] = (entity_type, shape)
        frag = child.selection.fragment(entity_type)
        inner = self.plan_field(deeper.moved(fetch=child, out=frag, provided=None), entity_type,
                                key, nodes, satisfied=True)
        return inner | {child.id}

    def plan_split_jump(self, at: Position, type_name: str, key: str, nodes: list[FieldNode],
                        targets: list[tuple[str, str]]) -> set[int]:
        """Fetch a field from several subgraphs, each for the subfields it can plan."""
        sets = [n.selection_set for n in nodes if n.selection_set is not None]
        return_type = self.types[type_name].returns[nodes[0].name.value][0]
        groups: dict[str, list[FieldNode]] = {}
        for sub_nodes in self.collect(return_type, sets).values():
            graph = next((g for g, entity in targets if self.field_plannable(
                g, return_type, sub_nodes,
                self.sub_provided(entity, nodes[0].name.value, g, None), at.depth + 1)),
                targets[0][0])
            groups.setdefault(graph, []).extend(sub_nodes)
        used: set[int] = set()
        for graph, subs in groups.items():
            used |= self.plan_jump(at, type_name, key, [narrowed(nodes[0], subs)], forced=graph)
        return used

    def choose_target(self, origin: Origin, type_name: str, name: str) -> tuple[str, str] | None:
        """The subgraph (and entity type) to fetch ``type_name.name`` from."""
        targets = self.rank_targets(origin, type_name, name)
        return targets[0] if targets else None

    def rank_targets(self, origin: Origin, type_name: str, name: str) -> list[tuple[str, str]]:
        """The subgraphs (and entity types) that can give ``type_name.name``, best first."""
        source, fetch_id, path = origin.graph, origin.fetch_id, origin.path
        exclude, provided = origin.exclude, origin.provided
        declared = self.sg.field_graphs(type_name, name)
        candidates = [
            (graph, type_name) for graph, decl in declared.items()
            if graph not in exclude
            and self.planner.resolvable(type_name, name, graph, None, local=False)
            and (graph != source or decl.requires is not None)]
        if not candidates:
            # A field an @interfaceObject adds to the interface: fetched on the interface.
            for iface in self.types[type_name].implements:
                iinfo = self.types.get(iface)
                if iinfo is None or name not in iinfo.returns:
                    continue
                candidates.extend(
                    (graph, iface) for graph in sorted(iinfo.interface_object_in)
                    if graph != source and graph not in exclude
                    and self.planner.resolvable(iface, name, graph, None, local=False))
        ranked: list[tuple[int, int, str, str]] = []
        for order, (graph, entity_type) in enumerate(candidates):
            hops = self.planner.distance(entity_type, source, graph, exclude, provided) \
                if entity_type == type_name else self.iface_distance(type_name, entity_type,
                                                                     source, graph)
            if hops is None:
                continue
            existing = 0 if _fetch_key(fetch_id, graph, path, 0) in self.entity_fetches else 1
            ranked.append((hops, existing * 100 + order, graph, entity_type))
        return [(graph, entity_type) for _, _, graph, entity_type in sorted(ranked)]

    def iface_distance(self, type_name: str, iface: str, source: str, target: str) -> int | None:
        for key in self.types[iface].keys.get(target, ()):
            if key.resolvable and self.planner._local(type_name, key.selection, source):  # noqa: SLF001
                return 1
        return None

    def requirement(self, at: Position, type_name: str, entity_type: str, name: str,
                    target: str) -> tuple[SelectionSetNode, SelectionSetNode | None]:
        """Key fields (and @requires fields) the target subgraph needs in a representation."""
        source, provided = at.fetch.graph, at.provided
        keys = [k for k in self.types[entity_type].keys.get(target, ()) if k.resolvable]
        if not keys:
            raise PlanningError(f"{entity_type} has no resolvable key in subgraph {target!r}")
        chosen = next((k for k in keys if self.planner._local(  # noqa: SLF001
            type_name, k.selection, source, provided)), None)
        if chosen is None:
            reachable = {g for g in self.types[type_name].graphs
                         if g != target and self.planner.distance(type_name, source, g,
                                                                  frozenset({target})) == 1}
            chosen = next((k for k in keys if self.planner.obtainable(
                type_name, k.selection, source, reachable)), keys[0])
        decl = self.sg.field_graphs(entity_type, name).get(target)
        required = None
        if decl is not None and decl.requires is not None:
            required = self.planner.aliased(decl.requires)
        return chosen.selection, required


def _fetch_key(fetch_id: int, graph: str, path: Path, variant: int) -> tuple[int, str, Path, int]:
    """Entity fetches from one parent to one subgraph at one place are shared.

    Type conditions at the end of the path are dropped: the fetch's representations are
    chosen by each object's type anyway, so the types of an abstract position share a fetch.
    """
    while path and path[-1][0] == "|":
        path = path[:-1]
    return fetch_id, graph, path, variant
