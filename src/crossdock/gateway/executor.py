"""The executor: runs a plan's fetches against the subgraphs and merges what they return.

Fetches of a stage start together and each waits only for the fetches it depends on. Entity
fetches read their representations from the merged data at their path (deduplicated, so each
entity is asked for once) and merge the answers back in place. A subgraph that is down,
slow, answers non-JSON or an HTTP error becomes a GraphQL error naming it; the rest of the
response is still returned.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

import orjson

from crossdock.core.logging import get_logger
from crossdock.gateway.plan import ALIAS_PREFIX, Fetch, Path, Plan, Shape
from crossdock.gateway.transport import (
    SubgraphClient,
    SubgraphTimeout,
    SubgraphUnreachable,
    as_subgraph_client,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from crossdock.gateway.supergraph import Supergraph

log = get_logger("crossdock.gateway")

ResponsePath = list[str | int]
#: A response path as a linked list, innermost last (``((None, "a"), 0)`` is ``["a", 0]``):
#: one small tuple per step while walking, a list only when an error needs it.
_Linked = tuple[Any, str | int] | None
#: A plan path with its "|Type,Type" segments split once: (step kind, key or type names).
_Steps = tuple[tuple[int, Any], ...]
_KEY, _EACH, _TYPES = range(3)


class Executor:
    """Runs plans over one pooled HTTP client."""

    def __init__(self, supergraph: Supergraph,
                 client: SubgraphClient | httpx.AsyncClient) -> None:
        self.client = as_subgraph_client(client)
        self.urls = {sub.name: sub.url for sub in supergraph.subgraphs.values()}
        self.abstract = frozenset(name for name, t in supergraph.types.items()
                                  if t.kind in {"interface", "union"})

    async def execute(self, plan: Plan, variables: Mapping[str, Any]) -> tuple[
            dict[str, Any], list[dict[str, Any]]]:
        """The merged data of every fetch, and the errors met."""
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for stage in plan.stages:
            if len(stage) == 1 and not stage[0].depends:
                await self._run(stage[0], data, variables, errors)
                continue
            await self._run_stage(stage, data, variables, errors)
        return data, errors

    async def _run_stage(self, stage: list[Fetch], data: dict[str, Any],
                         variables: Mapping[str, Any], errors: list[dict[str, Any]]) -> None:
        """Start every fetch of the stage; each waits for the fetches it depends on."""
        done = {fetch.id: asyncio.Event() for fetch in stage}

        async def run(fetch: Fetch) -> None:
            try:
                for dep in fetch.depends:
                    event = done.get(dep)
                    if event is not None:
                        await event.wait()
                await self._run(fetch, data, variables, errors)
            finally:
                done[fetch.id].set()

        await asyncio.gather(*(run(fetch) for fetch in stage))

    async def _run(  # noqa: C901, PLR0912
            self, fetch: Fetch, data: dict[str, Any], variables: Mapping[str, Any],
                   errors: list[dict[str, Any]]) -> None:
        fetch_vars = {name: variables[name] for name in fetch.variables if name in variables}
        if fetch.kind != "entities":
            result = await self._post(fetch, fetch_vars, errors)
            if result is None:
                return
            payload = result.get("data")
            if isinstance(payload, dict):
                _merge(data, _unalias(payload) if fetch.renames else payload, self.abstract)
            errors.extend(_subgraph_error(error, fetch.graph, _root_path)
                          for error in result.get("errors") or ())
            return
        targets: list[tuple[dict[str, Any], _Linked]] = []
        _walk(data, _steps(fetch.path), targets)
        representations: list[dict[str, Any]] = []
        index: dict[bytes, int] = {}
        slots: list[tuple[dict[str, Any], int]] = []
        paths: list[_Linked] = []
        for obj, path in targets:
            typename = obj.get("__typename")
            required = fetch.requires.get(typename) if isinstance(typename, str) else None
            if required is None:
                continue
            rep = _representation(obj, required[1])
            if rep is None:
                continue
            rep["__typename"] = required[0]
            # Representations are built in the shape's key order: equal ones dump equal.
            raw = orjson.dumps(rep)
            position = index.get(raw)
            if position is None:
                position = index[raw] = len(representations)
                representations.append(rep)
                paths.append(path)
            slots.append((obj, position))
        if not representations:
            return
        fetch_vars["representations"] = representations
        result = await self._post(fetch, fetch_vars, errors)
        if result is None:
            return
        payload = result.get("data")
        entities = payload.get("_entities") if isinstance(payload, dict) else None
        if fetch.renames:
            entities = _unalias(entities)
        if isinstance(entities, list):
            for obj, position in slots:
                if position < len(entities) and isinstance(entities[position], dict):
                    _merge(obj, entities[position], self.abstract)

        def entity_path(path: list[Any]) -> list[Any] | None:
            if len(path) >= 2 and path[0] == "_entities" and isinstance(  # noqa: PLR2004
                    path[1], int) and path[1] < len(paths):
                return [*_as_list(paths[path[1]]), *path[2:]]
            return None

        errors.extend(_subgraph_error(error, fetch.graph, entity_path)
                      for error in result.get("errors") or ())

    async def _post(self, fetch: Fetch, variables: dict[str, Any],
                    errors: list[dict[str, Any]]) -> dict[str, Any] | None:
        url = self.urls[fetch.graph]
        body = {"query": fetch.query, "variables": variables} if variables else {
            "query": fetch.query}
        try:
            status, content = await self.client.post(url, orjson.dumps(body))
        except SubgraphTimeout:
            errors.append(_failure(fetch, "the request timed out"))
            return None
        except SubgraphUnreachable as exc:
            errors.append(_failure(fetch, f"the subgraph is unreachable ({exc})"))
            return None
        try:
            result = orjson.loads(content)
        except orjson.JSONDecodeError:
            result = None
        if not isinstance(result, dict) or ("data" not in result and "errors" not in result):
            reason = f"HTTP {status}" if status >= 400 else "the response is not GraphQL JSON"  # noqa: PLR2004
            errors.append(_failure(fetch, reason))
            return None
        if status >= 400 and result.get("data") is None and not result.get(  # noqa: PLR2004
                "errors"):
            errors.append(_failure(fetch, f"HTTP {status}"))
            return None
        return result


def _failure(fetch: Fetch, reason: str) -> dict[str, Any]:
    log.warning("subgraph_request_failed", subgraph=fetch.graph, reason=reason)
    return {
        "message": f"Failed to fetch from subgraph '{fetch.graph}': {reason}",
        "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "serviceName": fetch.graph},
    }


def _root_path(path: list[Any]) -> list[Any] | None:
    return path


def _subgraph_error(error: Any, graph: str, map_path: Any) -> dict[str, Any]:
    if not isinstance(error, dict):
        return {"message": str(error), "extensions": {"serviceName": graph}}
    out: dict[str, Any] = {"message": str(error.get("message", "subgraph error"))}
    path = error.get("path")
    if isinstance(path, list):
        mapped = map_path(path)
        if mapped is not None:
            out["path"] = [p.removeprefix(ALIAS_PREFIX) if isinstance(p, str) else p
                           for p in mapped]
    extensions = dict(error.get("extensions") or {})
    extensions.setdefault("serviceName", graph)
    out["extensions"] = extensions
    return out


@functools.lru_cache(maxsize=4096)
def _steps(path: Path) -> _Steps:
    return tuple((_EACH, None) if seg == "@" else (_TYPES, tuple(seg[1:].split(",")))
                 if seg[0] == "|" else (_KEY, seg) for seg in path)


def _walk(node: Any, steps: _Steps, out: list[tuple[dict[str, Any], _Linked]]) -> None:
    """Every object at ``steps`` from ``node`` (lists flattened), with its response path.

    One pass per step over all positions reached so far, in document order (no call per
    list item: entity paths cross several lists).
    """
    frontier: list[tuple[Any, _Linked]] = [(node, None)]
    for kind, arg in steps:
        frontier = _step(frontier, kind, arg)
        if not frontier:
            return
    for value, path in frontier:
        if isinstance(value, dict):
            out.append((value, path))
        elif isinstance(value, list):
            _flatten(value, path, out)


def _step(frontier: list[tuple[Any, _Linked]], kind: int, arg: Any) -> list[tuple[Any, _Linked]]:
    reached: list[tuple[Any, _Linked]] = []
    if kind == _EACH:
        for value, path in frontier:
            if isinstance(value, list):
                for j, item in enumerate(value):
                    if item is not None:
                        reached.append((item, (path, j)))
    elif kind == _TYPES:
        reached = [(value, path) for value, path in frontier
                   if isinstance(value, dict) and value.get("__typename") in arg]
    else:
        for value, path in frontier:
            if isinstance(value, dict):
                found = value.get(arg)
                if found is not None:
                    reached.append((found, (path, arg)))
    return reached


def _flatten(items: list[Any], path: _Linked,
             out: list[tuple[dict[str, Any], _Linked]]) -> None:
    for j, item in enumerate(items):
        if isinstance(item, dict):
            out.append((item, (path, j)))
        elif isinstance(item, list):
            _flatten(item, (path, j), out)


def _as_list(path: _Linked) -> ResponsePath:
    out: ResponsePath = []
    while path is not None:
        path, key = path
        out.append(key)
    out.reverse()
    return out


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


def _merge(target: dict[str, Any], source: dict[str, Any], abstract: frozenset[str]) -> None:
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
