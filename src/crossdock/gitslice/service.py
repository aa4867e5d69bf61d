"""How the gitslice service plugs into the core."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from crossdock.core.services import Listener, Service

if TYPE_CHECKING:
    import typer

    from crossdock.core.runtime import Runtime

# The engine (pygit2) is imported only by the processes that use it: every `crossdock`
# command discovers this module, and most of them never touch git.


def _register(runtime: Runtime) -> None:
    from crossdock.gitslice.jobs import register

    register(runtime)


def _up(runtime: Runtime) -> AbstractAsyncContextManager[list[Listener]]:
    from crossdock.gitslice.jobs import up

    return up(runtime)


def _cli() -> typer.Typer:
    # Imported on demand: a worker never needs typer and rich.
    from crossdock.gitslice.cli import app

    return app


def _admin_graph() -> Any:
    # Imported on use: strawberry is the ``admin`` extra's, and only ``up`` serves the graph.
    from crossdock.gitslice.admin_graph import build_schema

    return build_schema()


service = Service(
    name="gitslice",
    cli_name="slice",
    description="GitSlice: keep a slice of an upstream repository in sync, both ways.",
    migrations="crossdock.gitslice.schema",
    cli=_cli,
    register=_register,
    up=_up,
    admin_graph=_admin_graph,
)
