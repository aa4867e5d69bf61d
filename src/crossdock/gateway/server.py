"""The gateway's HTTP server: GraphQL over HTTP as a thin ASGI app.

POST with a JSON body or GET with query parameters at ``/graphql``; answers in
``application/graphql-response+json`` when the client accepts it, else ``application/json``.
GET with ``Accept: text/html`` gets GraphiQL (unless turned off). ``/health`` answers for load
balancers that expect that name. Each request's :class:`RequestContext` is built here, from
the scope, and goes with it into the gateway. The wrappers around this app are composed in
:mod:`crossdock.gateway.app`.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qs

import orjson
import structlog

from crossdock.core.asgi import Receive, Scope, Send, read_body, send_bytes
from crossdock.gateway import graphiql
from crossdock.gateway.context import RequestContext
from crossdock.gateway.engine import Gateway
from crossdock.gateway.plugins.base import GraphQLRequest
from crossdock.gateway.result import Result, request_error

_GRAPHQL_RESPONSE = b"application/graphql-response+json"
_JSON = b"application/json"
#: The largest request body unless ``limits.http_max_request_bytes`` says otherwise.
_MAX_BODY = 10 * 1024 * 1024
#: Where GraphQL is served (the CSRF check guards these).
GRAPHQL_PATHS = frozenset({"/graphql", "/graphql/", "/"})
#: A client's ``X-Request-ID`` is kept when it is this; otherwise the gateway makes one.
_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")


class GraphQLApp:
    """The ASGI app serving one :class:`Gateway` (swapped whole on a supergraph reload)."""

    def __init__(self, gateway: Gateway, *, graphiql: bool = True) -> None:
        self.gateway = gateway
        self.graphiql = graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request_id = _request_id(scope["headers"])
        text_id = request_id.decode()
        # Every log line of this request (its subgraph fetches' too) carries the id.
        tokens = structlog.contextvars.bind_contextvars(request_id=text_id)
        try:
            await self._serve(scope, receive, send, RequestContext.from_scope(scope, text_id),
                              [(b"x-request-id", request_id)])
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    async def _serve(self, scope: Scope, receive: Receive, send: Send,
                     context: RequestContext, headers: list[tuple[bytes, bytes]]) -> None:
        path = scope["path"]
        if path == "/health":
            await send_bytes(send, 200, b'{"status":"ok"}')
            return
        if self.graphiql and path.startswith(graphiql.PREFIX) and scope["method"] == "GET":
            await graphiql.send_asset(send, path, headers)
            return
        if path not in GRAPHQL_PATHS:
            await send_bytes(send, 404, b'{"error":"not found"}')
            return
        accept = b""
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
            elif name == b"content-type":
                content_type = value
        # The spec's legacy rule: without an explicit graphql-response+json, answer JSON.
        media = _GRAPHQL_RESPONSE if _GRAPHQL_RESPONSE in accept else _JSON
        method = scope["method"]
        if method == "GET":
            if self.graphiql and b"text/html" in accept \
                    and b"query=" not in scope.get("query_string", b""):
                await graphiql.send_page(send, headers)
                return
            result = await self._get(scope, context)
        elif method == "POST":
            result = await self._post(receive, content_type, context)
        else:
            await send_bytes(send, 405, b'{"errors":[{"message":"Use GET or POST."}]}',
                             headers=[(b"allow", b"GET, POST"), *headers])
            return
        await send_bytes(send, result.status, orjson.dumps(result.body), media,
                         _with_result_headers(headers, result) if result.headers else headers)

    async def _get(self, scope: Scope, context: RequestContext) -> Result:
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        query = params.get("query", [None])[0]
        if not query and "extensions" not in params and "doc_id" not in params:
            return request_error("Missing the query parameter.")
        decoded: dict[str, Any] = {}
        for name in ("variables", "extensions"):
            raw = params.get(name, [None])[0]
            if raw:
                try:
                    decoded[name] = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return request_error(f"The {name} parameter is not valid JSON.")
        return await self._run({"query": query, "variables": decoded.get("variables"),
                                "operationName": params.get("operationName", [None])[0],
                                "doc_id": params.get("doc_id", [None])[0],
                                "extensions": decoded.get("extensions")}, context, method="GET")

    async def _post(self, receive: Receive, content_type: bytes,
                    context: RequestContext) -> Result:
        body = await read_body(receive, limit=self.gateway.pipeline.max_request_bytes or _MAX_BODY)
        if body is None:
            # Apollo Router's answer, so clients that know it need nothing new.
            return request_error("Request body payload too large", status=413,
                                 code="INVALID_GRAPHQL_REQUEST")
        if content_type.startswith(b"application/graphql") and b"json" not in content_type:
            return await self._run({"query": body.decode("utf-8", "replace")}, context)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return request_error("The request body is not valid JSON.")
        if not isinstance(payload, dict):
            if isinstance(payload, list):
                # Query batching (the router's ``batching`` key) is not supported.
                return request_error("Batched requests are not supported by this gateway: "
                                     "send one operation per request.",
                                     code="BATCHING_NOT_ENABLED")
            return request_error("The request body must be a JSON object.")
        return await self._run(payload, context)

    async def _run(self, payload: dict[str, Any], context: RequestContext, *,  # noqa: PLR0911 - one answer per malformed field, no loop on the hot path
                   method: str = "POST") -> Result:
        query = payload.get("query")
        if query is not None and not isinstance(query, str):
            return request_error("The query must be a string.")
        extensions = payload.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            return request_error("The extensions must be a JSON object.")
        document_id = payload.get("doc_id")
        if document_id is not None and not isinstance(document_id, str):
            return request_error("The doc_id must be a string.")
        if not (query and query.strip()) and not extensions and not document_id:
            return request_error("The request has no query string.")
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return request_error("The variables must be a JSON object.")
        name = payload.get("operationName")
        if name is not None and not isinstance(name, str):
            return request_error("The operationName must be a string.")
        return await self.gateway.handle(GraphQLRequest(
            query=query if query and query.strip() else None, operation_name=name or None,
            variables=variables, extensions=extensions or {}, document_id=document_id or None,
            method=method, context=context))


def _with_result_headers(headers: list[tuple[bytes, bytes]],
                         result: Result) -> list[tuple[bytes, bytes]]:
    """``headers`` and those a plugin put on ``result``."""
    return [*headers, *((n.encode("latin-1"), v.encode("latin-1")) for n, v in result.headers)]


def _request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The client's ``X-Request-ID`` when it is a short printable token, else a new one."""
    for name, value in headers:
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return value
    return os.urandom(8).hex().encode()
