"""How the gitslice service plugs into the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossdock.core.services import Service
from crossdock.gitslice.jobs import register, up

if TYPE_CHECKING:
    import typer


def _cli() -> typer.Typer:
    # Imported on demand: a worker never needs typer and rich.
    from crossdock.gitslice.cli import app

    return app


service = Service(
    name="gitslice",
    cli_name="slice",
    description="GitSlice: keep a slice of an upstream repository in sync, both ways.",
    migrations="crossdock.gitslice.schema",
    cli=_cli,
    register=register,
    up=up,
)
