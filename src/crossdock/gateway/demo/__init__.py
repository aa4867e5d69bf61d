"""Two tiny demo subgraphs (products, reviews) that ``crossdock up --demo`` federates.

They show the gateway at work on a fresh machine: ``topProducts`` comes from products, each
product's ``reviews`` from reviews through ``_entities``. The supergraph is composed ahead of
time (``supergraph.graphql``, subgraph URLs are placeholders filled in at start).
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any

import orjson
from graphql import GraphQLObjectType, GraphQLSchema, build_schema, graphql

from crossdock.core.asgi import Receive, Scope, Send, read_body, send_bytes

_FEDERATION = """
scalar _Any
scalar FieldSet
type _Service { sdl: String }
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
union _Entity = Product
"""

PRODUCTS: list[dict[str, Any]] = [
    {"upc": "1", "name": "Table", "price": 899},
    {"upc": "2", "name": "Couch", "price": 1299},
    {"upc": "3", "name": "Chair", "price": 54},
]
REVIEWS: dict[str, list[dict[str, Any]]] = {
    "1": [{"id": "1", "body": "Love it!", "stars": 5}],
    "2": [{"id": "2", "body": "Too expensive.", "stars": 2},
          {"id": "3", "body": "Comfy.", "stars": 4}],
    "3": [],
}


def sdl(name: str) -> str:
    """The SDL of a demo subgraph."""
    return (files(__package__) / f"{name}.graphql").read_text(encoding="utf-8")


def supergraph(urls: dict[str, str]) -> str:
    """The demo supergraph, pointing at ``urls`` (subgraph name -> URL)."""
    text = (files(__package__) / "supergraph.graphql").read_text(encoding="utf-8")
    for name, url in urls.items():
        text = text.replace(f"http://{name}.invalid/graphql", url)
    return text


class DemoSubgraph:
    """A federation subgraph served by graphql-core: POST JSON at any path."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sdl = sdl(name)
        body = re.sub(r"extend\s+schema\s+@link\((?:[^()]|\([^()]*\))*\)", "", self.sdl)
        query = "type Query" if "type Query" not in body else "extend type Query"
        self.schema: GraphQLSchema = build_schema(
            body + _FEDERATION + f"{query} {{ _entities(representations: [_Any!]!): "
            "[_Entity]! _service: _Service! }")
        root = self.schema.query_type
        assert isinstance(root, GraphQLObjectType)
        root.fields["_service"].resolve = lambda *_: {"sdl": self.sdl}
        root.fields["_entities"].resolve = self._entities
        if name == "products":
            root.fields["topProducts"].resolve = lambda _r, _i, first=5: PRODUCTS[:first]
        entity = self.schema.get_type("_Entity")
        entity.resolve_type = lambda *_: "Product"  # type: ignore[union-attr]

    def _entities(self, _root: Any, _info: Any,
                  representations: list[dict[str, Any]]) -> list[Any]:
        found = []
        for rep in representations:
            product = next((p for p in PRODUCTS if p["upc"] == rep.get("upc")), None)
            if product is not None and self.name == "reviews":
                product = {"upc": product["upc"], "reviews": REVIEWS[product["upc"]]}
            found.append(product)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await send_bytes(send, 405, b'{"errors":[{"message":"POST a GraphQL request"}]}')
            return
        try:
            payload = orjson.loads(await read_body(receive, limit=1 << 20) or b"")
            query = payload["query"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            await send_bytes(send, 400, b'{"errors":[{"message":"expected a JSON body"}]}')
            return
        result = await graphql(self.schema, query,
                               variable_values=payload.get("variables"),
                               operation_name=payload.get("operationName"))
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        await send_bytes(send, 200, orjson.dumps(body))
