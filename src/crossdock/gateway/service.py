"""How the gateway service plugs into the core."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from crossdock.core.logging import get_logger
from crossdock.core.services import Listener, Served, Service

if TYPE_CHECKING:
    import typer

    from crossdock.core.runtime import Runtime

log = get_logger("crossdock.gateway")


@contextlib.asynccontextmanager
async def up(runtime: Runtime) -> AsyncIterator[list[Listener]]:
    """Serve the gateway on its port; with ``--demo`` and no supergraph, two demo subgraphs.

    A supergraph file is reloaded when it changes, as under ``crossdock gateway serve``. The
    app is lent to the gateway's admin subgraph while it is served (core/live.py).
    """
    from crossdock.gateway import demo
    from crossdock.gateway.app import LIVE_APP, gateway_config, serving
    from crossdock.gateway.settings import GatewaySettings
    from crossdock.gateway.supergraph import Supergraph, load_supergraph

    settings = GatewaySettings.from_env()
    listeners: list[Listener] = []
    if settings.supergraph is not None:
        supergraph = load_supergraph(settings.supergraph)
    elif runtime.demo or runtime.admin_graph is not None:
        urls: dict[str, str] = {}
        if runtime.demo:
            ports = {"products": settings.demo_products_port,
                     "reviews": settings.demo_reviews_port}
            urls = {name: f"http://{runtime.host}:{port}/graphql" for name, port in ports.items()}
            runtime.subgraphs.update(urls)
            listeners.extend(Listener(name=f"demo-{name}", app=demo.DemoSubgraph(name),
                                      port=port, paths=("/graphql",))
                             for name, port in ports.items())
            runtime.demo_notes.append(demo_note)
        if runtime.admin_graph is None:
            supergraph = Supergraph(demo.supergraph(urls), source="demo supergraph")
        else:
            # The admin subgraphs' supergraph (with the demo's), and the configuration that
            # propagates the caller's token to them, unless a configuration file is set.
            supergraph = Supergraph(runtime.admin_graph.text(urls), source="admin supergraph")
            if settings.config is None:
                settings = dataclasses.replace(settings,
                                               config=runtime.admin_graph.gateway_config())
    else:
        log.info("gateway_not_started",
                 reason="no supergraph: set CROSSDOCK_GATEWAY_SUPERGRAPH or use --demo")
        yield []
        return
    config = gateway_config(settings)
    if config.introspection is None:
        # A local platform for developers: GraphiQL needs the schema, so introspection is on
        # unless the configuration file says otherwise (gateway serve keeps it off).
        config = dataclasses.replace(config, introspection=True)
    # ``crossdock up`` puts its own /healthz, /readyz and /metrics in front of each listener.
    async with serving(settings, supergraph, ops=False, config=config) as app:
        listeners.insert(0, Listener(name="gateway", app=app, port=settings.port,
                                     paths=("/graphql",)))
        with runtime.live.lend(LIVE_APP, app):
            yield listeners


#: A query that the demo supergraph plans across both demo subgraphs.
DEMO_QUERY = "{ topProducts { name price reviews { body stars } } }"


def demo_note(served: Served) -> list[str]:
    """The demo supergraph's gateway URL and a query that federates both demo subgraphs."""
    import shlex

    import orjson

    url = f"{served.urls['gateway']}/graphql"
    body = orjson.dumps({"query": DEMO_QUERY}).decode()
    return [
        "gateway demo: products and reviews subgraphs federated at " + url,
        "  query it (topProducts from products, reviews from reviews):",
        (f"  curl -sS {shlex.quote(url)} -H 'Content-Type: application/json' "
         f"--data-binary {shlex.quote(body)}"),
    ]


def _admin_graph() -> Any:
    # Imported on use: strawberry is the admin extra's.
    from crossdock.gateway.admin_graph import build_schema

    return build_schema()


def _cli() -> typer.Typer:
    # Imported on use: every ``crossdock`` command loads this module to discover services.
    from crossdock.gateway.cli import build_cli

    return build_cli()


service = Service(
    name="gateway",
    description="Apollo Federation v2 gateway: plans and executes queries over subgraphs.",
    cli=_cli,
    up=up,
    up_order=90,
    admin_graph=_admin_graph,
)
