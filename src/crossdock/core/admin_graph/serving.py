"""An admin subgraph over HTTP: a token on every request, mutations for admin tokens only.

``POST`` a GraphQL request (JSON: ``query``, ``variables``, ``operationName``) with
``Authorization: Bearer <token>`` (``crossdock admin token create``, or the organisation's
JWT when ``CROSSDOCK_ADMIN_JWT_JWKS`` is set: :mod:`crossdock.core.adminauth`). Without a
valid token the answer is 401 with the error code ``UNAUTHENTICATED`` (403 ``FORBIDDEN`` for
a JWT that grants no role, 503 ``SERVICE_UNAVAILABLE`` when the check cannot be made); a
mutation with a read token is 403 ``FORBIDDEN``, refused before anything runs. The role is
checked on the operation, not field by field, so a new mutation cannot be left open by
forgetting a decorator.
A request whose operation cannot be chosen (a name the document does not have, several
operations and no name) is 400 ``OPERATION_RESOLUTION_FAILURE``, as at the gateway.

Errors carry ``extensions.code``: ``BAD_USER_INPUT`` for a request the service refuses (an
unknown delivery, a bad cursor), ``SERVICE_UNAVAILABLE`` when the database is down,
``SERVICE_UNAVAILABLE`` too when a field needs a service that does not run in this process
(:mod:`crossdock.core.live`), ``INTERNAL_SERVER_ERROR`` for a bug (logged with its
traceback, never shown to the client).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import orjson
import strawberry
from graphql import (
    BREAK,
    GraphQLError,
    GraphQLUnionType,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    visit,
)

# Strawberry reads the annotations of _entities' resolver at run time.
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from crossdock.core.admin_graph.context import AdminContext
from crossdock.core.admin_graph.entities import checked, key_names
from crossdock.core.asgi import read_body, send_bytes
from crossdock.core.errors import (
    AccessDenied,
    AdminGraphError,
    CrossdockError,
    DatabaseError,
    NotLive,
)
from crossdock.core.logging import get_logger
from crossdock.core.tokens import bearer

if TYPE_CHECKING:
    from graphql import DocumentNode
    from strawberry.types import ExecutionResult

    from crossdock.core.adminauth import Caller
    from crossdock.core.asgi import Receive, Scope, Send
    from crossdock.core.runtime import Runtime

log = get_logger("crossdock.admin_graph")

#: Larger requests are refused: an admin query is a few hundred bytes.
MAX_BODY = 1 << 20
#: Longer integer literals are refused before any scalar reads them.
MAX_INT_DIGITS = 100
_MISSING = ("the admin graph needs a token: send Authorization: Bearer <token> (create one "
            "with crossdock admin token create)")


class AdminSchema(strawberry.federation.Schema):
    """A federation v2 schema that logs a resolver's failure as one event, not a traceback.

    Expected errors (ours) are the client's business; anything else is logged by
    :class:`SubgraphApp` with its traceback once, as ``admin_graph_failed``.
    """

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: Any = None) -> None:
        del errors, execution_context

    def entities_resolver(self, info: Info, representations: list[FederationAny],
                          ) -> list[FederationAny]:
        """Each representation checked (:mod:`.entities`), a bad one its item's error."""
        keys = self._entity_keys
        results: list[Any] = []
        for representation in representations:
            try:
                found = checked(representation, keys)
            except AdminGraphError as exc:
                results.append(exc)
            else:
                results.extend(super().entities_resolver(info, [found]))  # type: ignore[list-item]
        return results

    @functools.cached_property
    def _entity_keys(self) -> dict[str, list[str]]:
        union = self._schema.type_map.get("_Entity")
        members = union.types if isinstance(union, GraphQLUnionType) else ()
        found = {}
        for member in members:
            definition = self.schema_converter.type_map[member.name].definition
            names = key_names(getattr(definition, "origin", None))
            if names is not None:
                found[member.name] = names
        return found


def _error(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def formatted(error: GraphQLError) -> dict[str, Any]:
    """A GraphQL error as the client sees it, with its ``extensions.code``."""
    body: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if original is None:
        code = "GRAPHQL_VALIDATION_FAILED"
    elif isinstance(original, DatabaseError):
        body["message"], code = "the database is unavailable; retry later", "SERVICE_UNAVAILABLE"
    elif isinstance(original, NotLive):
        body["message"], code = original.message, "SERVICE_UNAVAILABLE"
    elif isinstance(original, CrossdockError):
        body["message"], code = original.message, "BAD_USER_INPUT"
    elif isinstance(original, GraphQLError):
        # A variable no scalar can read (a DateTime of "yesterday"): the message says which.
        code = "BAD_USER_INPUT"
    else:
        log.error("admin_graph_failed", path=error.path, exc_info=original)
        body["message"], code = "internal error", "INTERNAL_SERVER_ERROR"
    body["extensions"] = {**(body.get("extensions") or {}), "code": code}
    return body


class SubgraphApp:
    """The ASGI app of one admin subgraph."""

    def __init__(self, schema: strawberry.federation.Schema, runtime: Runtime) -> None:
        self.schema = schema
        self.runtime = runtime
        self.auth = runtime.admin_auth()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405, [_error("POST a GraphQL request as JSON", "BAD_REQUEST")])
            return
        caller = await self._authenticate(scope, send)
        if caller is None:
            return
        request = await _request(receive, send)
        if request is None:
            return
        query, variables, operation = request
        chosen = await _chosen(query, operation, send)
        if chosen is None:
            return
        try:
            caller.allow("a mutation" if chosen.operation is OperationType.MUTATION else None)
        except AccessDenied as exc:
            await _answer(send, exc.status, [_error(exc.message, exc.code)])
            return
        result = await self.schema.execute(
            query, variable_values=variables, operation_name=operation or None,
            context_value=AdminContext(runtime=self.runtime, caller=caller))
        await _send_result(send, result)

    async def _authenticate(self, scope: Scope, send: Send) -> Caller | None:
        try:
            return await self.auth.admit(bearer(scope), writes=None, missing=_MISSING)
        except AccessDenied as exc:
            await _answer(send, exc.status, [_error(exc.message, exc.code)], exc.headers)
            return None


async def _chosen(query: str, operation: str | None,
                  send: Send) -> OperationDefinitionNode | None:
    """The operation ``query`` runs, or None once the client is told why there is none."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        await _answer(send, 400, [{**exc.formatted,
                                   "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}])
        return None
    if _has_long_integer(document):
        await _answer(send, 400, [_error(
            f"an integer literal passes {MAX_INT_DIGITS} digits; no argument takes one",
            "BAD_USER_INPUT")])
        return None
    chosen = _operation(document, operation)
    if isinstance(chosen, str):
        await _answer(send, 400, [_error(chosen, "OPERATION_RESOLUTION_FAILURE")])
        return None
    return chosen


class _LongInteger(Visitor):
    """Stops at the first integer literal longer than :data:`MAX_INT_DIGITS`."""

    found = False

    def enter_int_value(self, node: IntValueNode, *_: object) -> object:
        self.found = len(node.value) > MAX_INT_DIGITS
        return BREAK if self.found else None


def _has_long_integer(document: DocumentNode) -> bool:
    """Whether ``document`` has an integer literal no argument can take: Python refuses to
    read one of more than 4,300 digits (a ``ValueError`` inside graphql-core's Int scalar,
    which was an ``INTERNAL_SERVER_ERROR``), and every Int, ID or JSON here is far shorter."""
    visitor = _LongInteger()
    visit(document, visitor)
    return visitor.found


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | str:
    """The operation to run, or why none can be chosen, as the gateway says it: strawberry
    failed with a ``RuntimeError`` (a 500) on a name no operation has, or on a document
    without one. An empty name is no name, as for the gateway."""
    operations = [node for node in document.definitions
                  if isinstance(node, OperationDefinitionNode)]
    if name:
        found = next((node for node in operations
                      if node.name is not None and node.name.value == name), None)
        return found or f"Unknown operation named {name[:100]!r}."
    if len(operations) != 1:
        return ("Must provide operation name if query contains multiple operations."
                if operations else "The document has no operation to run.")
    return operations[0]


async def _request(receive: Receive,
                   send: Send) -> tuple[str, dict[str, Any] | None, str | None] | None:
    body = await read_body(receive, limit=MAX_BODY)
    if body is None:
        await _answer(send, 413, [_error(f"the request passes {MAX_BODY} bytes",
                                         "BAD_REQUEST")])
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    query = payload.get("query") if isinstance(payload, dict) else None
    variables = payload.get("variables") if isinstance(payload, dict) else None
    operation = payload.get("operationName") if isinstance(payload, dict) else None
    if (not isinstance(query, str) or not isinstance(variables, dict | None)
            or not isinstance(operation, str | None)):
        await _answer(send, 400, [_error(
            "expected a JSON object with a query string (and variables, operationName)",
            "BAD_REQUEST")])
        return None
    return query, variables, operation


async def _send_result(send: Send, result: ExecutionResult) -> None:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [formatted(error) for error in result.errors]
    # A request that could not run at all (invalid) has no data: 400, as GraphQL over HTTP says.
    invalid = result.data is None and all(e.original_error is None for e in result.errors or ())
    status = 400 if invalid and result.errors else 200
    await send_bytes(send, status, orjson.dumps(body))


async def _answer(send: Send, status: int, errors: list[dict[str, Any]],
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_bytes(send, status, orjson.dumps({"data": None, "errors": errors}),
                     headers=headers)
