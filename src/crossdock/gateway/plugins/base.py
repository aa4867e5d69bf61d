"""The plugin API: what a plugin sees at each step of a request, and the hooks it overrides.

A plugin subclasses :class:`Plugin` and overrides the hooks it needs; the others are never
called (the :class:`~crossdock.gateway.plugins.pipeline.Pipeline` keeps, per hook, only the
plugins that override it, so a hook nobody uses costs nothing). The steps, in order:

1. ``on_request(request)``: the :class:`GraphQLRequest` before its document is parsed (its
   query, or only a persisted query's id; variables, extensions, HTTP method, context);
   gives a changed request, or a :class:`Result`.
2. ``on_operation(operation)``: the parsed, validated :class:`Operation`, before planning;
   gives a changed operation, or a Result.
3. ``on_plan(operation, plan)``: the plan chosen (cached per ``plan_key``); gives None, or a
   Result.
4. ``on_subgraph(request, call)``: around each attempt at a subgraph fetch
   (:class:`SubgraphRequest`); ``await call(request)`` sends it on; gives the
   :class:`SubgraphAnswer`. The answer's ``headers`` are filled only when some plugin sets
   :attr:`Plugin.reads_answer_headers` (the subgraph client then reports them; otherwise it
   does no work for them), and a plugin may send bytes of its own making (a compressed body)
   as the request's ``payload``.
5. ``on_response(request, result)``: the Result before it is sent; gives a Result. The
   request is the one the last ``on_operation`` left (its context included), so a value an
   earlier hook put in the context's ``extensions`` is there.

A plugin may also bound the request body (:attr:`Plugin.max_request_bytes`), which the HTTP
server reads before any hook runs.

Around them: ``bind(supergraph)`` once per gateway made (at start and at each hot reload of
the supergraph) gives the plugin to use with that supergraph, or None when it has nothing to
do there (authorization on a supergraph without ``@authenticated``: then no request pays for
it); :attr:`Plugin.guards` names the supergraph's ``for: SECURITY`` features a plugin answers
for, and a gateway refuses a supergraph with a SECURITY feature no plugin answers for (fail
closed). ``astart()`` runs once before the first request is served (a JWKS fetch), ``aclose()``
at shutdown.

Returning a :class:`Result` from the first three ends the request with it (an auth error, a
limit, a persisted query not found): later plugins and the subgraphs are not reached, but
every plugin's ``on_response`` still sees it, with the request as the hooks before it left
it (the last ``on_operation``'s, once the request got that far); so does the 500 answered
when a hook or the gateway raised. Values are immutable: a hook that learns something returns
a new value (``dataclasses.replace``, or
:meth:`GraphQLRequest.with_context`), so no request sees another's state; per-request values
a plugin keeps for its later hooks go in the context's ``extensions`` under its
:attr:`Plugin.name`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode

    from crossdock.gateway.context import RequestContext
    from crossdock.gateway.plan import Plan
    from crossdock.gateway.result import Result
    from crossdock.gateway.supergraph import Supergraph
    from crossdock.gateway.transport import SubgraphHeaders

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GraphQLRequest:
    """One GraphQL request as the client sent it (GET parameters or a POST body)."""

    #: The document's text; None when the client sent only a persisted query's id, which a
    #: persisted-query plugin turns into the text.
    query: str | None
    operation_name: str | None = None
    variables: Mapping[str, Any] | None = None
    #: The request's ``extensions`` (``persistedQuery`` lives there).
    extensions: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _EMPTY)
    #: A persisted document's id sent as Relay sends it (the body's ``doc_id``), which a
    #: persisted-query plugin turns into the text as it does ``persistedQuery``'s.
    document_id: str | None = None
    #: ``GET`` or ``POST``: a GET request may not run a mutation.
    method: str = "POST"
    context: RequestContext

    def with_context(self, context: RequestContext) -> GraphQLRequest:
        """This request with ``context`` in place of its own."""
        return dataclasses.replace(self, context=context)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """The operation a request runs, parsed and validated against the API schema.

    A plugin may replace ``document``/``definition`` (authorization removes the fields a
    caller may not see): the plan is made from them, and cached under the context's
    ``plan_key``, which such a plugin must set to what its change depends on. ``errors`` are
    added to the response (e.g. one per removed field, at its path).
    """

    request: GraphQLRequest
    document: DocumentNode
    definition: OperationDefinitionNode
    #: The API schema (what clients see) and the supergraph it comes from (with the
    #: directives, such as ``@authenticated`` or ``@cost``, that the API schema leaves out).
    schema: GraphQLSchema
    supergraph: Supergraph
    #: The variables as coerced for the operation, defaults applied.
    variables: Mapping[str, Any] = dataclasses.field(default_factory=lambda: _EMPTY)
    errors: tuple[dict[str, Any], ...] = ()

    @property
    def context(self) -> RequestContext:
        """The request's context."""
        return self.request.context

    @property
    def kind(self) -> str:
        """``query``, ``mutation`` or ``subscription``."""
        return self.definition.operation.value

    def with_context(self, context: RequestContext) -> Operation:
        """This operation with ``context`` in place of its request's."""
        return dataclasses.replace(self, request=self.request.with_context(context))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubgraphRequest:
    """One attempt at one subgraph fetch."""

    subgraph: str
    url: str
    #: The GraphQL request body (``query``, ``variables``), serialized after the plugins.
    body: Mapping[str, Any]
    #: The bytes sent instead of ``body`` serialized, when a plugin made them (compressed).
    payload: bytes | None = None
    headers: SubgraphHeaders = ()
    #: ``query`` or ``mutation`` (an entity fetch is a query).
    kind: str = "query"
    #: Seconds the attempt may take.
    time_limit: float | None = None
    context: RequestContext


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubgraphAnswer:
    """A subgraph's HTTP answer to one attempt."""

    status: int
    body: bytes
    #: The answer's headers, lower-case names, repeats kept (empty unless a plugin sets
    #: :attr:`Plugin.reads_answer_headers`).
    headers: tuple[tuple[str, str], ...] = ()


#: Sends a subgraph request on: to the next plugin's ``on_subgraph``, then to the subgraph.
SubgraphCall = Callable[[SubgraphRequest], Awaitable[SubgraphAnswer]]


class Plugin:
    """A gateway plugin: override the hooks you need (see the module's docstring)."""

    #: The plugin's name: its key in the configuration and in the context's ``extensions``.
    name: ClassVar[str] = "plugin"
    #: Whether its ``on_subgraph`` reads :attr:`SubgraphAnswer.headers` (they are only
    #: collected when some plugin does).
    reads_answer_headers: ClassVar[bool] = False
    #: The most bytes a request body may have, when the plugin bounds it (``limits``): the
    #: server answers 413 past the smallest bound any plugin sets (else past its own).
    max_request_bytes: int | None = None
    #: The names of the supergraph's ``for: SECURITY`` features (``authenticated``,
    #: ``requiresScopes``, ``policy``) this plugin enforces, or was told to leave open.
    guards: frozenset[str] = frozenset()

    def bind(self, supergraph: Supergraph) -> Plugin | None:
        """The plugin to run with ``supergraph`` (this one), or None when it has nothing to
        do there; called once each time a gateway is made for a supergraph."""
        del supergraph
        return self

    async def astart(self) -> None:
        """Gets ready before the first request is served (fetches what it needs)."""

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        """The request as it arrived, before its document is parsed."""
        return request

    async def on_operation(self, operation: Operation) -> Operation | Result:
        """The parsed, validated operation, before it is planned."""
        return operation

    async def on_plan(self, operation: Operation, plan: Plan) -> Result | None:
        """The plan chosen for the operation (from the cache or new)."""
        del operation, plan
        return None

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        """Around each subgraph attempt: ``await call(request)`` sends it on. Raise
        :class:`~crossdock.gateway.errors.SubgraphUnreachable` to fail it without sending."""
        return await call(request)

    async def on_response(self, request: GraphQLRequest, result: Result) -> Result:
        """The response, before it is sent (also one that a hook ended the request with)."""
        del request
        return result

    async def aclose(self) -> None:
        """Releases what the plugin holds (a reload or shutdown replaced it)."""
