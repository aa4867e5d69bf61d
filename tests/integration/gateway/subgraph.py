"""A tiny Apollo Federation subgraph server for tests: graphql-core plus ``_entities``.

Each test subgraph is SDL (as a federation v2 subgraph declares it), resolvers for root
fields, and a reference resolver per entity type. It serves POST JSON over real HTTP, logs
every request it gets, and can be told to misbehave (HTTP 500, non-JSON, slow, a 503 for
the next few requests).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from typing import Any

import orjson
from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    graphql,
    is_abstract_type,
)

from crossdock.core.asgi import Receive, Scope, Send, read_body, send_bytes

_FEDERATION = """
scalar _Any
scalar FieldSet
scalar link__Import
type _Service { sdl: String }
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @external on FIELD_DEFINITION | OBJECT
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @override(from: String!, label: String) on FIELD_DEFINITION
directive @interfaceObject on OBJECT
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION
  | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],
  requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
"""

Resolver = Callable[..., Any]


@dataclasses.dataclass
class Behaviour:
    """How the subgraph answers: normally, or badly on purpose."""

    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    #: How many of the next requests get a 503 before the subgraph answers normally again.
    unavailable: int = 0


class TestSubgraph:
    """A federation subgraph served by graphql-core."""

    def __init__(self, name: str, sdl: str, *, resolvers: dict[str, dict[str, Resolver]],
                 references: dict[str, Callable[[dict[str, Any]], Any]] | None = None) -> None:
        self.name = name
        self.sdl = sdl
        self.references = references or {}
        self.requests: list[dict[str, Any]] = []
        #: The headers of each request, in the order of ``requests``.
        self.headers: list[dict[str, str]] = []
        self.behaviour = Behaviour()
        self.schema = self._build(resolvers)

    def _build(self, resolvers: dict[str, dict[str, Resolver]]) -> GraphQLSchema:
        body = re.sub(r"extend\s+schema\s+@link\((?:[^()]|\([^()]*\))*\)", "", self.sdl)
        entities = re.findall(r"type\s+(\w+)[^{]*@key\(fields:[^)]*\)(?![^{]*resolvable:\s*false)",
                              body)
        extra = _FEDERATION
        if entities:
            extra += f"union _Entity = {' | '.join(entities)}\n"
        root = "_entities(representations: [_Any!]!): [_Entity]!" if entities else ""
        keyword = "extend type" if re.search(r"type\s+Query\b", body) else "type"
        extra += f"{keyword} Query {{ {root} _service: _Service! }}\n"
        schema = build_schema(body + extra)
        for type_name, fields in resolvers.items():
            gql_type = schema.get_type(type_name)
            assert isinstance(gql_type, GraphQLObjectType), type_name
            for field_name, resolver in fields.items():
                gql_type.fields[field_name].resolve = resolver
        query = schema.query_type
        assert query is not None
        query.fields["_service"].resolve = lambda *_: {"sdl": self.sdl}
        if entities:
            query.fields["_entities"].resolve = self._entities
        for gql_type in schema.type_map.values():
            if is_abstract_type(gql_type):
                gql_type.resolve_type = _resolve_type  # type: ignore[attr-defined]
        return schema

    def _entities(self, _root: Any, _info: Any, representations: list[dict[str, Any]]) -> list[Any]:
        out = []
        for rep in representations:
            resolve = self.references.get(rep["__typename"])
            found = resolve(rep) if resolve else None
            if isinstance(found, dict) and "__typename" not in found:
                found = {"__typename": rep["__typename"], **found}
            out.append(found)
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await read_body(receive) or b"{}"
        payload = orjson.loads(raw)
        self.requests.append(payload)
        self.headers.append({name.decode("latin-1"): value.decode("latin-1")
                             for name, value in scope["headers"]})
        behaviour = self.behaviour
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.unavailable:
            behaviour.unavailable -= 1
            await send_bytes(send, 503, b"Service Unavailable", b"text/plain")
            return
        if behaviour.body is not None or behaviour.status != 200:
            await send_bytes(send, behaviour.status, behaviour.body or b"", b"text/plain")
            return
        result = await graphql(self.schema, payload["query"],
                               variable_values=payload.get("variables"),
                               operation_name=payload.get("operationName"))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        await send_bytes(send, 200, orjson.dumps(body))

    def entity_calls(self) -> list[list[dict[str, Any]]]:
        """The representations of each ``_entities`` request received."""
        return [r["variables"]["representations"] for r in self.requests
                if "_entities" in r["query"]]


def _resolve_type(value: Any, *_: Any) -> str:
    return value["__typename"]  # type: ignore[no-any-return]
