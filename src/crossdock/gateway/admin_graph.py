"""The gateway admin subgraph: the supergraph served now, its types, a query's plan, and each
subgraph's fetch latency.

It describes the gateway running in the same process, which lends it its app
(:data:`~crossdock.gateway.app.LIVE_APP`): ``crossdock up``, or ``crossdock gateway serve
--admin-graph`` serving this subgraph itself (:mod:`crossdock.gateway.admin_route`). It reads
the supergraph after the last hot reload, the planner serving requests, the fetch histograms of
:mod:`crossdock.gateway.metrics` and their windows of the last minutes. Served where no gateway
runs (``crossdock admin graph serve``), each field answers null with a ``SERVICE_UNAVAILABLE``
error that says so.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLUnionType,
    is_introspection_type,
    is_specified_scalar_type,
    print_schema,
)
from strawberry.federation.schema_directives import Link
from strawberry.scalars import JSON

from crossdock.core.admin_graph.context import context_of
from crossdock.core.admin_graph.serving import AdminSchema
from crossdock.gateway import metrics, window
from crossdock.gateway.app import LIVE_APP
from crossdock.gateway.engine import Gateway as Engine
from crossdock.gateway.errors import RequestError
from crossdock.gateway.explain import plan_query
from crossdock.gateway.plan import plan_json, render

if TYPE_CHECKING:
    from crossdock.gateway.supergraph import Supergraph

_MS = 1000.0


@strawberry.type(description="Fetches that took at most ``leMs`` milliseconds (cumulative).")
class LatencyBucket:
    #: None: no bound (every fetch).
    le_ms: float | None
    count: int


@strawberry.type(description=(
    "A subgraph's fetches by this gateway since its process started (its Prometheus histogram"
    " crossdock_gateway_subgraph_fetch_seconds), or over its last minutes (the same buckets,"
    " kept per minute); quantiles are estimated from the buckets."))
class SubgraphLatency:
    count: int
    #: Fetches that failed (timeout, unreachable, http, invalid), were retried or answered
    #: GraphQL errors.
    errors: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    buckets: list[LatencyBucket]


@strawberry.type(description="A subgraph the supergraph federates.")
class GatewaySubgraph:
    name: str
    url: str

    @strawberry.field(description=(
        "Its fetches since the gateway's process started; with lastMinutes (1 to 60), those"
        " that ended in the last lastMinutes minutes (the minute under way included)."))
    def latency(self, last_minutes: int | None = None) -> SubgraphLatency:
        if last_minutes is not None and not 1 <= last_minutes <= window.MINUTES:
            raise RequestError(f"lastMinutes must be 1 to {window.MINUTES}, not {last_minutes}")
        return _latency(metrics.fetch_latencies(last_minutes).get(self.name))


@strawberry.type(description="A field of a supergraph type, or of an input type.")
class GatewayField:
    name: str
    #: As written in SDL: ``[Review!]!``.
    type: str
    #: Each argument as ``name: Type``.
    arguments: list[str]
    description: str | None
    #: The subgraphs that resolve it (none listed: a type the gateway answers itself).
    subgraphs: list[str]


@strawberry.type(description="A named type of the supergraph's API schema.")
class GatewayType:
    name: str
    #: OBJECT, INTERFACE, UNION, ENUM, INPUT_OBJECT or SCALAR.
    kind: str
    description: str | None
    #: The subgraphs that define it.
    subgraphs: list[str]
    fields: list[GatewayField]
    #: An enum's values.
    values: list[str]
    #: A union's members, or an interface's implementations.
    possible_types: list[str]


@strawberry.type(description="A query's plan: the fetches the gateway would make.")
class QueryPlan:
    #: As ``crossdock gateway plan`` prints it.
    text: str
    #: In the shape of Apollo's query plans in JSON: kind QueryPlan with a node; Sequence and
    #: Parallel with nodes; Flatten with path and node; Fetch with serviceName and operation.
    json: JSON


@strawberry.type(description="The gateway that runs in this process.")
class Gateway:
    engine: strawberry.Private[Engine]

    @strawberry.field(description="Where the supergraph served now came from.")
    def supergraph_source(self) -> str:
        return self.engine.supergraph.source

    @strawberry.field(description="When it began to be served (a hot reload starts anew).")
    def loaded_at(self) -> dt.datetime:
        return self.engine.loaded_at

    @strawberry.field(description="Plans found in the plan cache since the process started.")
    def plan_cache_hits(self) -> int:
        return metrics.PLAN_CACHE.hits

    @strawberry.field(description="Plans made (not in the cache) since the process started.")
    def plan_cache_misses(self) -> int:
        return metrics.PLAN_CACHE.misses

    @strawberry.field(description="The supergraph's subgraphs, by name.")
    def subgraphs(self) -> list[GatewaySubgraph]:
        return [GatewaySubgraph(name=sub.name, url=sub.url)
                for sub in sorted(self.engine.supergraph.subgraphs.values(),
                                  key=lambda sub: sub.name)]

    @strawberry.field(description=(
        "The API schema's named types (what clients may query), by name; nameContains keeps"
        " those whose name has it, whatever the case."))
    def types(self, name_contains: str | None = None) -> list[GatewayType]:
        wanted = (name_contains or "").lower()
        named = self.engine.schema.type_map.values()
        return [_type(self.engine.supergraph, found) for found in sorted(named,
                key=lambda t: t.name)
                if wanted in found.name.lower() and not is_introspection_type(found)
                and not is_specified_scalar_type(found)]

    @strawberry.field(description="The API schema as SDL.")
    def schema(self) -> str:
        return print_schema(self.engine.schema)


def _latency(found: metrics.FetchLatency | None) -> SubgraphLatency:
    if found is None:
        return SubgraphLatency(count=0, errors=0, mean_ms=None, p50_ms=None, p95_ms=None,
                               buckets=[])

    def ms(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * _MS, 3)

    return SubgraphLatency(
        count=found.count, errors=sum(found.errors.values()),
        mean_ms=ms(found.seconds / found.count) if found.count else None,
        p50_ms=ms(found.quantile(0.5)), p95_ms=ms(found.quantile(0.95)),
        buckets=[LatencyBucket(le_ms=None if bound == float("inf") else ms(bound),
                               count=count) for bound, count in found.buckets])


_KINDS = ((GraphQLObjectType, "OBJECT"), (GraphQLInterfaceType, "INTERFACE"),
          (GraphQLUnionType, "UNION"), (GraphQLEnumType, "ENUM"),
          (GraphQLInputObjectType, "INPUT_OBJECT"))


def _type(supergraph: Supergraph, named: GraphQLNamedType) -> GatewayType:
    info = supergraph.types.get(named.name)
    kind = next((name for cls, name in _KINDS if isinstance(named, cls)), "SCALAR")
    fields: list[GatewayField] = []
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        fields = [GatewayField(
            name=name, type=str(field.type), description=field.description,
            arguments=[f"{arg}: {value.type}" for arg, value in field.args.items()],
            subgraphs=_field_graphs(supergraph, named.name, name))
            for name, field in named.fields.items()]
    elif isinstance(named, GraphQLInputObjectType):
        fields = [GatewayField(name=name, type=str(field.type), description=field.description,
                               arguments=[], subgraphs=[])
                  for name, field in named.fields.items()]
    possible: list[str] = []
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType) and info is not None:
        possible = sorted(supergraph.possible_types(named.name))
    return GatewayType(
        name=named.name, kind=kind, description=named.description,
        subgraphs=sorted(info.graphs) if info is not None else [], fields=fields,
        values=list(named.values) if isinstance(named, GraphQLEnumType) else [],
        possible_types=possible)


def _field_graphs(supergraph: Supergraph, type_name: str, field: str) -> list[str]:
    if type_name not in supergraph.types:
        return []
    return sorted(graph for graph, declared in
                  supergraph.field_graphs(type_name, field).items() if not declared.external)


def _engine(info: strawberry.Info) -> Engine:
    return context_of(info).runtime.live.require(LIVE_APP).gateway


@strawberry.type
class Query:
    @strawberry.field(description=(
        "The gateway that runs in this process (crossdock up, or crossdock gateway serve"
        " --admin-graph); null with a SERVICE_UNAVAILABLE error where none does."))
    def gateway(self, info: strawberry.Info) -> Gateway | None:
        return Gateway(engine=_engine(info))

    @strawberry.field(description=(
        "The plan the gateway makes for a query (validated against the API schema; variables"
        " matter only to @skip and @include). A query that does not parse or validate is a"
        " BAD_USER_INPUT error."))
    def query_plan(self, info: strawberry.Info, query: str,
                   operation_name: str | None = None,
                   variables: JSON | None = None) -> QueryPlan | None:
        engine = _engine(info)
        if variables is not None and not isinstance(variables, dict):
            raise RequestError("variables must be a JSON object")
        given: dict[str, Any] = dict(variables or {})
        plan = plan_query(engine.planner, engine.schema, query, operation_name, given)
        return QueryPlan(text=render(plan), json=JSON(plan_json(plan)))


def build_schema() -> AdminSchema:
    """The gateway admin subgraph schema.

    It uses no federation directive, so the library would print its SDL without the ``@link``
    that marks a federation 2 subgraph (composition would then read it as federation 1): the
    link is declared here.
    """
    return AdminSchema(query=Query, federation_version="2.3", schema_directives=[
        Link(url="https://specs.apollo.dev/federation/v2.3", import_=[])])
