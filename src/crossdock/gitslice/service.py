"""How the gitslice service plugs into the core."""

from __future__ import annotations

from crossdock.core.services import Service
from crossdock.gitslice.jobs import register, up


def _cli():  # type: ignore[no-untyped-def]
    from crossdock.gitslice.cli import app  # noqa: PLC0415 - typer app built only for the CLI

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
