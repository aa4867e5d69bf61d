"""How operations and documents are measured for ``limits`` (Apollo Router's counting)."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse

from crossdock.gateway.plugins.measure import OperationSize, measure_operation, measure_text


def measured(text: str) -> OperationSize:
    document = parse(text)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return measure_operation(document, operation)


def test_a_leaf_counts_one_level_of_depth_and_each_field_one_of_height() -> None:
    assert measured("{ me { id } topProducts { name } }") == OperationSize(
        depth=2, height=4, aliases=0, root_fields=2)


def test_the_routers_example_of_three_limits_exceeded() -> None:
    size = measured("""{ topProducts { productName: name
        productReviews: reviews { reviewAuthor: author { name } } } }""")
    assert size == OperationSize(depth=4, height=5, aliases=3, root_fields=1)


def test_a_response_key_repeated_in_one_selection_set_counts_once_in_height() -> None:
    assert measured("{ name { first } name { last } }") == OperationSize(
        depth=2, height=3, aliases=0, root_fields=1)


def test_fragments_count_where_they_are_spread_and_each_spread_counts_again() -> None:
    size = measured("""query { book { ...Details } other: book { ...Details } }
        fragment Details on Book { details { ... on Paper { country } } }""")
    # book(1) + details(1) + country(1), twice; the alias once.
    assert size == OperationSize(depth=3, height=6, aliases=1, root_fields=2)


def test_root_fields_in_fragments_on_the_root_count_as_root_fields() -> None:
    size = measured("query { a ...Rest ... on Query { d } } fragment Rest on Query { b c }")
    assert size.root_fields == 4


@pytest.mark.parametrize(("text", "tokens", "nesting"), [
    ("{ a }", 3, 1),
    ("query Q($x: [Int!] = [1, 2]) { a(x: $x) @skip(if: false) { b } }", 35, 2),
    ('{ a(s: "}}} {{{ [[[") }', 8, 2),
    ('{ a(s: """ " "" \\""" }}}""") # {{{{ a comment\n }', 8, 2),
    ("{ a ... on B { c } }", 9, 2),
])
def test_tokens_and_nesting_skip_strings_comments_and_commas(text: str, tokens: int,
                                                              nesting: int) -> None:
    size = measure_text(text, max_tokens=1000, max_nesting=1000)
    assert (size.tokens, size.nesting) == (tokens, nesting)


def test_counting_stops_just_past_a_limit_however_long_the_document() -> None:
    deep = "{ a " * 200_000 + "}" * 200_000
    assert measure_text(deep, max_tokens=15000, max_nesting=500).nesting == 501
    wide = "{ " + "a " * 1_000_000 + "}"
    assert measure_text(wide, max_tokens=15000, max_nesting=500).tokens == 15001
