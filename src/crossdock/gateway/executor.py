"""The executor: runs a plan's fetches against the subgraphs and merges what they return.

A fetch starts as soon as the fetches of its stage it depends on are done: the last of them
to finish runs it in its own task (when it frees several, the others get a task each), so a
stage costs a task per branch of its dependency graph, not a task and an event per fetch.
Entity fetches read their representations from the merged data at their path
(deduplicated, so each entity is asked for once) and merge the answers back in place. A
subgraph that is down, slow, answers an HTTP error or what is not a GraphQL response becomes
one error for the fetch, in Apollo Router's shape (:mod:`crossdock.gateway.failures`); the
rest of the response is still returned. Timeouts, retries and which subgraph errors clients
read come from the configuration file (:mod:`crossdock.gateway.config`).
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any

import orjson

from crossdock.gateway import failures
from crossdock.gateway.config import GatewayConfig
from crossdock.gateway.context import RequestContext
from crossdock.gateway.errors import SubgraphTimeout, SubgraphUnreachable
from crossdock.gateway.metrics import FetchMetrics
from crossdock.gateway.plan import ALIAS_PREFIX, Fetch, Path, Plan, Shape
from crossdock.gateway.plugins.base import SubgraphAnswer, SubgraphRequest
from crossdock.gateway.transport import SubgraphClient, SubgraphHeaders, as_subgraph_client

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from crossdock.gateway.plugins.pipeline import Pipeline
    from crossdock.gateway.supergraph import Supergraph

#: Answers with this status or above are worth a retry (the subgraph failed, not the query).
_SERVER_ERROR = 500
#: Retries of one fetch at most, whatever the budget holds: a subgraph that is down must not
#: take a request's whole share of the budget in a tight loop.
_MAX_RETRIES = 2
ResponsePath = list[str | int]
#: The context of a fetch posted without one (an embedder calling :meth:`Executor.post`).
_NO_CONTEXT = RequestContext(request_id="")
#: A plan path with its "|Type,Type" segments split once: (step kind, key or type names).
_Steps = tuple[tuple[int, Any], ...]
_KEY, _EACH, _TYPES = range(3)


class Executor:
    """Runs plans over one pooled HTTP client."""

    def __init__(self, supergraph: Supergraph, client: SubgraphClient | httpx.AsyncClient,
                 config: GatewayConfig | None = None, pipeline: Pipeline | None = None) -> None:
        self.client = as_subgraph_client(client)
        #: The plugins' ``on_subgraph`` around the client, when some plugin has one.
        self.call = None if pipeline is None else pipeline.subgraph_call(
            self.send_reporting if pipeline.answer_headers else self.send)
        self.urls = {sub.name: sub.url for sub in supergraph.subgraphs.values()}
        self.metrics = {name: FetchMetrics(name) for name in self.urls}
        config = config or GatewayConfig()
        #: Per subgraph: seconds a request may take, whose errors clients read, and the
        #: retry budget of those that have one, each looked up once here.
        self.timeouts = {name: config.timeout(name) for name in self.urls}
        self.include_errors = {name: config.includes_errors(name) for name in self.urls}
        self.budgets = {name: failures.RetryBudget(policy) for name in self.urls
                        if (policy := config.retry(name)) is not None}
        #: The header rules of the subgraphs that have some: the others send only the
        #: context's ``subgraph_headers``, with no work per request.
        self.header_rules = {name: rules for name in self.urls
                             if (rules := config.header_rules(name)) is not None}
        self.abstract = frozenset(name for name, t in supergraph.types.items()
                                  if t.kind in {"interface", "union"})

    async def execute(self, plan: Plan, variables: Mapping[str, Any],
                      context: RequestContext) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The merged data of every fetch, and the errors met.

        Every subgraph request carries the context's ``subgraph_headers``, and those its
        subgraph's header rules pick from the client's headers.
        """
        run = _Run(self, variables, context)
        for stage in plan.stages:
            run.waiting = {fetch.id: fetch.waits for fetch in stage if fetch.waits}
            starts = [fetch for fetch in stage if not fetch.waits]
            if starts:
                await run.chains(starts)
        return run.data, run.errors

    async def send(self, request: SubgraphRequest) -> SubgraphAnswer:
        """Sends ``request`` through the client (the innermost of the plugins' calls)."""
        payload = request.payload if request.payload is not None \
            else orjson.dumps(request.body)
        status, content = await self.client.post(request.url, payload, headers=request.headers,
                                                 time_limit=request.time_limit)
        return SubgraphAnswer(status=status, body=content)

    async def send_reporting(self, request: SubgraphRequest) -> SubgraphAnswer:
        """:meth:`send`, with the answer's headers (some plugin reads them)."""
        payload = request.payload if request.payload is not None \
            else orjson.dumps(request.body)
        found: list[tuple[str, str]] = []
        status, content = await self.client.post(request.url, payload, headers=request.headers,
                                                 time_limit=request.time_limit,
                                                 answer_headers=found)
        return SubgraphAnswer(status=status, body=content, headers=tuple(found))

    async def post(self, fetch: Fetch, variables: dict[str, Any],
                   errors: list[dict[str, Any]], headers: SubgraphHeaders = (),
                   context: RequestContext | None = None) -> dict[str, Any] | None:
        """The subgraph's GraphQL answer to ``fetch``, or None with an error added.

        A query whose subgraph refused the connection or answered 5xx is sent again, twice
        at most, while the subgraph's retry budget allows (never a mutation: it could run
        twice); one that timed out is not (the subgraph is busy already).
        """
        graph = fetch.graph
        url = self.urls[graph]
        measured = self.metrics[graph]
        body = {"query": fetch.query, "variables": variables} if variables else {
            "query": fetch.query}
        call = self.call
        if call is None:
            payload = orjson.dumps(body)
        else:
            request = SubgraphRequest(
                subgraph=graph, url=url, body=body, headers=headers,
                kind="mutation" if fetch.kind == "mutation" else "query",
                time_limit=self.timeouts[graph],
                context=context if context is not None else _NO_CONTEXT)
        budget = self.budgets.get(graph) if fetch.kind != "mutation" else None
        if budget is not None:
            budget.deposit()
        timeout = self.timeouts[graph]
        retries = _MAX_RETRIES
        while True:
            started = time.perf_counter()
            try:
                if call is None:
                    status, content = await self.client.post(url, payload, headers=headers,
                                                             time_limit=timeout)
                else:
                    answer = await call(request)
                    status, content = answer.status, answer.body
            except SubgraphTimeout:
                measured.observe(time.perf_counter() - started)
                measured.failed("timeout")
                errors.append(failures.http_error(graph, fetch.path, "request timed out"))
                return None
            except SubgraphUnreachable as exc:
                measured.observe(time.perf_counter() - started)
                if budget is not None and retries and budget.withdraw():
                    retries -= 1
                    measured.failed("retried")
                    continue
                measured.failed("unreachable")
                errors.append(failures.http_error(graph, fetch.path,
                                                  f"connection failed: {exc}"))
                return None
            measured.observe(time.perf_counter() - started)
            if status < _SERVER_ERROR or budget is None or not retries \
                    or not budget.withdraw():
                return self.answer(fetch, status, content, errors)
            retries -= 1
            measured.failed("retried")

    def answer(self, fetch: Fetch, status: int, content: bytes,
               errors: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The GraphQL response in a subgraph's answer, or None with an error added.

        An HTTP error status is an error even when the body holds a GraphQL response; that
        response's data and errors are still used.
        """
        graph = fetch.graph
        measured = self.metrics[graph]
        try:
            result = orjson.loads(content)
        except orjson.JSONDecodeError:
            result = None
        if failures.failed_status(status):
            measured.failed("http")
            errors.append(failures.http_error(graph, fetch.path, "", status))
            return result if _is_response(result) else None
        if not isinstance(result, dict):
            measured.failed("invalid")
            errors.append(failures.malformed(graph, fetch.path, "the answer is not JSON"
                                             if result is None else "the answer is not an object"))
            return None
        if not _is_response(result):
            measured.failed("invalid")
            errors.append(failures.malformed(
                graph, fetch.path, "a response without data must contain at least one error"))
            return None
        if result.get("errors"):
            measured.failed("graphql")
        return result

    def subgraph_errors(self, fetch: Fetch, errors: list[Any],
                        map_path: Callable[[list[Any]], list[Any] | None]
                        ) -> list[dict[str, Any]]:
        """A subgraph's own errors as the client gets them (masked unless included)."""
        include = self.include_errors[fetch.graph]
        return [failures.subgraph_error(error, fetch.graph, map_path, include=include)
                for error in errors]


def _is_response(result: Any) -> bool:
    """Whether ``result`` is a GraphQL response: data, or at least one error in a list."""
    if not isinstance(result, dict):
        return False
    errors = result.get("errors")
    if errors is not None and not isinstance(errors, list):
        return False
    return isinstance(result.get("data"), dict) or bool(errors)


class _Run:
    """One execution of a plan: the data merged so far and what is still waiting."""

    __slots__ = ("context", "data", "errors", "executor", "headers", "objects", "ruled",
                 "variables", "waiting")

    def __init__(self, executor: Executor, variables: Mapping[str, Any],
                 context: RequestContext) -> None:
        self.executor = executor
        self.variables = variables
        self.context = context
        self.headers = context.subgraph_headers
        #: Subgraph -> its headers under its rules, computed on its first fetch.
        self.ruled: dict[str, SubgraphHeaders] = {}
        self.data: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        #: Fetch id -> how many fetches of the current stage it still waits for.
        self.waiting: dict[int, int] = {}
        #: Entity fetch id -> the objects it found at its path.
        self.objects: dict[int, list[dict[str, Any]]] = {}

    def headers_for(self, graph: str) -> SubgraphHeaders:
        """The headers of this request's fetches from ``graph``."""
        rules = self.executor.header_rules.get(graph)
        if rules is None:
            return self.headers
        found = self.ruled.get(graph)
        if found is None:
            found = self.ruled[graph] = self.headers + rules.apply(self.context.headers,
                                                                   self.context.claims)
        return found

    async def chains(self, fetches: list[Fetch]) -> None:
        """Runs each of ``fetches`` and what waits for it, concurrently.

        The first runs on in this task and the others get a task each, so a stage makes a
        task per branch of its dependency graph, not one per fetch.
        """
        others = [asyncio.create_task(self.chain(fetch)) for fetch in fetches[1:]]
        try:
            await self.chain(fetches[0])
            for task in others:
                await task
        except BaseException:
            # Cancelled (or failed): the other branches must not run on without a request.
            for task in others:
                task.cancel()
            raise

    async def chain(self, fetch: Fetch) -> None:
        """Runs ``fetch``, then the fetches that were waiting only for it."""
        if fetch.kind == "entities":
            await self.entities(fetch)
        else:
            await self.root(fetch)
        ready = []
        waiting = self.waiting
        for dependent in fetch.dependents:
            left = waiting[dependent.id] = waiting[dependent.id] - 1
            if not left:
                ready.append(dependent)
        if ready:
            await self.chains(ready)

    async def root(self, fetch: Fetch) -> None:
        result = await self.executor.post(fetch, self.fetch_variables(fetch), self.errors,
                                          self.headers_for(fetch.graph), self.context)
        if result is None:
            return
        payload = result.get("data")
        if isinstance(payload, dict):
            _merge(self.data, _unalias(payload) if fetch.renames else payload,
                   self.executor.abstract)
        if result.get("errors"):
            self.errors.extend(self.executor.subgraph_errors(fetch, result["errors"],
                                                             _root_path))

    async def entities(self, fetch: Fetch) -> None:
        objects = self.objects.get(fetch.same_objects_as) \
            if fetch.same_objects_as is not None else None
        if objects is None:
            objects = _walk(self.data, _steps(fetch.path))
        self.objects[fetch.id] = objects
        representations, firsts, slots = _representations(objects, fetch.requires)
        if not representations:
            return
        variables = self.fetch_variables(fetch)
        variables["representations"] = representations
        result = await self.executor.post(fetch, variables, self.errors,
                                          self.headers_for(fetch.graph), self.context)
        if result is None:
            return
        payload = result.get("data")
        entities = payload.get("_entities") if isinstance(payload, dict) else None
        if fetch.renames:
            entities = _unalias(entities)
        if isinstance(entities, list):
            _merge_entities(slots, entities, self.executor.abstract)
        if result.get("errors"):
            self.errors.extend(self.entity_errors(fetch, result["errors"], firsts))

    def entity_errors(self, fetch: Fetch, errors: list[Any],
                      firsts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A subgraph's errors about ``_entities``, their paths mapped to the client's."""
        steps = _steps(fetch.path)

        def entity_path(path: list[Any]) -> list[Any] | None:
            if len(path) >= 2 and path[0] == "_entities" and isinstance(  # noqa: PLR2004
                    path[1], int) and path[1] < len(firsts):
                found = _path_to(self.data, steps, firsts[path[1]])
                if found is not None:
                    return [*found, *path[2:]]
            return None

        return self.executor.subgraph_errors(fetch, errors, entity_path)

    def fetch_variables(self, fetch: Fetch) -> dict[str, Any]:
        variables = self.variables
        return {name: variables[name] for name in fetch.variables if name in variables} \
            if fetch.variables else {}


def _representations(objects: list[dict[str, Any]], requires: dict[str, tuple[str, Shape]]
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                list[tuple[dict[str, Any], int]]]:
    """The distinct representations of ``objects``, the first object of each, and for each
    object that has one, its position among them."""
    representations: list[dict[str, Any]] = []
    firsts: list[dict[str, Any]] = []
    slots: list[tuple[dict[str, Any], int]] = []
    index: dict[bytes, int] = {}
    dumps = orjson.dumps
    for obj in objects:
        typename = obj.get("__typename")
        required = requires.get(typename) if isinstance(typename, str) else None
        if required is None:
            continue
        rep = _representation(obj, required[1])
        if rep is None:
            continue
        rep["__typename"] = required[0]
        # Representations are built in the shape's key order: equal ones dump equal.
        raw = dumps(rep)
        position = index.get(raw)
        if position is None:
            position = index[raw] = len(representations)
            representations.append(rep)
            firsts.append(obj)
        slots.append((obj, position))
    return representations, firsts, slots


def _root_path(path: list[Any]) -> list[Any] | None:
    return path


@functools.lru_cache(maxsize=4096)
def _steps(path: Path) -> _Steps:
    return tuple((_EACH, None) if seg == "@" else (_TYPES, tuple(seg[1:].split(",")))
                 if seg[0] == "|" else (_KEY, seg) for seg in path)


def _walk(node: Any, steps: _Steps) -> list[dict[str, Any]]:
    """Every object at ``steps`` from ``node`` (lists flattened), in document order.

    One pass per step over all positions reached so far (no call per list item: entity
    paths cross several lists), and no response path: those are found again, by
    :func:`_path_to`, only for an error.
    """
    frontier: list[Any] = [node]
    for kind, arg in steps:
        frontier = _step(frontier, kind, arg)
        if not frontier:
            return []
    out: list[dict[str, Any]] = []
    for value in frontier:
        if isinstance(value, dict):
            out.append(value)
        elif isinstance(value, list):
            _flatten(value, out)
    return out


def _step(frontier: list[Any], kind: int, arg: Any) -> list[Any]:
    """Where one step leads from every position in ``frontier``.

    Null list items are left in: every step, and the end of the walk, keeps only what it
    can use. Loops, not comprehensions: on Python 3.11 each comprehension makes a function.
    """
    reached: list[Any] = []
    if kind == _KEY:
        for value in frontier:
            if isinstance(value, dict):
                found = value.get(arg)
                if found is not None:
                    reached.append(found)
    elif kind == _EACH:
        for value in frontier:
            if isinstance(value, list):
                reached.extend(value)
    else:
        reached = [value for value in frontier
                   if isinstance(value, dict) and value.get("__typename") in arg]
    return reached


def _flatten(items: list[Any], out: list[dict[str, Any]]) -> None:
    for item in items:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            _flatten(item, out)


def _path_to(node: Any, steps: _Steps, target: dict[str, Any]) -> ResponsePath | None:
    """The response path of ``target``, one of the objects ``_walk`` finds at ``steps``."""
    if node is target:
        return []
    for key, child, rest in _children(node, steps):
        found = _path_to(child, rest, target)
        if found is not None:
            return found if key is None else [key, *found]
    return None


def _children(node: Any, steps: _Steps) -> list[tuple[str | int | None, Any, _Steps]]:
    """Where the first of ``steps`` leads from ``node``: (response key, value, steps left)."""
    if not steps:  # the walk flattens lists at the end of its path
        return [(j, item, steps) for j, item in enumerate(node)] if isinstance(
            node, list) else []
    (kind, arg), rest = steps[0], steps[1:]
    if kind == _KEY:
        return [(arg, node[arg], rest)] if isinstance(node, dict) and node.get(
            arg) is not None else []
    if kind == _EACH:
        return [(j, item, rest) for j, item in enumerate(node) if item is not None] \
            if isinstance(node, list) else []
    return [(None, node, rest)] if isinstance(node, dict) and node.get(
        "__typename") in arg else []


def _representation(obj: dict[str, Any], shape: Shape) -> dict[str, Any] | None:
    rep: dict[str, Any] = {}
    for key, name, sub in shape:
        if key not in obj:
            return None
        value = obj[key]
        if sub is not None and value is not None:
            value = _extract(value, sub)
        rep[name] = value
    return rep


def _extract(value: Any, shape: Shape) -> Any:
    if isinstance(value, list):
        return [_extract(item, shape) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    if "__typename" in value:
        out["__typename"] = value["__typename"]
    for key, name, sub in shape:
        if key in value:
            inner = value[key]
            out[name] = _extract(inner, sub) if sub is not None and inner is not None else inner
    return out


def _merge_entities(slots: list[tuple[dict[str, Any], int]], entities: list[Any],
                    abstract: frozenset[str]) -> None:
    """Merges each answered entity into the objects it was asked for."""
    count = len(entities)
    for obj, position in slots:
        if position < count:
            entity = entities[position]
            if not isinstance(entity, dict):
                continue
            if obj.keys().isdisjoint(entity):
                obj.update(entity)  # _merge's usual case, without the call
            else:
                _merge(obj, entity, abstract)


def _merge(target: dict[str, Any], source: dict[str, Any], abstract: frozenset[str]) -> None:
    if target.keys().isdisjoint(source):
        # The usual case (an entity fetch brings fields the object lacks): one C call.
        target.update(source)
        return
    for key, value in source.items():
        current = target.get(key)
        if current is None or value is None:
            if key not in target or value is not None:
                target[key] = value
            continue
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value, abstract)
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
            _merge_list(current, value, abstract)
        elif key == "__typename":
            if current in abstract or current == "":
                target[key] = value
        else:
            target[key] = value


def _merge_list(target: list[Any], source: list[Any], abstract: frozenset[str]) -> None:
    for i, value in enumerate(source):
        current = target[i]
        if isinstance(current, dict) and isinstance(value, dict):
            _merge(current, value, abstract)
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
            _merge_list(current, value, abstract)
        else:
            target[i] = value


def _unalias(value: Any) -> Any:
    if isinstance(value, list):
        return [_unalias(item) for item in value]
    if isinstance(value, dict):
        return {(k.removeprefix(ALIAS_PREFIX)): _unalias(v)
                for k, v in value.items()}
    return value
