"""Access rules and operation filtering: what @authenticated, @requiresScopes and @policy on
fields, types and interfaces remove from an operation for a given grant."""

from __future__ import annotations

from graphql import parse, print_ast

from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.fields import operation_of
from crossdock.gateway.plugins.access import AccessRules, Grant, Requirement
from crossdock.gateway.plugins.filtering import Needs, filtered, needs
from crossdock.gateway.supergraph import Supergraph

SUPERGRAPH = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", as: "scoped", for: SECURITY)
  @link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)
{ query: Query }

directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @scoped(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT
  | INTERFACE | SCALAR | ENUM
directive @policy(policies: [[policy__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE
  | SCALAR | ENUM
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on OBJECT
  | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT
  | INTERFACE
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import])
  repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
scalar requiresScopes__Scope
scalar policy__Policy
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a.invalid/graphql") }

type Query @join__type(graph: A) {
  things: [Thing!]!
  secret: Secret
  report: String @scoped(scopes: [["read", "report"], ["admin"]])
}

interface Thing @join__type(graph: A) { id: ID! label: String }

type Book implements Thing @join__type(graph: A) @join__implements(graph: A, interface: "Thing") {
  id: ID!
  label: String @authenticated
  title: String
}

type Film implements Thing @join__type(graph: A) @join__implements(graph: A, interface: "Thing") {
  id: ID!
  label: String
  budget: Int @policy(policies: [["finance"]])
}

type Secret @authenticated @join__type(graph: A) { code: String }
"""
SG = Supergraph(SUPERGRAPH)
RULES = AccessRules(SG, build_api_schema(SG))
ANONYMOUS = Grant(authenticated=False)
MEMBER = Grant(authenticated=True)


def cut(query: str, grant: Grant) -> tuple[str | None, list[list[str]]]:
    document = parse(query)
    result = filtered(RULES, document, operation_of(document, None), grant)
    text = print_ast(result.document) if result.document is not None else None
    if result.definition is None:
        text = "<nothing>"
    return text, [list(p) for p in result.paths]


def test_scopes_are_an_or_of_ands() -> None:
    report = RULES.field_requirement(RULES.schema.query_type, "report")  # type: ignore[arg-type]
    assert report.met_by(Grant(authenticated=True, scopes=frozenset({"read", "report"})))
    assert report.met_by(Grant(authenticated=True, scopes=frozenset({"admin"})))
    assert not report.met_by(Grant(authenticated=True, scopes=frozenset({"read"})))


def test_a_renamed_directive_is_read_under_its_new_name() -> None:
    assert RULES.fields[("Query", "report")].scopes == (
        (frozenset({"read", "report"}), frozenset({"admin"})),)


def test_a_type_directive_guards_every_field_returning_the_type() -> None:
    text, paths = cut("{ secret { code } things { id } }", ANONYMOUS)
    assert paths == [["secret"]]
    assert text is not None
    assert "secret" not in text
    assert cut("{ secret { code } }", MEMBER) == (None, [])


def test_an_interface_field_asks_what_any_implementation_asks() -> None:
    text, paths = cut("{ things { id label } }", ANONYMOUS)
    assert paths == [["things", "@", "label"]]
    assert text is not None
    assert "label" not in text


def test_a_field_in_a_named_fragment_is_removed_and_the_fragment_inlined() -> None:
    query = "{ things { ...F } } fragment F on Film { id budget }"
    text, paths = cut(query, MEMBER)
    assert paths == [["things", "@", "budget"]]
    assert text is not None
    assert "... on Film {\n      id\n    }" in text
    # A fragment that loses nothing is kept as it was.
    assert cut("{ things { ...G } } fragment G on Book { id title }", ANONYMOUS) == (None, [])


def test_a_fragment_on_a_type_the_caller_may_not_see_goes_at_its_parents_path() -> None:
    # No caller may see Secret anonymously; an inline fragment on it goes whole.
    text, paths = cut("{ secret { ... on Secret { code } } things { id } }", ANONYMOUS)
    assert paths == [["secret"]]
    assert text is not None


def test_an_operation_left_with_nothing_is_told_apart() -> None:
    assert cut("{ report }", MEMBER) == ("<nothing>", [["report"]])


def test_needs_gather_every_scope_and_policy_an_operation_names() -> None:
    document = parse("{ report things { ... on Film { budget } } }")
    assert needs(RULES, document, operation_of(document, None)) == Needs(
        asked=True, authenticated=False, scopes=frozenset({"read", "report", "admin"}),
        policies=frozenset({"finance"}))
    plain = parse("{ things { id } }")
    assert needs(RULES, plain, operation_of(plain, None)) == Needs()


def test_requirements_add_up() -> None:
    both = Requirement(authenticated=True) + Requirement(scopes=((frozenset({"a"}),),))
    assert both.authenticated
    assert both.scopes == ((frozenset({"a"}),),)
    assert not Requirement()
