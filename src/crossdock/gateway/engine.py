"""The gateway engine: one GraphQL request in, one response out.

Documents are parsed and validated once per text, plans made once per (text, operation name,
the request context's ``plan_key``, @skip/@include values); the per-request work is variable
coercion, the fetches and the shaping of the response.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from crossdock.gateway import metrics
from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.config import GatewayConfig
from crossdock.gateway.context import RequestContext
from crossdock.gateway.errors import PlanningError
from crossdock.gateway.executor import Executor
from crossdock.gateway.fields import condition_variables
from crossdock.gateway.planner import INTROSPECTION_FIELDS, Planner
from crossdock.gateway.planning import OperationPlanner
from crossdock.gateway.response import Shaping

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping

    import httpx

    from crossdock.gateway.plan import Plan
    from crossdock.gateway.supergraph import Supergraph
    from crossdock.gateway.transport import SubgraphClient

#: How many distinct documents and plans are kept.
_CACHE_SIZE = 1024


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """A GraphQL response body and the HTTP status that goes with it."""

    body: dict[str, Any]
    status: int = 200


def request_error(message: str, *, status: int = 400, code: str = "BAD_REQUEST",
                  locations: list[dict[str, int]] | None = None) -> Result:
    """A response for a request that could not be executed at all."""
    error: dict[str, Any] = {"message": message}
    if locations:
        error["locations"] = locations
    error["extensions"] = {"code": code}
    return Result(body={"errors": [error]}, status=status)


@dataclasses.dataclass(slots=True, kw_only=True)
class _Document:
    document: DocumentNode | None
    errors: list[dict[str, Any]]
    conditions: tuple[str, ...] = ()
    operations: dict[str | None, OperationDefinitionNode] = dataclasses.field(
        default_factory=dict)


class _Prepared:
    """A planned operation with the compiled shaping its responses reuse."""

    __slots__ = ("introspection_document", "operation", "plan", "shaping")

    def __init__(self, schema: GraphQLSchema, planning: OperationPlanner, plan: Plan,
                 document: DocumentNode) -> None:
        self.plan = plan
        self.operation = planning.operation
        self.shaping = Shaping(schema, planning.fields.collect)
        self.introspection_document = _introspection_only(document, self.operation) \
            if plan.introspection else None


class Gateway:
    """Serves GraphQL requests for one supergraph."""

    def __init__(self, supergraph: Supergraph, client: SubgraphClient | httpx.AsyncClient,
                 config: GatewayConfig | None = None) -> None:
        self.supergraph = supergraph
        #: The configuration file's settings (timeouts, retries, error inclusion).
        self.config = config or GatewayConfig()
        self.schema: GraphQLSchema = build_api_schema(supergraph)
        self.planner = Planner(supergraph)
        self.executor = Executor(supergraph, client, self.config)
        self._documents: OrderedDict[str, _Document] = OrderedDict()
        self._plans: OrderedDict[tuple[Any, ...], _Prepared] = OrderedDict()

    def document(self, query: str) -> _Document:
        """The parsed and validated document of ``query`` (cached)."""
        found = self._documents.get(query)
        if found is not None:
            return found
        try:
            document = parse(query)
        except GraphQLError as exc:
            found = _Document(document=None, errors=[_error(exc, "GRAPHQL_PARSE_FAILED")])
        else:
            problems = validate(self.schema, document)
            if problems:
                found = _Document(document=None, errors=[
                    _error(e, "GRAPHQL_VALIDATION_FAILED") for e in problems])
            else:
                operations: dict[str | None, OperationDefinitionNode] = {}
                for definition in document.definitions:
                    if isinstance(definition, OperationDefinitionNode):
                        operations[definition.name.value if definition.name else None] = \
                            definition
                found = _Document(document=document, errors=[],
                                  conditions=condition_variables(document),
                                  operations=operations)
        self._documents[query] = found
        if len(self._documents) > _CACHE_SIZE:
            self._documents.popitem(last=False)
        return found

    def prepare(self, query: str, operation_name: str | None, variables: Mapping[str, Any],
                plan_key: tuple[Hashable, ...] = ()) -> _Prepared:
        """The plan for an already validated query.

        The cache key is all a plan depends on: the operation, the variables @skip/@include
        read, and the request context's ``plan_key`` (where an authorization decision goes).
        """
        doc = self.document(query)
        assert doc.document is not None
        key = (query, operation_name, plan_key,
               *(bool(variables.get(v)) for v in doc.conditions))
        found = self._plans.get(key)
        if found is None:
            planning = OperationPlanner(self.planner, doc.document, operation_name, variables)
            found = _Prepared(self.schema, planning, planning.run(), doc.document)
            self._plans[key] = found
            if len(self._plans) > _CACHE_SIZE:
                self._plans.popitem(last=False)
        return found

    async def execute(self, query: str, operation_name: str | None = None,
                      variables: Mapping[str, Any] | None = None, *,
                      allow_mutation: bool = True,
                      context: RequestContext | None = None) -> Result:
        """Run one GraphQL request (counted in the gateway's metrics).

        ``context`` is the request's (the GraphQL app builds it from the ASGI scope); an
        embedder without one gets an empty context: no headers reach the subgraphs.
        """
        started = time.perf_counter()
        doc = self.document(query)
        operation = self.select(doc, operation_name) if doc.document is not None else None
        if isinstance(operation, OperationDefinitionNode):
            kind = operation.operation.value
            if context is None:
                context = RequestContext(request_id="")
            context = context.named(operation.name.value if operation.name else None)
            result = await self._execute(query, operation, variables, context,
                                         allow_mutation=allow_mutation)
        else:
            kind = "unknown"
            result = operation or Result(body={"errors": doc.errors}, status=400)
        metrics.observe_request(kind, time.perf_counter() - started,
                                failed=result.status >= 400 or "errors" in result.body)  # noqa: PLR2004
        return result

    async def _execute(self, query: str, operation: OperationDefinitionNode,
                       variables: Mapping[str, Any] | None, context: RequestContext, *,
                       allow_mutation: bool) -> Result:
        kind = operation.operation.value
        if kind == "subscription":
            return request_error("Subscriptions are not supported by this gateway.",
                                 code="OPERATION_NOT_SUPPORTED")
        if kind == "mutation" and not allow_mutation:
            return request_error("Mutations cannot be sent with GET; use POST.", status=405,
                                 code="METHOD_NOT_ALLOWED")
        coerced = get_variable_values(self.schema, operation.variable_definitions or (),
                                      dict(variables or {}))
        if isinstance(coerced, list):
            return Result(body={"errors": [_error(e, "BAD_USER_INPUT") for e in coerced]},
                          status=400)
        raw_variables = _with_defaults(operation, variables or {})
        try:
            prepared = self.prepare(query, context.operation_name, raw_variables,
                                    context.plan_key)
        except PlanningError as exc:
            # A valid operation the supergraph cannot serve: an execution error, not a
            # malformed request.
            return Result(body={"errors": [{"message": str(exc), "extensions": {
                "code": "QUERY_PLANNING_FAILED"}}], "data": None})
        data, errors = await self.executor.execute(prepared.plan, raw_variables, context)
        if prepared.introspection_document is not None:
            answered = execute_sync(self.schema, prepared.introspection_document,
                                    variable_values=raw_variables)
            data.update(answered.data or {})
            errors.extend(dict(e.formatted) for e in answered.errors or ())
        root = self.schema.get_root_type(operation.operation)
        assert isinstance(root, GraphQLObjectType)
        shaped = prepared.shaping.root(root, operation.selection_set, data, errors)
        body: dict[str, Any] = {"data": shaped}
        if errors:
            body = {"errors": errors, "data": shaped}
        return Result(body=body)

    def select(self, doc: _Document,
               operation_name: str | None) -> OperationDefinitionNode | Result:
        if operation_name:
            found = doc.operations.get(operation_name)
            if found is None:
                return request_error(f'Unknown operation named "{operation_name}".',
                                     code="OPERATION_RESOLUTION_FAILURE")
            return found
        if len(doc.operations) != 1:
            return request_error("Must provide operation name if query contains multiple "
                                 "operations.", code="OPERATION_RESOLUTION_FAILURE")
        return next(iter(doc.operations.values()))


def _error(exc: GraphQLError, code: str) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(exc.formatted)
    formatted["extensions"] = {**dict(formatted.get("extensions") or {}), "code": code}
    return formatted


def _with_defaults(operation: OperationDefinitionNode,
                   variables: Mapping[str, Any]) -> dict[str, Any]:
    from graphql import value_from_ast_untyped

    out = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in out and definition.default_value is not None:
            out[name] = value_from_ast_untyped(definition.default_value)
    return out


def _introspection_only(document: DocumentNode, operation: OperationDefinitionNode) -> DocumentNode:
    """The operation cut down to its introspection root fields, with the fragments."""
    kept = tuple(s for s in operation.selection_set.selections
                 if isinstance(s, FieldNode) and s.name.value in INTROSPECTION_FIELDS)
    op = OperationDefinitionNode(
        operation=operation.operation, name=operation.name,
        variable_definitions=operation.variable_definitions, directives=(),
        selection_set=SelectionSetNode(selections=kept))
    fragments = tuple(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    return DocumentNode(definitions=(op, *fragments))
