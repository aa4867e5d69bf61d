"""The ``crossdock`` command: the core's commands, and each installed service's under its name.

Every option has an environment variable, shown in ``--help``. A :class:`CrossdockError`
becomes one line on stderr and exit code 2 for configuration and connectivity problems, 1
otherwise.
"""

from __future__ import annotations

import os
import select
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from crossdock import __version__
from crossdock.core.admin import admin_app
from crossdock.core.clihelp import examples
from crossdock.core.entry import database_url, run
from crossdock.core.errors import (
    ConfigError,
    CrossdockError,
    DatabaseError,
    PortInUse,
)
from crossdock.core.logging import configure_logging
from crossdock.core.migrations import Migration, MigrationState, MigrationStatus, Migrator
from crossdock.core.services import Service, components, discover
from crossdock.core.settings import CoreSettings


class _LazyServices(TyperGroup):
    """The root group: a service's commands are built only when that service is invoked.

    Building them imports the service (GraphQL, git, HTTP libraries...), which would slow
    every other command; the root's ``--help`` lists each service from its description.
    """

    _listing = False

    def _services(self) -> dict[str, Service]:
        return {s.cli_name or s.name: s for s in discover() if s.cli is not None}

    # typer vendors its own click; its types are spelt Any here rather than imported privately.
    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *sorted(self._services())]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        service = self._services().get(cmd_name)
        if service is None or service.cli is None:
            return None
        if self._listing:
            return TyperCommand(name=cmd_name, help=service.description,
                                rich_help_panel="Services")
        return typer.main.get_command(service.cli())

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="crossdock",
    cls=_LazyServices,
    help="crossdock: federation gateway, webhooks and GitSlice on one core.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True,
                     epilog=examples("crossdock db upgrade", "crossdock db check"))
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")

stdout = Console()
stderr = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def settings() -> CoreSettings:
    """The core settings of this process (configures logging as a side effect)."""
    loaded = CoreSettings.from_env()
    configure_logging(loaded.log_level, loaded.log_format)
    return loaded


def print_json(data: object) -> None:
    """Write ``data`` as indented JSON on stdout."""
    document = orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str) + b"\n"
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (a test's captured stdout)
        sys.stdout.write(document.decode())
        return
    # uvloop can leave stdout non-blocking, and a large document written to a pipe would
    # then be cut off at the pipe's buffer size: write it all, waiting when the pipe is full.
    view = memoryview(document)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]


@app.command(epilog=examples("crossdock version"))
def version() -> None:
    """Print crossdock's version."""
    stdout.print(__version__)


@app.command("services", epilog=examples("crossdock services", "crossdock services --json"))
def list_services(as_json: JsonFlag = False) -> None:
    """List the installed services."""
    found = discover()
    if as_json:
        print_json([{"name": s.name, "description": s.description} for s in found])
        return
    table = Table("service", "description")
    for service in found:
        table.add_row(service.name, service.description)
    stdout.print(table)


@db_app.command("upgrade", epilog=examples("crossdock db upgrade"))
def db_upgrade() -> None:
    """Apply every pending migration."""
    with database_url(settings(), migrate=False) as url:
        applied = run(_upgrade(url))
    for migration in applied:
        stdout.print(f"applied {migration.component}/{migration.version:04d}_{migration.name}")
    stdout.print(f"database is current ({len(applied)} migration(s) applied)")


async def _upgrade(url: str) -> list[Migration]:
    from crossdock.core.database import connect

    conn = await connect(url)
    try:
        return await Migrator(components()).upgrade(conn)
    finally:
        await conn.close()


async def _status(url: str) -> list[MigrationStatus]:
    from crossdock.core.database import connect

    conn = await connect(url)
    try:
        return await Migrator(components()).status(conn)
    finally:
        await conn.close()


@db_app.command("current", epilog=examples("crossdock db current",
                                                  "crossdock db current --json"))
def db_current(as_json: JsonFlag = False) -> None:
    """Show each migration and whether it is applied."""
    with database_url(settings(), migrate=False) as url:
        statuses = run(_status(url))
    if as_json:
        print_json([{"component": s.migration.component, "version": s.migration.version,
                     "name": s.migration.name, "state": s.state.value} for s in statuses])
        return
    table = Table("component", "version", "name", "state")
    for status in statuses:
        m = status.migration
        table.add_row(m.component, f"{m.version:04d}", m.name, status.state.value)
    stdout.print(table)


@db_app.command("check", epilog=examples("crossdock db check && crossdock gateway serve"))
def db_check() -> None:
    """Exit 1 when a migration is pending or was changed after it was applied."""
    with database_url(settings(), migrate=False) as url:
        statuses = run(_status(url))
    waiting = [s for s in statuses if s.state is not MigrationState.APPLIED]
    for status in waiting:
        m = status.migration
        stderr.print(f"{status.state.value}: {m.component}/{m.version:04d}_{m.name}")
    if waiting:
        raise typer.Exit(1)
    stdout.print("database is current")


@app.command(epilog=examples("crossdock worker",
                             "crossdock worker --concurrency 4 --queue webhooks"))
def worker(
    concurrency: Annotated[int, typer.Option(envvar="CROSSDOCK_WORKER_CONCURRENCY",
                                             help="Jobs run at once (at least 1).")] = 8,
    queue: Annotated[list[str] | None, typer.Option(
        envvar="CROSSDOCK_WORKER_QUEUES", help="Queues to take jobs from (default: all).")] = None,
    host: Annotated[str, typer.Option(
        envvar="CROSSDOCK_WORKER_HOST", help="Address of the worker's ops port.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        envvar="CROSSDOCK_WORKER_PORT",
        help="Serve /healthz, /readyz and /metrics on this port (default: not served).")] = None,
) -> None:
    """Run the job worker: every installed service's jobs and event handlers.

    Example: crossdock worker --concurrency 4 --port 9400
    """
    from crossdock.core.up import WorkerOptions, check_worker_options, run_worker

    loaded = settings()
    options = WorkerOptions(concurrency=concurrency, queues=queue or None, host=host, port=port)
    check_worker_options(loaded, options)
    with database_url(loaded) as url:
        run(run_worker(loaded, url, options))


@app.command(epilog=examples("crossdock up", "crossdock up --no-demo --port 9400"))
def up(
    host: Annotated[str, typer.Option(envvar="CROSSDOCK_HOST",
                                      help="Address every service listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CROSSDOCK_PORT",
                                      help="Port of the platform's ops endpoints.")] = 8400,
    data_dir: Annotated[Path | None, typer.Option(
        envvar="CROSSDOCK_DATA_DIR", help="Where the embedded PostgreSQL and demo data live.")
    ] = None,
    demo: Annotated[bool, typer.Option(envvar="CROSSDOCK_DEMO",
                                       help="Start demo subgraphs and a demo slice.")] = True,
) -> None:
    """Start everything: database, migrations, every service, a worker. Ctrl-C stops it all."""
    from crossdock.core.up import up as run_up

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    loaded = CoreSettings.from_env(**overrides)
    configure_logging(loaded.log_level, loaded.log_format)
    with database_url(loaded, migrate=False) as url:  # up applies them itself
        run(run_up(loaded, url, host=host, port=port, demo=demo, console=stdout))


def main() -> None:
    """The ``crossdock`` entry point."""
    # typer answers usage errors and --help itself (exit 2 and 0); ours are one line each.
    try:
        app()
    except (ConfigError, DatabaseError, PortInUse) as exc:
        stderr.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except CrossdockError as exc:
        stderr.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
