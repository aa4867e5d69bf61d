"""Hot reload: a changed supergraph file replaces the gateway's schema and plans, a changed
configuration file its configuration and plugins.

The files are polled (no inotify dependency, works on every filesystem and in containers). A
file that does not parse (or a configuration whose plugins fail to start) is logged and
ignored: the gateway keeps serving the last good one. The plugins a new configuration
replaces are closed once the requests that may still use them are done (``grace`` seconds),
or when the watch ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.gateway.engine import Gateway
from crossdock.gateway.errors import GatewayError
from crossdock.gateway.plugins.pipeline import Pipeline
from crossdock.gateway.server import GraphQLApp
from crossdock.gateway.supergraph import load_supergraph

if TYPE_CHECKING:
    import httpx

    from crossdock.gateway.config import GatewayConfig
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


class Serving(Protocol):
    """What serves a gateway: setting ``gateway`` swaps it (and what depends on its config)."""

    gateway: Gateway


def watch_config(path: Path, app: Serving, client: SubgraphClient | httpx.AsyncClient,
                 load: Callable[[], GatewayConfig], *, interval: float = 2.0,
                 grace: float = 60.0) -> Coroutine[Any, Any, None]:
    """Swap ``app``'s gateway for one with ``load()``'s configuration whenever ``path``
    changes from now on, until cancelled; the replaced plugins are closed ``grace`` seconds
    later (a request may still be using them), or when cancelled."""
    return _watch_config(_ConfigWatch(path=path, app=app, client=client, load=load,
                                      interval=interval, grace=grace), _stamp(path))


class _ConfigWatch:
    """One configuration file's watch: what it swaps, and the plugins it has yet to close."""

    def __init__(self, *, path: Path, app: Serving, client: SubgraphClient | httpx.AsyncClient,
                 load: Callable[[], GatewayConfig], interval: float, grace: float) -> None:
        self.path, self.app, self.client, self.load = path, app, client, load
        self.interval, self.grace = interval, grace
        #: Replaced configurations' plugins, and when to close them (loop time).
        self.retired: list[tuple[float, Pipeline]] = []

    async def reload(self) -> None:
        """Serve with the file's configuration, if it reads and its plugins start."""
        try:
            config = self.load()
            gateway = Gateway(self.app.gateway.supergraph, self.client, config)
        except (ConfigError, GatewayError) as exc:
            log.warning("config_reload_failed", path=str(self.path), error=str(exc))
            return
        try:
            await gateway.pipeline.astart()
        except Exception:  # a plugin's own start (a JWKS fetch): keep the running config
            log.exception("config_reload_failed", path=str(self.path))
            await Pipeline(config.plugins).aclose()
            return
        old = self.app.gateway
        if old.supergraph is not gateway.supergraph:  # the supergraph changed meanwhile
            gateway = Gateway(old.supergraph, self.client, config)
        self.app.gateway = gateway
        loop = asyncio.get_running_loop()
        self.retired.append((loop.time() + self.grace, Pipeline(old.config.plugins)))
        log.info("config_reloaded", path=str(self.path),
                 plugins=[plugin.name for plugin in config.plugins])

    async def close_retired(self, *, everything: bool = False) -> None:
        """Close the replaced plugins whose grace is over (or all of them)."""
        now = asyncio.get_running_loop().time()
        while self.retired and (everything or self.retired[0][0] <= now):
            await self.retired.pop(0)[1].aclose()


async def _watch_config(watch: _ConfigWatch, seen: tuple[int, int] | None) -> None:
    try:
        while True:
            await asyncio.sleep(watch.interval)
            await watch.close_retired()
            stamp = _stamp(watch.path)
            if stamp is None or stamp == seen:
                continue
            seen = stamp
            try:
                await watch.reload()
            except Exception:  # a plugin's bind or the like: the watch must outlive one file
                log.exception("config_reload_failed", path=str(watch.path))
    finally:
        await watch.close_retired(everything=True)
