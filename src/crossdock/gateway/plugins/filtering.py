"""Operation filtering: an operation without the selections a caller may not see.

The walk visits the operation over the API schema. A field whose :class:`Requirement` the
:class:`Grant` does not meet is removed and its path noted (Apollo Router's shape: response
keys, ``"@"`` for the items of a list); so is a fragment on a type the caller may not see
(noted at its parent's path); a field left with no selection goes too. A fragment spread
whose fragment loses something is inlined with what is left; the others stay as they are.
Without a grant the walk only gathers what the operation asks (:class:`Needs`), so a request
knows which scopes and policies matter before any is decided.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from crossdock.gateway.plugins.access import NOTHING, AccessRules, Grant, Requirement

if TYPE_CHECKING:
    from graphql import GraphQLNamedType

Path = tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Needs:
    """What an operation asks of a caller, all directives on its selections together."""

    asked: bool = False
    authenticated: bool = False
    scopes: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Filtered:
    """An operation cut to a grant: ``document`` None when nothing was removed, and
    ``definition`` None when everything was."""

    document: DocumentNode | None
    definition: OperationDefinitionNode | None
    paths: tuple[tuple[str, ...], ...] = ()


class _Walk:
    __slots__ = ("asked", "fragments", "grant", "paths", "rules")

    def __init__(self, rules: AccessRules, document: DocumentNode, grant: Grant | None) -> None:
        self.rules = rules
        self.grant = grant
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.paths: list[Path] = []
        self.asked = NOTHING

    def allows(self, requirement: Requirement, path: Path) -> bool:
        if not requirement:
            return True
        if self.grant is None:
            self.asked = self.asked + requirement
            return True
        if requirement.met_by(self.grant):
            return True
        self.paths.append(path)
        return False

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode,
                   path: Path) -> SelectionSetNode | None:
        """``selection_set`` as the grant leaves it (the same node when nothing went)."""
        kept: list[Any] = []
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                found = self.field(parent, sel, path)
            else:
                found = self.fragment(parent, sel, path)
            if found is not None:
                kept.append(found)
        if not kept:
            return None
        if len(kept) == len(selection_set.selections) and all(
                a is b for a, b in zip(kept, selection_set.selections, strict=True)):
            return selection_set
        return SelectionSetNode(selections=tuple(kept))

    def field(self, parent: GraphQLNamedType, node: FieldNode, path: Path) -> FieldNode | None:
        name = node.name.value
        if name.startswith("__") or not isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType):
            return node
        here = (*path, node.alias.value if node.alias else name)
        if not self.allows(self.rules.field_requirement(parent, name), here):
            return None
        if node.selection_set is None:
            return node
        definition = parent.fields[name]
        if is_list_type(get_nullable_type(definition.type)):
            here = (*here, "@")
        inner = self.selections(get_named_type(definition.type), node.selection_set, here)
        if inner is None or inner is node.selection_set:
            return None if inner is None else node
        return FieldNode(alias=node.alias, name=node.name, arguments=node.arguments,
                         directives=node.directives, selection_set=inner)

    def fragment(self, parent: GraphQLNamedType, node: Any, path: Path) -> Any:
        if isinstance(node, FragmentSpreadNode):
            definition = self.fragments[node.name.value]
            condition, body = definition.type_condition, definition.selection_set
        else:
            assert isinstance(node, InlineFragmentNode)
            condition, body = node.type_condition, node.selection_set
        target = parent
        if condition is not None:
            found = self.rules.schema.get_type(condition.name.value)
            assert found is not None
            target = found
            if not self.allows(self.rules.type_requirement(target.name), path):
                return None
        inner = self.selections(target, body, path)
        if inner is None or inner is body:
            return None if inner is None else node
        return InlineFragmentNode(type_condition=condition, directives=node.directives,
                                  selection_set=inner)


def needs(rules: AccessRules, document: DocumentNode,
          operation: OperationDefinitionNode) -> Needs:
    """What ``operation`` asks of a caller."""
    walk = _Walk(rules, document, None)
    root = rules.schema.get_root_type(operation.operation)
    assert root is not None
    walk.selections(root, operation.selection_set, ())
    asked = walk.asked
    if not asked:
        return Needs()
    return Needs(asked=True, authenticated=asked.authenticated,
                 scopes=frozenset().union(*(alt for d in asked.scopes for alt in d)),
                 policies=frozenset().union(*(alt for d in asked.policies for alt in d)))


def filtered(rules: AccessRules, document: DocumentNode, operation: OperationDefinitionNode,
             grant: Grant) -> Filtered:
    """``operation`` without what ``grant`` may not see."""
    walk = _Walk(rules, document, grant)
    root = rules.schema.get_root_type(operation.operation)
    assert root is not None
    inner = walk.selections(root, operation.selection_set, ())
    if inner is operation.selection_set:
        return Filtered(document=None, definition=operation)
    paths = tuple(walk.paths)
    if inner is None:
        return Filtered(document=None, definition=None, paths=paths)
    definition = OperationDefinitionNode(
        operation=operation.operation, name=operation.name,
        variable_definitions=operation.variable_definitions, directives=operation.directives,
        selection_set=inner)
    fragments = tuple(walk.fragments.values())
    return Filtered(document=DocumentNode(definitions=(definition, *fragments)),
                    definition=definition, paths=paths)
