"""Query plans: fetches to subgraphs, what they select, and what they wait for.

A plan is a sequence of stages (one for a query, one per group of root fields for a mutation,
so mutations run in order); a stage is a graph of fetches, each waiting for the fetches whose
data it needs. ``render`` prints a plan as Sequence/Parallel/Flatten/Fetch nodes, the way
Apollo's plans read; ``plan_json`` gives the same nodes in the shape of Apollo's plans in JSON.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from graphql import ArgumentNode, FieldNode, VariableNode, print_ast
from graphql.language import Visitor, visit

#: A path segment: a response key, "@" for every item of a list, or "|Type,Type" to keep
#: only objects of those types.
Path = tuple[str, ...]
#: How to read a representation from response data: (data key, representation key, nested).
#: Aliases the planner gives fields whose type differs between sibling fragments of a
#: subgraph selection (invalid GraphQL otherwise); the executor strips it from the response.
ALIAS_PREFIX = "_cdalias_"
Shape = tuple[tuple[str, str, "Shape | None"], ...]


class Selection:
    """A subgraph selection set under construction: fields by response key, then fragments."""

    __slots__ = ("fields", "fragments")

    def __init__(self) -> None:
        self.fields: dict[str, SelectedField] = {}
        self.fragments: dict[str, Selection] = {}

    def add_typename(self) -> None:
        if "__typename" not in self.fields:
            self.fields["__typename"] = SelectedField(name="__typename", alias=None, arguments=())

    def add_field(self, key: str, node: FieldNode, *, composite: bool,
                  alias: str | None = None) -> Selection | None:
        selected = self.fields.get(key)
        if selected is None:
            selected = SelectedField(name=node.name.value,
                                     alias=alias or (node.alias.value if node.alias else None),
                                     arguments=tuple(node.arguments or ()),
                                     sub=Selection() if composite else None)
            self.fields[key] = selected
        return selected.sub

    def fragment(self, type_name: str) -> Selection:
        found = self.fragments.get(type_name)
        if found is None:
            found = self.fragments[type_name] = Selection()
        return found

    def is_empty(self) -> bool:
        return not self.fields and all(f.is_empty() for f in self.fragments.values())

    def print(self) -> str:
        parts = [f.print() for f in self.fields.values()]
        parts.extend(f"... on {name} {sel.print()}" for name, sel in self.fragments.items()
                     if not sel.is_empty())
        return "{" + " ".join(parts) + "}"


@dataclasses.dataclass(slots=True)
class SelectedField:
    """One field of a subgraph selection."""

    name: str
    alias: str | None
    arguments: tuple[ArgumentNode, ...]
    sub: Selection | None = None

    def print(self) -> str:
        text = f"{self.alias}: {self.name}" if self.alias else self.name
        if self.arguments:
            text += "(" + ", ".join(print_ast(a) for a in self.arguments) + ")"
        if self.sub is not None:
            body = self.sub.print()
            text += " " + (body if body != "{}" else "{__typename}")
        return text


@dataclasses.dataclass(slots=True, kw_only=True)
class Fetch:
    """One request to one subgraph."""

    id: int
    graph: str
    #: "query" or "mutation" for root fetches; "entities" for ``_entities`` fetches.
    kind: str
    path: Path = ()
    selection: Selection = dataclasses.field(default_factory=Selection)
    #: Runtime type in the data -> (type named in the representation, what to read).
    requires: dict[str, tuple[str, Shape]] = dataclasses.field(default_factory=dict)
    depends: set[int] = dataclasses.field(default_factory=set)
    #: Whether some fields are aliased (``ALIAS_PREFIX``) and must be renamed back.
    renames: bool = False
    # Filled in by ``finish``:
    query: str = ""
    variables: tuple[str, ...] = ()
    # Filled in by ``Plan`` from ``depends``, for the executor:
    #: How many fetches of the same stage this one waits for.
    waits: int = 0
    #: The fetches of the same stage that wait for this one.
    dependents: list[Fetch] = dataclasses.field(default_factory=list, compare=False,
                                                repr=False)
    #: A fetch this one waits for, at the same path and waiting for all else this one waits
    #: for: the objects it found at the path are the ones this fetch would find.
    same_objects_as: int | None = None

    def finish(self, variable_types: dict[str, str]) -> None:
        """Print the subgraph operation, declaring the client variables it uses."""
        body = self.selection.print()
        used = _variables_in(self.selection)
        self.variables = tuple(v for v in variable_types if v in used)
        decls = [f"${v}: {variable_types[v]}" for v in self.variables]
        if self.kind == "entities":
            decls.insert(0, "$representations: [_Any!]!")
            body = "{_entities(representations: $representations) " + body + "}"
            op = "query"
        else:
            op = self.kind
        self.query = f"{op}({', '.join(decls)}) {body}" if decls else f"{op} {body}"


def _variables_in(selection: Selection) -> set[str]:
    found: set[str] = set()

    class _Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            found.add(node.name.value)

    stack = [selection]
    while stack:
        current = stack.pop()
        for selected in current.fields.values():
            for arg in selected.arguments:
                visit(arg, _Collect())
            if selected.sub is not None:
                stack.append(selected.sub)
        stack.extend(current.fragments.values())
    return found


@dataclasses.dataclass(slots=True, kw_only=True)
class Plan:
    """Stages run one after another; the fetches of one stage run as soon as they can."""

    operation: str  # query, mutation or subscription
    stages: list[list[Fetch]]
    #: The root fields answered by the gateway from its API schema.
    introspection: bool = False

    def __post_init__(self) -> None:
        for stage in self.stages:
            _link(stage)

    @property
    def fetches(self) -> list[Fetch]:
        return [fetch for stage in self.stages for fetch in stage]


def _link(stage: list[Fetch]) -> None:
    """Points each fetch of a stage at the fetches of the stage that wait for it."""
    by_id = {fetch.id: fetch for fetch in stage}
    for fetch in stage:
        waits_for = [by_id[d] for d in sorted(fetch.depends) if d in by_id]
        fetch.waits = len(waits_for)
        for dep in waits_for:
            dep.dependents.append(fetch)
        # Entity fetches merge into the objects at their path, never replace them.
        fetch.same_objects_as = next(
            (dep.id for dep in waits_for if fetch.kind == dep.kind == "entities"
             and dep.path == fetch.path and fetch.depends - {dep.id} <= dep.depends), None)


def render(plan: Plan) -> str:
    """The plan as indented text, for ``crossdock gateway plan``."""
    lines: list[str] = ["QueryPlan {"]
    stages = [s for s in plan.stages if s]
    indent = "  "
    if len(stages) > 1:
        lines.append(indent + "Sequence {")
        indent += "  "
    for stage in stages:
        _render_stage(stage, lines, indent)
    if len(stages) > 1:
        lines.append("  }")
    if plan.introspection:
        lines.append("  Introspection {answered by the gateway}")
    lines.append("}")
    return "\n".join(lines)


def _levels(stage: list[Fetch]) -> list[list[Fetch]]:
    level: dict[int, int] = {}
    by_id = {f.id: f for f in stage}

    def depth(fetch: Fetch) -> int:
        if fetch.id not in level:
            level[fetch.id] = 0
            level[fetch.id] = 1 + max((depth(by_id[d]) for d in fetch.depends if d in by_id),
                                      default=-1)
        return level[fetch.id]

    result: dict[int, list[Fetch]] = {}
    for fetch in stage:
        result.setdefault(depth(fetch), []).append(fetch)
    return [result[k] for k in sorted(result)]


def _render_stage(stage: list[Fetch], lines: list[str], indent: str) -> None:
    levels = _levels(stage)
    if len(levels) > 1:
        lines.append(indent + "Sequence {")
        indent += "  "
    for level in levels:
        inner = indent
        if len(level) > 1:
            lines.append(indent + "Parallel {")
            inner += "  "
        for fetch in level:
            _render_fetch(fetch, lines, inner)
        if len(level) > 1:
            lines.append(indent + "},")
    if len(levels) > 1:
        lines.append(indent[:-2] + "},")


def _render_fetch(fetch: Fetch, lines: list[str], indent: str) -> None:
    if fetch.kind == "entities":
        lines.append(f"{indent}Flatten(path: \"{'.'.join(fetch.path)}\") {{")
        lines.append(f'{indent}  Fetch(service: "{fetch.graph}") {{')
        for runtime, (typename, shape) in fetch.requires.items():
            lines.append(f"{indent}    ... on {runtime} => {typename} {_print_shape(shape)}")
        lines.append(f"{indent}  }} =>")
        lines.append(f"{indent}  {fetch.query}")
        lines.append(f"{indent}}},")
    else:
        lines.append(f'{indent}Fetch(service: "{fetch.graph}") {{')
        lines.append(f"{indent}  {fetch.query}")
        lines.append(f"{indent}}},")


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as Apollo's query plans are written in JSON: ``{"kind": "QueryPlan", "node"}``
    with Sequence and Parallel (``nodes``), Flatten (``path``, ``node``) and Fetch
    (``serviceName``, ``operationKind``, ``operation``, ``variableUsages``, and ``requires``
    as the representations' shapes in text); ``introspection`` when the gateway answers
    some root fields itself."""
    nodes = [_stage_json(stage) for stage in plan.stages if stage]
    found: dict[str, Any] = {"kind": "QueryPlan"}
    if nodes:
        found["node"] = nodes[0] if len(nodes) == 1 else {"kind": "Sequence", "nodes": nodes}
    if plan.introspection:
        found["introspection"] = True
    return found


def _stage_json(stage: list[Fetch]) -> dict[str, Any]:
    levels = [[_fetch_json(fetch) for fetch in level] for level in _levels(stage)]
    nodes = [level[0] if len(level) == 1 else {"kind": "Parallel", "nodes": level}
             for level in levels]
    return nodes[0] if len(nodes) == 1 else {"kind": "Sequence", "nodes": nodes}


def _fetch_json(fetch: Fetch) -> dict[str, Any]:
    found: dict[str, Any] = {
        "kind": "Fetch", "serviceName": fetch.graph,
        "operationKind": "query" if fetch.kind == "entities" else fetch.kind,
        "operation": fetch.query, "variableUsages": list(fetch.variables)}
    if fetch.kind != "entities":
        return found
    found["requires"] = [f"... on {runtime} => {typename} {_print_shape(shape)}"
                         for runtime, (typename, shape) in fetch.requires.items()]
    return {"kind": "Flatten", "path": list(fetch.path), "node": found}


def _print_shape(shape: Shape) -> str:
    parts = [key if sub is None else f"{key} {_print_shape(sub)}" for key, _, sub in shape]
    return "{" + " ".join(["__typename", *parts]) + "}"
