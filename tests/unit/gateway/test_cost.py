"""Operation costs: worked examples of the IBM cost spec as Apollo Router counts them.

The catalog supergraph is composed from tests/integration/gateway/sdl/catalog: Address
@cost(5), Money @cost(2), Genre @cost(3), Review.stars @cost(2), Book.summary @cost(4)
@requires(title), rating(stars: @cost(7)), BookInput.isbn @cost(3), SearchFilter.text
@cost(2); bestsellers @listSize(assumedSize: 5), newestAdditions by its limit, search by
first/last sizing items, shelf by first (4 by default) sizing books, Book.reviews by first
(3 by default).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.errors import OperationCostError, SupergraphError
from crossdock.gateway.plugins.cost import CostCalculator
from crossdock.gateway.plugins.cost_directives import read_cost_directives
from crossdock.gateway.supergraph import Supergraph

CATALOG = (Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs"
           / "catalog.graphql").read_text(encoding="utf-8")
#: Forms of @listSize a supergraph may carry that composition does not write yet: a list
#: argument's length, a path into an input object, a sized field below a child.
EXTENDED = CATALOG.replace("type Query\n", """input PageInput @join__type(graph: BOOKS) {
  first: Int
}

type Rack @join__type(graph: BOOKS) {
  shelf: Shelf
}

type Query
""").replace("  genres: [Genre]", """\
  byIds(ids: [ID!]!): [Book] @listSize(slicingArguments: ["ids"])
  byPage(page: PageInput!): [Book] @listSize(slicingArguments: ["page.first"])
  rack(first: Int = 2): Rack
    @listSize(slicingArguments: ["first"], sizedFields: ["shelf { books }"])
  strict(first: Int, last: Int): [Book] @listSize(slicingArguments: ["first", "last"])
  genres: [Genre]""")
BOOK = "title author { name } publisher { name address { zipCode } }"


@functools.cache
def _calculator(sdl: str = CATALOG, list_size: int = 10) -> CostCalculator:
    supergraph = Supergraph(sdl)
    return CostCalculator(build_api_schema(supergraph), read_cost_directives(supergraph),
                          list_size=list_size)


def estimate(query: str, variables: dict[str, Any] | None = None, *,
             sdl: str = CATALOG, list_size: int = 10) -> float:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return _calculator(sdl, list_size).estimated(document, operation, variables or {})


def actual(query: str, data: Any, variables: dict[str, Any] | None = None) -> float:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return _calculator().actual(document, operation, variables or {}, data)


def test_router_docs_examples_objects_with_a_weighted_type() -> None:
    # book (1) + author (1) + publisher (1) + address @cost(5) = 8
    assert estimate(f'{{ book(id: "1") {{ {BOOK} }} }}') == 8


def test_router_docs_examples_assumed_size_and_slicing_argument() -> None:
    assert estimate(f"{{ bestsellers {{ {BOOK} }} }}") == 5 * 8
    assert estimate(f"{{ newestAdditions(limit: 3) {{ {BOOK} }} }}") == 3 * 8
    query = f"query($n: Int!) {{ newestAdditions(limit: $n) {{ {BOOK} }} }}"
    assert estimate(query, {"n": 7}) == 7 * 8


def test_a_list_without_list_size_takes_the_configured_size() -> None:
    assert estimate("{ genres }") == 10 * 3
    assert estimate("{ genres }", list_size=2) == 2 * 3


def test_nested_lists_multiply() -> None:
    # 5 books * (1 + 3 reviews by default * (1 + stars 2))
    assert estimate("{ bestsellers { reviews { body stars } } }") == 5 * (1 + 3 * 3)
    assert estimate("{ bestsellers { reviews(first: 10) { body } } }") == 5 * (1 + 10)


def test_sized_fields_take_the_parents_slicing_argument() -> None:
    assert estimate("{ search(first: 4) { items { title } total } }") == 1 + 4
    assert estimate("{ search(first: 2, last: 6) { items { title } } }") == 1 + 6
    # Neither given, and not required: the configured size.
    assert estimate("{ search { items { title } } }") == 1 + 10
    # The slicing argument's default sizes the list.
    assert estimate("{ shelf { books { title } } }") == 1 + 4


def test_fragments_count_where_they_are_spread() -> None:
    named = ("{ bestsellers { ...B } } "
             "fragment B on Book { author { name } publisher { address { zipCode } } }")
    inline = "{ bestsellers { ... on Book { author { name } publisher { address { zipCode } } } } }"
    assert estimate(named) == estimate(inline) == 5 * (1 + 1 + 1 + 5)
    sized = "{ search(first: 3) { ...Items } } fragment Items on BookPage { items { id } }"
    assert estimate(sized) == 1 + 3


def test_weighted_scalars_enums_and_fields() -> None:
    assert estimate('{ book(id: "1") { price genre summary } }') == 1 + 2 + 3 + 4


def test_argument_costs_are_added_once_not_per_list_item() -> None:
    assert estimate("{ rating(stars: 3) }") == 7
    assert estimate("{ rating }") == 0
    assert estimate("{ rating(stars: null) }") == 0


def test_input_objects_count_one_plus_their_fields_and_mutations_ten() -> None:
    mutation = ('mutation { addBook(input: {title: "T", isbn: "I", '
                'tags: [{name: "a"}, {name: "b"}]}) { title } }')
    # 10 + Book 1 + input (1 + isbn 3 + tags [1, 1])
    assert estimate(mutation) == 10 + 1 + (1 + 3 + 2)
    by_variable = "mutation($in: BookInput!) { addBook(input: $in) { title } }"
    assert estimate(by_variable, {"in": {"title": "T", "isbn": "I",
                                         "tags": [{"name": "a"}, {"name": "b"}]}}) == 17
    assert estimate('{ search(filter: {text: "x"}, first: 1) { total } }') == 1 + (1 + 2)


def test_skip_and_include_leave_fields_out() -> None:
    query = ('query($skip: Boolean!) { book(id: "1") { '
             "publisher @skip(if: $skip) { address { zipCode } } "
             "author @include(if: false) { name } } }")
    assert estimate(query, {"skip": True}) == 1
    assert estimate(query, {"skip": False}) == 1 + 1 + 5


def test_extended_list_sizes_list_arguments_paths_and_nested_sized_fields() -> None:
    assert estimate('{ byIds(ids: ["1", "2", "3"]) { title } }', sdl=EXTENDED) == 3
    assert estimate("{ byPage(page: {first: 6}) { title } }", sdl=EXTENDED) == 6 + 1
    # rack (1) + shelf (1) + 2 books sized by rack's first
    assert estimate("{ rack { shelf { books { id } } } }", sdl=EXTENDED) == 1 + 1 + 2


def test_a_list_size_requiring_one_slicing_argument_refuses_none_or_two() -> None:
    assert estimate("{ strict(first: 2) { id } }", sdl=EXTENDED) == 2
    with pytest.raises(OperationCostError, match="found 2"):
        estimate("{ strict(first: 2, last: 3) { id } }", sdl=EXTENDED)
    with pytest.raises(OperationCostError, match="found 0"):
        estimate("{ strict { id } }", sdl=EXTENDED)


def test_directives_renamed_on_import_are_read() -> None:
    renamed = CATALOG.replace('import: ["@listSize"]',
                              'import: [{name: "@cost", as: "@weight"}, "@listSize"]'
                              ).replace("@cost(", "@weight(")
    assert estimate('{ book(id: "1") { price } }', sdl=renamed) == 1 + 2


def test_a_weight_that_is_not_a_number_is_a_supergraph_error() -> None:
    broken = CATALOG.replace("@cost(weight: 5)", '@cost(weight: "lots")')
    with pytest.raises(SupergraphError, match="Address: weight 'lots' is not a number"):
        read_cost_directives(Supergraph(broken))


def test_actual_cost_counts_the_lists_as_returned() -> None:
    query = "{ bestsellers { title reviews { body stars } } }"
    data = {"bestsellers": [
        {"title": "A", "reviews": [{"body": "x", "stars": 5}, {"body": "y", "stars": 1}]},
        {"title": "B", "reviews": []}]}
    assert estimate(query) == 5 * (1 + 3 * 3)
    assert actual(query, data) == 2 + 2 * (1 + 2)


def test_actual_cost_of_nulls_fragments_and_arguments() -> None:
    query = ('{ book(id: "1") { ...P } rating(stars: 1) } '
             "fragment P on Book { publisher { address { zipCode } } }")
    assert actual(query, {"book": {"publisher": {"address": {"zipCode": 1}}},
                          "rating": 1}) == 1 + 1 + 5 + 7
    assert actual(query, {"book": {"publisher": None}, "rating": None}) == 1 + 7
    assert actual(query, None) == 0


def test_actual_cost_of_a_mutation_counts_its_input_once() -> None:
    mutation = 'mutation { addBook(input: {title: "T", isbn: "I"}) { title } }'
    assert actual(mutation, {"addBook": {"title": "T"}}) == 1 + (1 + 3)


#: The media supergraph (an interface, a union; no cost spec linked) with a @cost defined
#: and used by name, as a supergraph that does not link the spec may carry it.
MEDIA = (Path(__file__).parents[2] / "integration" / "gateway" / "supergraphs"
         / "media.graphql").read_text(encoding="utf-8").replace(
    "interface Media\n", "directive @cost(weight: Int!) on FIELD_DEFINITION | OBJECT\n\n"
                         "interface Media\n").replace(
    "  minutes: Int!\n", "  minutes: Int! @cost(weight: 4)\n")


def test_abstract_types_count_their_fragments_on_each_possible_type() -> None:
    query = "{ feed { ... on Book { title } ... on Movie { minutes } } }"
    assert estimate(query, sdl=MEDIA) == 10 * (1 + 0 + 4)
    assert estimate("{ media { title ... on Movie { minutes } } }", sdl=MEDIA) == 10 * 5


def test_actual_cost_applies_the_fragments_of_each_items_type() -> None:
    query = "{ feed { __typename ... on Book { title } ... on Movie { minutes } } }"
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    calculator = _calculator(MEDIA)
    data = {"feed": [{"__typename": "Movie", "minutes": 90},
                     {"__typename": "Book", "title": "Dune"}]}
    assert calculator.actual(document, operation, {}, data) == 2 + 4
    on_interface = parse("{ feed { ... on Media { title } } }")
    definition = next(d for d in on_interface.definitions
                      if isinstance(d, OperationDefinitionNode))
    assert calculator.actual(on_interface, definition, {},
                             {"feed": [{"__typename": "Book", "title": "Dune"}]}) == 1
    # Without __typename every fragment may apply: the keys the item has are counted.
    assert calculator.actual(document, operation, {}, {"feed": [{"minutes": 90}]}) == 1 + 4
