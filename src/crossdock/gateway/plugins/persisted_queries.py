"""``persisted_queries``: serve registered operations by id; optionally nothing else.

Apollo Router's keys, with its meaning: ``enabled``, ``local_manifests`` (the files,
:mod:`.manifests`; crossdock has no GraphOS uplink, so at least one), ``hot_reload``,
``log_unknown``, ``safelist.enabled``, ``safelist.require_id``.

- A request that sends an id (``extensions.persistedQuery.sha256Hash``, as Apollo's clients
  do, or Relay's ``doc_id``) and no query runs the registered body; an id not registered is
  404 ``PERSISTED_QUERY_NOT_IN_LIST``, unless APQ is on, which then looks for it. An id with a
  query is APQ's registration when APQ is on, else 400 ``CANNOT_SEND_PQ_ID_AND_BODY``.
- ``safelist.enabled``: a freeform query runs only when it is a registered body (compared
  normalized, :func:`~.manifests.normalize`); others get 403 ``QUERY_NOT_IN_SAFELIST``. With
  ``require_id`` a freeform query is refused before it is read: 400
  ``PERSISTED_QUERY_ID_REQUIRED``. The safelist needs APQ off (it would let any query in).
- ``log_unknown``: each freeform query not registered is logged (``persisted_query_unknown``,
  with its name and body), served or not.

With ``supergraph.introspection`` on, an operation of introspection fields only passes the
safelist, as in the router. The manifest files are checked every 2 s when a request comes
(a ``stat`` each, nothing between); a changed file is read in a thread and replaces the
operations, one that no longer reads is logged and the last good ones stay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from graphql import FieldNode

from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.gateway.plugins.apq import NO_STORE, apq_enabled
from crossdock.gateway.plugins.base import GraphQLRequest, Operation, Plugin
from crossdock.gateway.plugins.manifests import Manifest, load_manifests
from crossdock.gateway.result import Result, request_error
from crossdock.gateway.values import boolean, supergraph_introspection

if TYPE_CHECKING:
    from collections.abc import Mapping

log = get_logger("crossdock.gateway")

_KEY = "persisted_queries.local_manifests"
#: Seconds between checks of the manifest files.
POLL_INTERVAL = 2.0
_KEPT = 1024
_KEPT_LENGTH = 64 * 1024
_INTROSPECTION = frozenset({"__schema", "__type", "__typename"})
_ID_AND_BODY = request_error(
    "Sending a persisted query ID and a body in the same request is disallowed",
    code="CANNOT_SEND_PQ_ID_AND_BODY")
_ID_REQUIRED = request_error(
    "This endpoint does not allow freeform GraphQL requests; operations must be sent by ID "
    "in the persisted queries GraphQL extension.", code="PERSISTED_QUERY_ID_REQUIRED")
_NOT_IN_SAFELIST = dataclasses.replace(request_error(
    "The operation body was not found in the persisted query safelist", status=403,
    code="QUERY_NOT_IN_SAFELIST"), headers=NO_STORE)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What the section says besides the files."""

    apq: bool = False
    safelist: bool = False
    require_id: bool = False
    log_unknown: bool = False
    hot_reload: bool = True
    introspection: bool = False

    @property
    def checks_freeform(self) -> bool:
        """Whether freeform operations are compared with the manifest (safelist, log)."""
        return (self.safelist or self.log_unknown) and not self.require_id


class PersistedQueries(Plugin):
    """Fills a request's query from its id (see the module's docstring)."""

    name = "persisted_queries"

    def __init__(self, paths: tuple[Path, ...], manifest: Manifest, options: Options) -> None:
        self.paths = paths
        self.manifest = manifest
        self.options = options
        self.poll_interval = POLL_INTERVAL
        self._stamps = _stamps(paths)
        self._next_check = 0.0
        self._reloading = False

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        if self.options.hot_reload and time.monotonic() >= self._next_check:
            await self._reload()
        identifier = request.document_id
        persisted = request.extensions.get("persistedQuery")
        if identifier is None and isinstance(persisted, dict):
            found = persisted.get("sha256Hash")
            identifier = found if isinstance(found, str) else None
        if identifier is None:
            if not self.options.require_id:
                return request
            if self.options.log_unknown and request.query is not None:
                _log_unknown(request.query, request.operation_name)
            return _ID_REQUIRED
        if request.query is not None:
            return request if self.options.apq else _ID_AND_BODY
        body = self.manifest.bodies.get(identifier)
        if body is not None:
            extensions = MappingProxyType({k: v for k, v in request.extensions.items()
                                           if k != "persistedQuery"})
            return dataclasses.replace(request, query=body, document_id=None,
                                       extensions=extensions)
        if self.options.apq and request.document_id is None:
            return request  # an automatic persisted query's hash, perhaps
        return dataclasses.replace(request_error(
            f"Persisted query '{identifier}' not found in the persisted query list",
            status=404, code="PERSISTED_QUERY_NOT_IN_LIST"), headers=NO_STORE)

    async def _reload(self) -> None:
        self._next_check = time.monotonic() + self.poll_interval
        stamps = _stamps(self.paths)
        if stamps == self._stamps or self._reloading:
            return
        self._reloading = True
        try:
            manifest = await asyncio.to_thread(load_manifests, self.paths, _KEY,
                                               self.options.checks_freeform)
        except ConfigError as exc:
            log.warning("persisted_queries_reload_failed", error=str(exc))
        else:
            self.replace(manifest)
            log.info("persisted_queries_reloaded", operations=len(manifest.bodies))
        finally:
            self._stamps = stamps
            self._reloading = False

    def replace(self, manifest: Manifest) -> None:
        """Serves ``manifest``'s operations from now on."""
        self.manifest = manifest


class SafelistedPersistedQueries(PersistedQueries):
    """Persisted queries whose freeform operations are checked against the manifest."""

    def __init__(self, paths: tuple[Path, ...], manifest: Manifest, options: Options) -> None:
        super().__init__(paths, manifest, options)
        self._verdicts: OrderedDict[str, bool] = OrderedDict()

    def replace(self, manifest: Manifest) -> None:
        super().replace(manifest)
        self._verdicts = OrderedDict()

    async def on_operation(self, operation: Operation) -> Operation | Result:
        text = operation.request.query or ""
        allowed = self._verdicts.get(text)
        if allowed is None:
            allowed = self.manifest.allows(text) or (
                self.options.introspection and _introspection_only(operation))
            if len(text) <= _KEPT_LENGTH:
                self._verdicts[text] = allowed
                if len(self._verdicts) > _KEPT:
                    self._verdicts.popitem(last=False)
        if allowed:
            return operation
        if self.options.log_unknown:
            _log_unknown(text, operation.context.operation_name)
        return _NOT_IN_SAFELIST if self.options.safelist else operation


def _introspection_only(operation: Operation) -> bool:
    return all(isinstance(s, FieldNode) and s.name.value in _INTROSPECTION
               for s in operation.definition.selection_set.selections)


def _log_unknown(text: str, operation_name: str | None) -> None:
    log.warning("persisted_query_unknown", operation=operation_name, body=text[:4096])


def _stamps(paths: tuple[Path, ...]) -> tuple[tuple[int, int] | None, ...]:
    found: list[tuple[int, int] | None] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            found.append(None)
        else:
            found.append((stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def build_persisted_queries(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The ``persisted_queries`` section's plugin (None unless ``enabled``)."""
    section = root.get("persisted_queries") or {}
    if not isinstance(section, dict):
        raise ConfigError("persisted_queries: expected a mapping of keys")
    if not boolean(section.get("enabled", False), "persisted_queries.enabled"):
        return None
    unsupported.extend(f"persisted_queries.{k}" for k in section if k not in {
        "enabled", "log_unknown", "safelist", "local_manifests", "hot_reload"})
    safelist = section.get("safelist") or {}
    if not isinstance(safelist, dict):
        raise ConfigError("persisted_queries.safelist: expected a mapping of keys")
    unsupported.extend(f"persisted_queries.safelist.{k}" for k in safelist
                       if k not in {"enabled", "require_id"})
    options = Options(
        apq=apq_enabled(root),
        safelist=boolean(safelist.get("enabled", False), "persisted_queries.safelist.enabled"),
        require_id=boolean(safelist.get("require_id", False),
                           "persisted_queries.safelist.require_id"),
        log_unknown=boolean(section.get("log_unknown", False), "persisted_queries.log_unknown"),
        hot_reload=boolean(section.get("hot_reload", True), "persisted_queries.hot_reload"),
        introspection=bool(supergraph_introspection(root)))
    if options.safelist and options.apq:
        raise ConfigError("persisted_queries.safelist.enabled: APQ would let any operation "
                          "in; set apq.enabled: false")
    if options.require_id and not options.safelist:
        raise ConfigError("persisted_queries.safelist.require_id: needs "
                          "persisted_queries.safelist.enabled: true")
    files = section.get("local_manifests")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{_KEY}: list the manifest files (crossdock reads no manifest "
                          "from GraphOS)")
    paths = tuple(Path(f) for f in files)
    manifest = load_manifests(paths, _KEY, options.checks_freeform)
    if options.checks_freeform:
        return SafelistedPersistedQueries(paths, manifest, options)
    return PersistedQueries(paths, manifest, options)
