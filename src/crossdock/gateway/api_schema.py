"""The API schema: what clients see of a supergraph.

Join and link machinery is removed, and so is everything marked ``@inaccessible``: such a type,
field, argument or enum value is neither visible in introspection nor accepted in operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import (
    DirectiveDefinitionNode,
    DocumentNode,
    GraphQLSchema,
    NamedTypeNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeNode,
    build_ast_schema,
)
from graphql.language import ListTypeNode, NonNullTypeNode

from crossdock.gateway.errors import SupergraphError

if TYPE_CHECKING:
    from crossdock.gateway.supergraph import Supergraph

#: Directives that survive into the API schema.
_KEPT = {"deprecated", "specifiedBy", "oneOf"}


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, ListTypeNode | NonNullTypeNode):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def _inaccessible_name(supergraph: Supergraph) -> str:
    for definition in supergraph.document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            for directive in definition.directives:
                for arg in directive.arguments:
                    value = getattr(arg.value, "value", "")
                    if arg.name.value in {"url", "feature"} and "/inaccessible/" in str(value):
                        alias = next((a.value for a in directive.arguments
                                      if a.name.value == "as"), None)
                        return getattr(alias, "value", None) or "inaccessible"
    return "inaccessible"


def build_api_schema(supergraph: Supergraph) -> GraphQLSchema:  # noqa: C901, PLR0912
    """The client-facing schema of ``supergraph``."""
    hidden_name = _inaccessible_name(supergraph)

    def hidden(node: Any) -> bool:
        return any(d.name.value == hidden_name for d in node.directives or ())

    def clean(node: Any) -> Any:
        return tuple(d for d in node.directives or () if d.name.value in _KEPT)

    removed = {name for name in _all_type_names(supergraph) if supergraph._is_internal(name)}  # noqa: SLF001
    for definition in supergraph.document.definitions:
        name = getattr(getattr(definition, "name", None), "value", None)
        if name and hidden(definition):
            removed.add(name)
    definitions = []
    for definition in supergraph.document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            definitions.append(_replace(definition, directives=()))
            continue
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in _KEPT:
                definitions.append(definition)
            continue
        name = definition.name.value  # type: ignore[attr-defined]
        if name in removed:
            continue
        changes: dict[str, Any] = {"directives": clean(definition)}
        fields = getattr(definition, "fields", None)
        if fields is not None:
            kept = []
            for field in fields:
                if hidden(field) or _named(field.type) in removed:
                    continue
                field_changes: dict[str, Any] = {"directives": clean(field)}
                if getattr(field, "arguments", None) is not None:
                    field_changes["arguments"] = tuple(
                        _replace(a, directives=clean(a)) for a in field.arguments
                        if not hidden(a) and _named(a.type) not in removed)
                kept.append(_replace(field, **field_changes))
            changes["fields"] = tuple(kept)
        values = getattr(definition, "values", None)
        if values is not None:
            changes["values"] = tuple(_replace(v, directives=clean(v))
                                      for v in values if not hidden(v))
        if getattr(definition, "interfaces", None) is not None:
            changes["interfaces"] = tuple(i for i in definition.interfaces  # type: ignore[attr-defined]
                                          if i.name.value not in removed)
        if getattr(definition, "types", None) is not None:
            changes["types"] = tuple(t for t in definition.types  # type: ignore[attr-defined]
                                     if t.name.value not in removed)
        definitions.append(_replace(definition, **changes))
    try:
        return build_ast_schema(DocumentNode(definitions=tuple(definitions)),
                                assume_valid_sdl=True)
    except Exception as exc:
        raise SupergraphError(f"{supergraph.source}: cannot build the API schema: {exc}") from exc


def _all_type_names(supergraph: Supergraph) -> set[str]:
    return {d.name.value for d in supergraph.document.definitions  # type: ignore[attr-defined]
            if getattr(d, "name", None) is not None}


def _replace(node: Any, **changes: Any) -> Any:
    """A copy of an AST node with some attributes changed (AST nodes are no dataclasses)."""
    values = {key: getattr(node, key) for key in node.keys}
    values.update(changes)
    return type(node)(**values)
