"""The gateway's ASGI app, composed in one place for every way it is served.

``crossdock gateway serve``, ``crossdock up`` and the tests all get the app from
:func:`serving`: the GraphQL app (:mod:`crossdock.gateway.server`) inside its wrappers,
outermost first:

1. ``OpsApp``: ``/healthz``, ``/readyz``, ``/metrics`` (left out under ``crossdock up``, which
   puts the platform's own in front of every listener);
2. ``ResponseCompression``: brotli or gzip for large responses, only when the file sets
   ``traffic_shaping.router.compression``;
3. ``CorsGuard``: CORS, only when the configuration file has a ``cors`` key (closed by
   default: no wrapper, no CORS header);
4. ``CsrfGuard``: CSRF prevention on the GraphQL paths (left out when the file's
   ``csrf.unsafe_disabled`` is true);
5. ``GraphQLApp``: GraphQL over HTTP, GraphiQL, the request context; it holds the
   :class:`Gateway`, which a hot reload replaces whole.

A feature that sees whole HTTP requests (CORS above, limits on the body, a response cache) is a
wrapper added here; one that needs the operation, the plan or the subgraph calls is a plugin
on the gateway's hooks (docs/design/gateway.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from typing import TYPE_CHECKING

from crossdock.core.asgi import OpsApp
from crossdock.core.live import LiveKey
from crossdock.core.logging import get_logger
from crossdock.gateway.config import GatewayConfig, load_config, parse_config
from crossdock.gateway.cors import CorsGuard
from crossdock.gateway.csrf import CsrfGuard
from crossdock.gateway.engine import Gateway
from crossdock.gateway.http1 import Http1SubgraphClient
from crossdock.gateway.reload import watch_config, watch_supergraph
from crossdock.gateway.response_compression import ResponseCompression
from crossdock.gateway.server import GRAPHQL_PATHS, GraphQLApp
from crossdock.gateway.supergraph import load_supergraph

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from crossdock.core.asgi import ASGIApp, Receive, Scope, Send
    from crossdock.gateway.settings import GatewaySettings
    from crossdock.gateway.supergraph import Supergraph
    from crossdock.gateway.transport import SubgraphClient

log = get_logger("crossdock.gateway")


@contextlib.asynccontextmanager
async def make_client(settings: GatewaySettings) -> AsyncIterator[SubgraphClient]:
    """The pooled keep-alive client the gateway reaches subgraphs with."""
    client = Http1SubgraphClient(timeout=settings.subgraph_timeout,
                                 limit=settings.max_connections)
    try:
        yield client
    finally:
        await client.aclose()


#: The app ``crossdock up`` or ``gateway serve --admin-graph`` serves, lent to the gateway's
#: admin subgraph (core/live.py).
LIVE_APP: LiveKey[GatewayApp] = LiveKey(
    "gateway", "no gateway runs in this process: the gateway admin subgraph describes the "
    "gateway of the process that serves it (crossdock up, or crossdock gateway serve "
    "--admin-graph), not one elsewhere")


class GatewayApp:
    """The gateway's GraphQL app inside its wrappers (see the module's docstring)."""

    __slots__ = ("app", "graphql", "ops")

    def __init__(self, gateway: Gateway, settings: GatewaySettings, *, ops: bool = True) -> None:
        self.graphql = GraphQLApp(gateway, graphiql=settings.graphiql)
        self.ops = ops
        self.app = self._wrapped(gateway)

    def _wrapped(self, gateway: Gateway) -> ASGIApp:
        """The GraphQL app inside the wrappers ``gateway``'s configuration asks for."""
        app: ASGIApp = self.graphql
        csrf = gateway.config.csrf
        if not csrf.unsafe_disabled:
            app = CsrfGuard(app, paths=GRAPHQL_PATHS, required_headers=csrf.required_headers)
        if gateway.config.cors is not None:
            app = CorsGuard(app, gateway.config.cors)
        if gateway.config.compress_responses:
            app = ResponseCompression(app)
        return OpsApp(app) if self.ops else app

    @property
    def gateway(self) -> Gateway:
        """The gateway serving now (a hot reload replaces it)."""
        return self.graphql.gateway

    @gateway.setter
    def gateway(self, gateway: Gateway) -> None:
        """Serve ``gateway`` from now on; its configuration may change the wrappers."""
        config = self.graphql.gateway.config
        self.graphql.gateway = gateway
        if gateway.config is not config:
            self.app = self._wrapped(gateway)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def gateway_config(settings: GatewaySettings) -> GatewayConfig:
    """The configuration file of ``settings`` (defaults without one); its unsupported keys
    are logged, one line each."""
    config = load_config(settings.config) if settings.config is not None else parse_config({})
    for key in config.unsupported:
        log.warning("config_key_unsupported", key=key, file=str(settings.config))
    return dataclasses.replace(config, default_timeout=settings.subgraph_timeout)


@contextlib.asynccontextmanager
async def serving(settings: GatewaySettings, supergraph: Supergraph | None = None, *,
                  client: SubgraphClient | httpx.AsyncClient | None = None,
                  ops: bool = True, config: GatewayConfig | None = None,
                  ) -> AsyncIterator[GatewayApp]:
    """The gateway app, its subgraph client and its hot reload, for as long as the block runs.

    ``supergraph`` defaults to the file in ``settings.supergraph``; when there is that file
    and ``settings.reload_interval`` is not 0, a change to it replaces the gateway; so does a
    change to ``settings.config`` (with the new configuration and plugins). Without
    ``client``, the pooled HTTP/1.1 client is made from the settings and closed at the end.
    ``config`` defaults to the file in ``settings.config`` (:func:`gateway_config`); its
    plugins are closed when the block ends.
    """
    async with contextlib.AsyncExitStack() as stack:
        if supergraph is None:
            if settings.supergraph is None:
                raise ValueError("serving() needs a supergraph or settings.supergraph")
            supergraph = load_supergraph(settings.supergraph)
        if config is None:
            config = gateway_config(settings)
        if client is None:
            client = await stack.enter_async_context(make_client(settings))
        app = GatewayApp(Gateway(supergraph, client, config), settings, ops=ops)
        # Plugins hold connections (a Redis client, a JWKS poller) and queued spans: closed
        # once, when serving ends, through the pipeline serving then (a reload makes a new
        # pipeline of the same plugins; telemetry exports what it still holds).
        stack.push_async_callback(_close_plugins, app)
        await app.gateway.pipeline.astart()
        if settings.supergraph is not None and settings.reload_interval > 0:
            watcher = asyncio.create_task(watch_supergraph(
                settings.supergraph, app.graphql, client, interval=settings.reload_interval))
            stack.push_async_callback(_stop, watcher)
        if settings.config is not None and settings.reload_interval > 0:
            watcher = asyncio.create_task(watch_config(
                settings.config, app, client, functools.partial(gateway_config, settings),
                interval=settings.reload_interval))
            stack.push_async_callback(_stop, watcher)
        yield app


async def _close_plugins(app: GatewayApp) -> None:
    await app.gateway.pipeline.aclose()


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
