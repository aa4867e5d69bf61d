"""Access rules: what the supergraph's ``@authenticated``, ``@requiresScopes`` and ``@policy``
ask of a caller, by field and by type, and whether a caller's :class:`Grant` meets them.

Read once per supergraph from its SDL (the directives keep their names unless the
``@link`` renames them with ``as:``). As in Apollo Router, a directive on a type applies to
every field returning that type; on an interface's field or type it also covers what its
implementations ask, since the caller may get any of them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_abstract_type,
    value_from_ast_untyped,
)

if TYPE_CHECKING:
    from crossdock.gateway.supergraph import Supergraph

#: The features and the names of their directives when not renamed.
FEATURES = ("authenticated", "requiresScopes", "policy")
#: Alternatives, each a set all of which must be held (OR of ANDs).
Alternatives = tuple[frozenset[str], ...]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    """What a field or type asks: each entry of ``scopes``/``policies`` is one directive."""

    authenticated: bool = False
    scopes: tuple[Alternatives, ...] = ()
    policies: tuple[Alternatives, ...] = ()

    def __bool__(self) -> bool:
        return self.authenticated or bool(self.scopes) or bool(self.policies)

    def __add__(self, other: Requirement) -> Requirement:
        if not other:
            return self
        if not self:
            return other
        return Requirement(authenticated=self.authenticated or other.authenticated,
                           scopes=self.scopes + other.scopes,
                           policies=self.policies + other.policies)

    def met_by(self, grant: Grant) -> bool:
        """Whether ``grant`` meets every directive."""
        if self.authenticated and not grant.authenticated:
            return False
        return all(any(alt <= grant.scopes for alt in d) for d in self.scopes) \
            and all(any(alt <= grant.policies for alt in d) for d in self.policies)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """What a request holds, narrowed to what the operation asks (a plan cache key)."""

    authenticated: bool
    scopes: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()


NOTHING = Requirement()


class AccessRules:
    """The supergraph's access directives, by type and by ``Type.field``."""

    def __init__(self, supergraph: Supergraph, schema: GraphQLSchema) -> None:
        self.schema = schema
        names = _directive_names(supergraph)
        self.types: dict[str, Requirement] = {}
        self.fields: dict[tuple[str, str], Requirement] = {}
        for definition in supergraph.document.definitions:
            name = getattr(getattr(definition, "name", None), "value", None)
            if name is None or not hasattr(definition, "directives"):
                continue
            own = _requirement(definition.directives, names)
            if own:
                self.types[name] = self.types.get(name, NOTHING) + own
            for field in getattr(definition, "fields", None) or ():
                asked = _requirement(field.directives, names)
                if asked:
                    key = (name, field.name.value)
                    self.fields[key] = self.fields.get(key, NOTHING) + asked
        self._memo: dict[tuple[str, str], Requirement] = {}

    def __bool__(self) -> bool:
        return bool(self.types) or bool(self.fields)

    def type_requirement(self, name: str) -> Requirement:
        """What a value of type ``name`` asks (an abstract type: any of its objects too)."""
        found = self.types.get(name, NOTHING)
        named = self.schema.get_type(name)
        if named is not None and is_abstract_type(named):
            for possible in self.schema.get_possible_types(named):  # type: ignore[arg-type]
                found = found + self.types.get(possible.name, NOTHING)
        return found

    def field_requirement(self, parent: GraphQLObjectType | GraphQLInterfaceType,
                          field: str) -> Requirement:
        """What selecting ``parent.field`` asks."""
        key = (parent.name, field)
        found = self._memo.get(key)
        if found is not None:
            return found
        found = self.fields.get(key, NOTHING)
        if isinstance(parent, GraphQLInterfaceType):
            for possible in self.schema.get_possible_types(parent):
                found = found + self.fields.get((possible.name, field), NOTHING)
        definition = parent.fields.get(field)
        if definition is not None:
            found = found + self.type_requirement(get_named_type(definition.type).name)
        if parent.name in {t.name for t in (self.schema.query_type, self.schema.mutation_type)
                           if t is not None}:
            found = found + self.types.get(parent.name, NOTHING)
        self._memo[key] = found
        return found


def _directive_names(supergraph: Supergraph) -> dict[str, str]:
    """Directive name -> feature, after any ``@link(as:)`` renaming."""
    names = {feature: feature for feature in FEATURES}
    for definition in supergraph.document.definitions:
        for directive in getattr(definition, "directives", None) or ():
            if directive.name.value != "link" or type(definition).__name__ not in {
                    "SchemaDefinitionNode", "SchemaExtensionNode"}:
                continue
            args = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments}
            url, alias = str(args.get("url") or ""), args.get("as")
            for feature in FEATURES:
                if f"/{feature}/" in url and isinstance(alias, str):
                    names.pop(feature, None)
                    names[alias] = feature
    return names


def _requirement(directives: Any, names: dict[str, str]) -> Requirement:
    found = NOTHING
    for directive in directives or ():
        feature = names.get(directive.name.value)
        if feature is None:
            continue
        if feature == "authenticated":
            found = found + Requirement(authenticated=True)
            continue
        args = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments}
        raw = args.get("scopes" if feature == "requiresScopes" else "policies") or []
        alternatives = tuple(frozenset(str(v) for v in alt) for alt in raw
                             if isinstance(alt, list))
        if feature == "requiresScopes":
            found = found + Requirement(scopes=(alternatives,))
        else:
            found = found + Requirement(policies=(alternatives,))
    return found
