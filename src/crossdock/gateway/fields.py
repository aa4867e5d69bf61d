"""Field collection: which fields an operation selects on an object of a given type.

The GraphQL spec's CollectFields, over a validated document: fragments spread and inlined
when their type condition applies, ``@skip``/``@include`` decided with the request's
variables. The planner walks these fields; the response shaping cuts the merged data to
them. Neither imports the other: both take a :class:`FieldCollector`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    print_ast,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Iterable, Mapping

#: Fields by response key, each key with every node that selects it.
Fields = dict[str, list[FieldNode]]


def operation_of(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    """The operation to run (validated documents only)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0]
    return next(op for op in operations if op.name and op.name.value == name)


def condition_variables(document: DocumentNode) -> tuple[str, ...]:
    """Variables that @skip/@include depend on (the plan is specialised on their values)."""
    text = print_ast(document)
    if "@skip" not in text and "@include" not in text:
        return ()
    names: list[str] = []

    def walk(node: Any) -> None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in {"skip", "include"}:
                for arg in directive.arguments:
                    var = getattr(arg.value, "name", None)
                    if var is not None and var.value not in names:
                        names.append(var.value)
        sel = getattr(node, "selection_set", None)
        for child in (sel.selections if sel else ()):
            walk(child)

    for definition in document.definitions:
        walk(definition)
    return tuple(names)


class FieldCollector:
    """Collects the fields of one document's selections, for one set of variables."""

    __slots__ = ("fragments", "possible", "types", "variables")

    def __init__(self, document: DocumentNode, variables: Mapping[str, Any], *,
                 types: Container[str], possible: Callable[[str], frozenset[str]]) -> None:
        self.variables = variables
        #: The composite types a type condition may name; ``possible`` gives their objects.
        self.types = types
        self.possible = possible
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}

    def collect(self, type_name: str, selection_sets: Iterable[SelectionSetNode],
                into: Fields | None = None) -> Fields:
        """Fields selected on objects of ``type_name``, by response key."""
        fields: Fields = {} if into is None else into
        for selection_set in selection_sets:
            for sel in selection_set.selections:
                if self.skipped(sel):
                    continue
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    fields.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    if sel.type_condition is None or self.applies(
                            sel.type_condition.name.value, type_name):
                        self.collect(type_name, [sel.selection_set], fields)
                elif isinstance(sel, FragmentSpreadNode):
                    fragment = self.fragments[sel.name.value]
                    if self.applies(fragment.type_condition.name.value, type_name):
                        self.collect(type_name, [fragment.selection_set], fields)
        return fields

    def skipped(self, node: Any) -> bool:
        """Whether ``@skip``/``@include`` on ``node`` leave it out for these variables."""
        for directive in node.directives or ():
            name = directive.name.value
            if name not in {"skip", "include"}:
                continue
            arg = next((a for a in directive.arguments if a.name.value == "if"), None)
            if arg is None:
                continue
            value = arg.value
            if hasattr(value, "name") and not hasattr(value, "value"):
                flag = bool(self.variables.get(value.name.value))
            else:
                flag = bool(getattr(value, "value", False))
            if (name == "skip" and flag) or (name == "include" and not flag):
                return True
        return False

    def applies(self, condition: str, type_name: str) -> bool:
        """Whether a type condition on ``condition`` selects objects of ``type_name``."""
        if condition == type_name:
            return True
        if condition not in self.types:
            return False
        return type_name in self.possible(condition)
