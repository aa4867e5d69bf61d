"""The gateway engine: one GraphQL request in, one response out.

Documents are parsed and validated once per text, plans made once per (text, operation name,
the request context's ``plan_key``, @skip/@include values); the per-request work is variable
coercion, the fetches and the shaping of the response.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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

from crossdock.core.logging import get_logger
from crossdock.gateway import metrics
from crossdock.gateway.api_schema import build_api_schema
from crossdock.gateway.config import GatewayConfig
from crossdock.gateway.context import RequestContext
from crossdock.gateway.errors import PlanningError, SupergraphError
from crossdock.gateway.executor import Executor
from crossdock.gateway.fields import FieldCollector, condition_variables, operation_of
from crossdock.gateway.planner import INTROSPECTION_FIELDS, Planner
from crossdock.gateway.planning import OperationPlanner
from crossdock.gateway.plugins.apq import not_supported
from crossdock.gateway.plugins.base import GraphQLRequest, Operation
from crossdock.gateway.plugins.pipeline import Pipeline
from crossdock.gateway.response import Shaping
from crossdock.gateway.result import Result, request_error

if TYPE_CHECKING:
    from collections.abc import Hashable, Mapping

    import httpx

    from crossdock.gateway.plan import Plan
    from crossdock.gateway.plugins.base import Plugin
    from crossdock.gateway.supergraph import Supergraph
    from crossdock.gateway.transport import SubgraphClient

log = get_logger("crossdock.gateway")

#: How many distinct documents and plans are kept.
_CACHE_SIZE = 1024
#: What a client gets when a plugin or the gateway itself fails unexpectedly (logged whole).
_INTERNAL = Result(body={"errors": [{"message": "Internal server error",
                                     "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]},
                   status=500)

#: The answer to ``__schema`` or ``__type`` unless ``supergraph.introspection`` is true.
_INTROSPECTION_DISABLED = request_error("introspection has been disabled",
                                        code="INTROSPECTION_DISABLED")


@dataclasses.dataclass(slots=True, kw_only=True)
class _Document:
    document: DocumentNode | None
    errors: list[dict[str, Any]]
    conditions: tuple[str, ...] = ()
    operations: dict[str | None, OperationDefinitionNode] = dataclasses.field(
        default_factory=dict)


class _Prepared:
    """A planned operation with the compiled shaping its responses reuse.

    When a plugin planned a changed document (fields removed), ``original`` is the client's:
    responses are shaped to it, so what was removed answers null, as Apollo Router does.
    """

    __slots__ = ("introspection_document", "operation", "plan", "shaping")

    def __init__(self, schema: GraphQLSchema, planning: OperationPlanner, plan: Plan,
                 document: DocumentNode, original: DocumentNode | None = None) -> None:
        self.plan = plan
        self.operation = planning.operation
        fields = planning.fields
        if original is not None:
            name = self.operation.name
            self.operation = operation_of(original, name.value if name else None)
            fields = FieldCollector(original, fields.variables, types=fields.types,
                                    possible=fields.possible)
        self.shaping = Shaping(schema, fields.collect)
        self.introspection_document = _introspection_only(original or document,
                                                          self.operation) \
            if plan.introspection else None


class Gateway:
    """Serves GraphQL requests for one supergraph."""

    def __init__(self, supergraph: Supergraph, client: SubgraphClient | httpx.AsyncClient,
                 config: GatewayConfig | None = None) -> None:
        self.supergraph = supergraph
        #: When this supergraph (and configuration) began to be served: a hot reload makes a
        #: new gateway.
        self.loaded_at = dt.datetime.now(dt.UTC)
        #: The configuration file's settings (timeouts, retries, error inclusion).
        self.config = config or GatewayConfig()
        self.schema: GraphQLSchema = build_api_schema(supergraph)
        self.planner = Planner(supergraph)
        #: The configured plugins by hook (:mod:`crossdock.gateway.plugins`), each bound to
        #: this supergraph (one with nothing to do here is left out).
        self.pipeline = Pipeline(_bound(supergraph, self.config.plugins))
        self.executor = Executor(supergraph, client, self.config, self.pipeline)
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
                plan_key: tuple[Hashable, ...] = (),
                document: DocumentNode | None = None) -> _Prepared:
        """The plan for an already validated query.

        The cache key is all a plan depends on: the operation, the variables @skip/@include
        read, and the request context's ``plan_key`` (where an authorization decision goes).
        ``document`` is the one a plugin put in place of the query's (planned instead of it);
        ``plan_key`` must then tell it apart.
        """
        doc = self.document(query)
        assert doc.document is not None
        key = (query, operation_name, plan_key,
               *(bool(variables.get(v)) for v in doc.conditions))
        found = self._plans.get(key)
        if found is not None:
            metrics.PLAN_CACHE.hits += 1
        else:
            metrics.PLAN_CACHE.misses += 1
            planned = document if document is not None else doc.document
            planning = OperationPlanner(self.planner, planned, operation_name, variables)
            found = _Prepared(self.schema, planning, planning.run(), planned,
                              doc.document if document is not None else None)
            self._plans[key] = found
            if len(self._plans) > _CACHE_SIZE:
                self._plans.popitem(last=False)
        return found

    async def execute(self, query: str, operation_name: str | None = None,
                      variables: Mapping[str, Any] | None = None, *,
                      allow_mutation: bool = True,
                      context: RequestContext | None = None) -> Result:
        """Run one GraphQL request: :meth:`handle` for an embedder without a request value.

        Without ``context`` the request has an empty one: no headers reach the subgraphs.
        """
        return await self.handle(GraphQLRequest(
            query=query, operation_name=operation_name, variables=variables,
            method="POST" if allow_mutation else "GET",
            context=context or RequestContext(request_id="")))

    async def handle(self, request: GraphQLRequest) -> Result:
        """Run one GraphQL request through the plugins (counted in the gateway's metrics).

        An exception out of a plugin or the gateway is logged whole and answered with 500
        and ``INTERNAL_SERVER_ERROR``: the client never reads a traceback. The plugins'
        ``on_response`` still see that answer, and the request as the hooks that ran left it
        (the last ``on_operation``'s when the request got that far).
        """
        started = time.perf_counter()
        pipeline = self.pipeline
        kind = "unknown"
        try:
            if pipeline.requests:
                request, found = await pipeline.request(request)
                if found is None:
                    result, kind, request = await self._run(request)
                else:
                    result = found
            else:
                result, kind, request = await self._run(request)
        except Exception:
            log.exception("request_failed", operation=request.context.operation_name)
            result = _INTERNAL
        if pipeline.responses:
            try:
                result = await pipeline.response(request, result)
            except Exception:
                log.exception("request_failed", operation=request.context.operation_name)
                result = _INTERNAL
        metrics.observe_request(kind, time.perf_counter() - started,
                                failed=result.status >= 400 or "errors" in result.body)  # noqa: PLR2004
        return result

    async def _run(self, request: GraphQLRequest) -> tuple[Result, str, GraphQLRequest]:
        """The result of ``request``, its operation's type (``unknown`` when none) and the
        request as the ``on_operation`` hooks left it (the one ``on_response`` sees)."""
        if request.query is None:
            if "persistedQuery" in request.extensions or request.document_id is not None:
                # No plugin knew the id: persisted queries are off.
                return not_supported(), "unknown", request
            return request_error("The request has no query string."), "unknown", request
        doc = self.document(request.query)
        if doc.document is None:
            return Result(body={"errors": doc.errors}, status=400), "unknown", request
        definition = self.select(doc, request.operation_name)
        if isinstance(definition, Result):
            return definition, "unknown", request
        context = request.context.named(definition.name.value if definition.name else None)
        if context is not request.context:
            request = request.with_context(context)
        result, request = await self._execute(request, doc.document, definition)
        return result, definition.operation.value, request

    async def _execute(self, request: GraphQLRequest, document: DocumentNode,
                       definition: OperationDefinitionNode) -> tuple[Result, GraphQLRequest]:
        operation = self._operation(request, document, definition)
        if isinstance(operation, Result):
            return operation, request
        pipeline = self.pipeline
        if pipeline.operations:
            found = await pipeline.operation(operation)
            if isinstance(found, Result):
                return found, request
            operation = found
        context = operation.context
        try:
            prepared = self.prepare(
                request.query or "", context.operation_name, operation.variables,
                context.plan_key,
                operation.document if operation.document is not document else None)
        except PlanningError as exc:
            # A valid operation the supergraph cannot serve: an execution error, not a
            # malformed request.
            return Result(body={"errors": [{"message": str(exc), "extensions": {
                "code": "QUERY_PLANNING_FAILED"}}], "data": None}), operation.request
        if prepared.introspection_document is not None and not self.config.introspection:
            return _INTROSPECTION_DISABLED, operation.request
        if pipeline.plans:
            ended = await pipeline.plan(operation, prepared.plan)
            if ended is not None:
                return ended, operation.request
        return await self._respond(operation, prepared), operation.request

    def _operation(self, request: GraphQLRequest, document: DocumentNode,
                   definition: OperationDefinitionNode) -> Operation | Result:
        """The operation ``request`` runs, or why it cannot run."""
        kind = definition.operation.value
        if kind == "subscription":
            return request_error("Subscriptions are not supported by this gateway.",
                                 code="OPERATION_NOT_SUPPORTED")
        if kind == "mutation" and request.method == "GET":
            return request_error("Mutations cannot be sent with GET; use POST.", status=405,
                                 code="METHOD_NOT_ALLOWED")
        variables = request.variables or {}
        coerced = get_variable_values(self.schema, definition.variable_definitions or (),
                                      dict(variables))
        if isinstance(coerced, list):
            return Result(body={"errors": [_error(e, "BAD_USER_INPUT") for e in coerced]},
                          status=400)
        return Operation(request=request, document=document, definition=definition,
                         schema=self.schema, supergraph=self.supergraph,
                         variables=_with_defaults(definition, variables))

    async def _respond(self, operation: Operation, prepared: _Prepared) -> Result:
        """Runs the plan and shapes the response to the operation."""
        raw_variables = operation.variables
        data, errors = await self.executor.execute(prepared.plan, raw_variables,
                                                   operation.context)
        if prepared.introspection_document is not None:
            answered = execute_sync(self.schema, prepared.introspection_document,
                                    variable_values=dict(raw_variables))
            data.update(answered.data or {})
            errors.extend(dict(e.formatted) for e in answered.errors or ())
        if operation.errors:
            errors[:0] = operation.errors
        definition = prepared.operation
        root = self.schema.get_root_type(definition.operation)
        assert isinstance(root, GraphQLObjectType)
        shaped = prepared.shaping.root(root, definition.selection_set, data, errors)
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


def _bound(supergraph: Supergraph, plugins: tuple[Plugin, ...]) -> tuple[Plugin, ...]:
    """``plugins`` bound to ``supergraph``; refuses it when a SECURITY feature it links is
    answered for by none of them (its fields would be served to anyone)."""
    unguarded = supergraph.security.difference(*(p.guards for p in plugins))
    if unguarded:
        raise SupergraphError(
            f"{supergraph.source}: refused: the supergraph links SECURITY features this "
            f"gateway does not enforce ({', '.join(sorted(unguarded))}); serving it would "
            "answer the fields they guard to anyone, so it is not loaded (the authorization "
            "section of the configuration enforces them unless it turns them off)")
    return tuple(bound for plugin in plugins if (bound := plugin.bind(supergraph)) is not None)


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
