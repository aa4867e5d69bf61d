"""Hot reload: a changed supergraph file replaces the gateway's schema and plans.

The file is polled (no inotify dependency, works on every filesystem and in containers). A
file that does not parse as a supergraph is logged and ignored: the gateway keeps serving
the last good one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crossdock.core.logging import get_logger
from crossdock.gateway.engine import Gateway
from crossdock.gateway.errors import GatewayError
from crossdock.gateway.server import GraphQLApp
from crossdock.gateway.supergraph import load_supergraph

if TYPE_CHECKING:
    import httpx

    from crossdock.gateway.transport import SubgraphClient

log = get_logger("crossdock.gateway")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def watch_supergraph(path: Path, app: GraphQLApp,
                     client: SubgraphClient | httpx.AsyncClient, *,
                     interval: float = 2.0) -> Coroutine[Any, Any, None]:
    """Swap ``app``'s gateway whenever ``path`` changes from now on, until cancelled."""
    return _watch(path, app, client, interval, _stamp(path))


async def _watch(path: Path, app: GraphQLApp, client: SubgraphClient | httpx.AsyncClient,
                 interval: float,
                 seen: tuple[int, int] | None) -> None:
    while True:
        await asyncio.sleep(interval)
        stamp = _stamp(path)
        if stamp is None or stamp == seen:
            continue
        seen = stamp
        try:
            gateway = Gateway(load_supergraph(path), client, app.gateway.config)
        except GatewayError as exc:
            log.warning("supergraph_reload_failed", path=str(path), error=str(exc))
            continue
        app.gateway = gateway
        log.info("supergraph_reloaded", path=str(path),
                 subgraphs=[s.name for s in gateway.supergraph.subgraphs.values()])
