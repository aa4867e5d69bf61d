"""How big an operation is, measured as Apollo Router's ``limits`` measure it.

Two measures, both pure:

- :func:`measure_text`: the document's tokens and how deeply its brackets nest, read before
  the document is parsed (the parser's own work grows with both);
- :func:`measure_operation`: the operation's depth, height, aliases and root fields, read from
  the parsed operation with its fragments spread.

The operation measures follow the router's: a field's depth is one more than its deepest
child (a leaf counts 1); height counts each response key once per selection set, plus its
children's height; aliases count every aliased field; root fields count the response keys of
the root selection set, fragments on it included. A fragment is measured once and its
measure reused at every spread of it.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

if TYPE_CHECKING:
    from graphql import DocumentNode, OperationDefinitionNode, SelectionSetNode

#: One lexical token of a GraphQL document, or a run of what the lexer ignores (unnamed).
#: Strings are one token each, so brackets inside them do not count; a character that is no
#: token (an unterminated string's quote) counts as one, as a parser would stop at it anyway.
_LEXEME = re.compile(r"""
    [\s,\ufeff]+ | \#[^\n\r]*
  | (?P<open>[{(\[]) | (?P<close>[})\]])
  | (?P<token>\"\"\"(?:\\\"\"\"|[^"\\]|\\.|"(?!""))*+\"\"\"
      | "(?:[^"\\\n\r]|\\.)*+"
      | \.\.\. | -?\d+(?:\.\d+)?(?:[eE][+-]?\d+)? | [_A-Za-z][_0-9A-Za-z]* | .)
""", re.VERBOSE | re.DOTALL)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TextSize:
    """A document's token count and bracket nesting, each counted up to its limit + 1."""

    tokens: int
    nesting: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class OperationSize:
    """An operation's measures (see the module's docstring)."""

    depth: int = 0
    height: int = 0
    aliases: int = 0
    root_fields: int = 0


def measure_text(text: str, *, max_tokens: int, max_nesting: int) -> TextSize:
    """The tokens and nesting of ``text``; the count stops past either limit, so a huge
    document costs no more than a document just over the limits."""
    tokens = depth = deepest = 0
    for match in _LEXEME.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        tokens += 1
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "close":
            depth -= 1
        if tokens > max_tokens or deepest > max_nesting:
            break
    return TextSize(tokens=tokens, nesting=deepest)


def measure_operation(document: DocumentNode,
                      operation: OperationDefinitionNode) -> OperationSize:
    """The measures of ``operation`` in ``document``, fragments spread."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    return _Measure(fragments).selections(operation.selection_set)


class _Measure:
    """Measures selection sets, each fragment once."""

    __slots__ = ("done", "fragments")

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        #: A fragment's measure, or None while it is being measured (a cycle, which
        #: validation refuses before this runs, then counts nothing).
        self.done: dict[str, OperationSize | None] = {}

    def selections(self, selection_set: SelectionSetNode | None) -> OperationSize:
        if selection_set is None:
            return OperationSize()
        depth = height = aliases = keys = 0
        seen: set[str] = set()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                height += inner.height
                aliases += inner.aliases
                key = selection.name.value
                if selection.alias is not None:
                    aliases += 1
                    key = selection.alias.value
                if key not in seen:
                    seen.add(key)
                    height += 1
                    keys += 1
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selections(selection.selection_set)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                found = self.spread(selection.name.value)
                if found is None:
                    continue
                inner = found
            depth = max(depth, inner.depth)
            height += inner.height
            aliases += inner.aliases
            keys += inner.root_fields
        return OperationSize(depth=depth, height=height, aliases=aliases, root_fields=keys)

    def spread(self, name: str) -> OperationSize | None:
        if name in self.done:
            return self.done[name]
        definition = self.fragments.get(name)
        if definition is None:
            return None
        self.done[name] = None
        measured = self.selections(definition.selection_set)
        self.done[name] = measured
        return measured
