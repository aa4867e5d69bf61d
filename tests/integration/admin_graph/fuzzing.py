"""Generated requests for the admin subgraphs and the gateway, and the property every answer
keeps: a refusal is the client's (4xx, or 200 with errors), never a 5xx or a traceback, and
every GraphQL error carries ``extensions.code``, never ``INTERNAL_SERVER_ERROR`` (a bug).

Queries and mutations come from each subgraph's own schema (hypothesis-graphql), valid ones
and ones that break the schema's rules; raw bodies mutate what a client may send around a
query (types of ``variables``, ``operationName``, ``extensions``, persisted-query hashes).
``tests/integration/admin_graph/test_fuzz.py`` runs a few of each deterministically;
``bench/fuzz/admin_graph.py --cases N`` runs many more.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import graphql
import httpx
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from crossdock.core.admin_graph.mount import schemas
from crossdock.core.services import discover

#: Examples per test; ``bench/fuzz/admin_graph.py --cases N`` sets it through the environment.
CASES = int(os.environ.get("CROSSDOCK_FUZZ_CASES", "0")) or None

# The suite's run is the same every time; the bench's explores (a new seed each run).
FUZZ = settings(derandomize=CASES is None, max_examples=CASES or 12, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                       HealthCheck.too_slow,
                                                       HealthCheck.filter_too_much])


def suite_cases(count: int) -> settings:
    """``count`` examples in the suite's run, the bench's number in its own."""
    return settings(FUZZ, max_examples=CASES or count)


_ODD_TEXT = st.sampled_from(["", "\x00", "a\x00b", "-1", "0", "9" * 40, "1e309", "NaN",
                             "\u202e", "'; DROP TABLE x; --", "%", "_", "\\", "x" * 5000])
TEXT = st.one_of(_ODD_TEXT, st.text(max_size=40))
_DATETIMES = st.one_of(
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda value: value.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00",
                     "0000-01-01T00:00:00Z", "2026-13-40T25:61:61Z", "yesterday", "",
                     "2026-01-01T00:00:00\x00", "+275760-09-13T00:00:00Z", "1" * 30]),
    TEXT)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12)


_LEAVES: dict[type, Any] = {bool: nodes.Boolean, int: nodes.Int, float: nodes.Float,
                           str: nodes.String}


def _node(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (an object's names made valid)."""
    if value is None:
        return nodes.Null
    if type(value) in _LEAVES:
        return _LEAVES[type(value)](value)  # type: ignore[no-any-return]
    if isinstance(value, list):
        return nodes.List([_node(item) for item in value])
    return nodes.Object([graphql.ObjectFieldNode(name=graphql.NameNode(value=f"f{i}"),
                                                 value=_node(item))
                         for i, item in enumerate(value.values())])


def _representation(typenames: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    """An ``_Any`` of ``_entities``: an entity's typename with a key of any value."""
    key = st.sampled_from(["id", "url", "name", "key", "sliceName", "x"])
    fields = st.tuples(st.sampled_from(typenames) | TEXT,
                       st.dictionaries(key, JSON_VALUES, max_size=3))
    return fields.map(lambda pair: nodes.Object([
        graphql.ObjectFieldNode(name=graphql.NameNode(value="__typename"),
                                value=nodes.String(pair[0])),
        *(graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=_node(value))
          for name, value in pair[1].items())]))


def scalars(schema: graphql.GraphQLSchema) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Strategies for the custom scalars the admin subgraphs use."""
    entity = schema.type_map.get("_Entity")
    typenames = ([member.name for member in entity.types]
                 if isinstance(entity, graphql.GraphQLUnionType) else ["Query"])
    return {"DateTime": _DATETIMES.map(nodes.String), "JSON": JSON_VALUES.map(_node),
            "_Any": _representation(typenames)}


def subgraph_schemas() -> dict[str, graphql.GraphQLSchema]:
    """Each admin subgraph's executable schema, by name."""
    return {name: schema._schema  # strawberry's graphql-core schema
            for name, schema in sorted(schemas(discover()).items())}


def operations(schema: graphql.GraphQLSchema, *,
               writes: bool = True) -> st.SearchStrategy[str]:
    """Queries and mutations of ``schema``: valid ones, and ones that break its rules."""
    custom = scalars(schema)
    found = [queries(schema, custom_scalars=custom),
             queries(schema, custom_scalars=custom, mode=Mode.NEGATIVE)]
    if writes and schema.mutation_type is not None:
        found += [mutations(schema, custom_scalars=custom),
                  mutations(schema, custom_scalars=custom, mode=Mode.NEGATIVE)]
    return st.one_of(found)


def _selection(type_: graphql.GraphQLOutputType) -> str:
    named = graphql.get_named_type(type_)
    return " { __typename }" if isinstance(named, graphql.GraphQLCompositeType) else ""


def _value_for(type_: graphql.GraphQLInputType) -> st.SearchStrategy[Any]:
    """A value for a variable of ``type_``: often of the right shape, sometimes anything."""
    inner = graphql.get_nullable_type(type_)
    if isinstance(inner, graphql.GraphQLList):
        right: st.SearchStrategy[Any] = st.lists(st.deferred(lambda: _value_for(inner.of_type)),
                                                 max_size=3)
    elif isinstance(inner, graphql.GraphQLEnumType):
        right = st.sampled_from(sorted(inner.values))
    elif isinstance(inner, graphql.GraphQLInputObjectType):
        right = st.fixed_dictionaries({name: _value_for(field.type)
                                       for name, field in inner.fields.items()})
    elif inner is graphql.GraphQLInt or inner is graphql.GraphQLFloat:
        right = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    elif inner is graphql.GraphQLBoolean:
        right = st.booleans()
    elif getattr(inner, "name", "") == "DateTime":
        right = _DATETIMES
    elif getattr(inner, "name", "") == "JSON":
        right = JSON_VALUES
    else:
        right = TEXT | st.integers()
    return right | st.none() | JSON_VALUES


@st.composite
def variable_operations(draw: st.DrawFn, schema: graphql.GraphQLSchema, *,
                        writes: bool = True) -> dict[str, Any]:
    """A request that calls one root field with every argument a variable, and variables of
    the right types or of any: the path where values are coerced from JSON, not literals."""
    roots = [root for root in (schema.query_type, schema.mutation_type if writes else None)
             if root is not None]
    root = draw(st.sampled_from(roots))
    fields = [(name, field) for name, field in root.fields.items() if field.args]
    if not fields:
        return {"query": "{ __typename }", "variables": {}}
    name, field = draw(st.sampled_from(fields))
    chosen = [arg for arg in field.args.items()
              if graphql.is_non_null_type(arg[1].type) or draw(st.booleans())]
    definitions = ", ".join(f"${arg}: {spec.type}" for arg, spec in chosen)
    arguments = ", ".join(f"{arg}: ${arg}" for arg, _ in chosen)
    keyword = "mutation" if root is schema.mutation_type else "query"
    query = (f"{keyword}{f'({definitions})' if chosen else ''}"
             f" {{ {name}{f'({arguments})' if chosen else ''}{_selection(field.type)} }}")
    variables = {arg: draw(_value_for(spec.type)) for arg, spec in chosen
                 if draw(st.integers(0, 9)) > 0}
    return {"query": query, "variables": variables}


_ANY_JSON = JSON_VALUES | st.sampled_from([[], {}, "", 0, True])
# Documents no schema-driven generator writes: deep, wide, cyclic, with huge literals.
_ODD_DOCUMENTS = st.integers(min_value=1, max_value=3000).flatmap(lambda n: st.sampled_from([
    "{ __typename " + "{ __typename " * n + "}" * n + " }",
    "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }",
    "{ __typename(x: " + "[" * n + "]" * n + ") }",
    "{ __typename(x: 1" + "0" * n + ") }",
    "{ __typename(x: 1." + "5" * n + "e" + "9" * min(n, 400) + ") }",
    "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "query(" + ", ".join(f"$v{i}: Int" for i in range(n)) + ") { __typename }",
    "{ __typename " + "@skip(if: false) " * n + "}",
    "subscription { __typename }",
]))


@st.composite
def raw_requests(draw: st.DrawFn, query: st.SearchStrategy[str]) -> dict[str, Any]:
    """A request around ``query`` as a client may mangle it: the method, the body's fields of
    any type, persisted-query extensions, a body that is not JSON at all."""
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["query"] = draw(query | _ODD_DOCUMENTS | TEXT | _ANY_JSON)
    for name in ("variables", "operationName", "extensions"):
        if draw(st.booleans()):
            body[name] = draw(_ANY_JSON)
    if draw(st.booleans()):
        body["extensions"] = {"persistedQuery": {
            "version": draw(st.sampled_from([1, 2, "1", None, -1])),
            "sha256Hash": draw(st.sampled_from(["", "0" * 64, "zz"]) | TEXT | _ANY_JSON)}}
    method = draw(st.sampled_from(["POST", "POST", "GET"]))
    raw = draw(st.none() | st.sampled_from([b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe",
                                            b'{"query": "{ __typename }"' + b" " * 10]))
    return {"method": method, "body": body, "raw": raw,
            "content_type": draw(st.sampled_from(["application/json", "application/graphql",
                                                  "text/plain", ""]))}


def _params(body: dict[str, Any]) -> dict[str, str]:
    return {name: value if isinstance(value, str) else json.dumps(value)
            for name, value in body.items()}


async def send_raw(client: httpx.AsyncClient, url: str, request: dict[str, Any],
                   token: str) -> httpx.Response:
    """Send a :func:`raw_requests` request to ``url`` with ``token``."""
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if request["content_type"]:
        headers["content-type"] = request["content_type"]
    if request["method"] == "GET":
        return await client.get(url, params=_params(request["body"]), headers=headers)
    if request["raw"] is not None:
        return await client.post(url, content=request["raw"], headers=headers)
    # The standard library's JSON, which writes integers of any size (a client's may).
    return await client.post(url, content=json.dumps(request["body"]), headers=headers)


def problems(response: httpx.Response) -> list[str]:
    """What is wrong with an answer, if anything (empty: it keeps the property)."""
    status = response.status_code
    found = [f"HTTP {status}"] if status >= 500 else []
    if "Traceback" in response.text:
        found.append("a traceback in the answer")
    try:
        body = response.json()
    except ValueError:
        return [*found, f"not JSON: {response.text[:200]!r}"]
    if not isinstance(body, dict):
        return [*found, f"not a JSON object: {body!r:.200}"]
    errors = body.get("errors") or []
    if status != 200 and not errors:
        found.append(f"HTTP {status} without a GraphQL error")
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code is None:
            found.append(f"an error without extensions.code: {error!r:.300}")
        elif code == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR: {error!r:.300}")
    return found


def check(response: httpx.Response, request: object) -> None:
    """Fail with the request and the answer when the answer breaks the property."""
    found = problems(response)
    if found:
        # Written as found: a generated query's strategy may not replay it exactly.
        sys.stderr.write(f"fuzz: {found}\nrequest: {request!r:.2000}\n")
    assert not found, f"{found}\nrequest: {request!r:.2000}\nanswer: {response.text[:2000]}"
