"""The ``crossdock`` command: the core's commands, and each installed service's under its name.

Every option has an environment variable, shown in ``--help``. :func:`main` is the one place
an error becomes one line on stderr and an exit code (the error's ``exit_code``: 2 for what
the person gave, 1 for a failed operation); ``--debug`` adds the traceback. Help reads the
same on every command (:mod:`crossdock.core.clihelp`), and ``docs/reference/cli.md`` is
written from it (:mod:`crossdock.core.clidocs`).
"""

from __future__ import annotations

import dataclasses
import os
import select
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from crossdock import __version__
from crossdock.core.admin import admin_app
from crossdock.core.clihelp import examples, humanize, humanize_params
from crossdock.core.entry import database_url, run
from crossdock.core.errors import CrossdockError
from crossdock.core.logging import configure_logging
from crossdock.core.migrations import Migration, MigrationState, MigrationStatus, Migrator
from crossdock.core.services import Service, components, discover
from crossdock.core.settings import CoreSettings, parse_bool

_COMPLETION_OPTIONS = {"install_completion", "show_completion"}


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
            return humanize(command)
        service = self._services().get(cmd_name)
        if service is None or service.cli is None:
            return None
        if self._listing:
            return TyperCommand(name=cmd_name, help=service.description,
                                rich_help_panel="Services")
        command = typer.main.get_command(service.cli())
        # Shell completion is installed for `crossdock` as a whole, not once per service.
        command.params = [p for p in command.params if p.name not in _COMPLETION_OPTIONS]
        return humanize(command)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        humanize_params(params)
        return params

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
app.add_typer(admin_app, name="admin", epilog=examples(
    "crossdock admin token create --role read --name dashboard", "crossdock admin token list"))

stdout = Console()
stderr = Console(stderr=True)

DEBUG_VARIABLE = "CROSSDOCK_DEBUG"


@dataclasses.dataclass(slots=True)
class _RootOptions:
    """What the root options asked for, kept for the error boundary in :func:`main`."""

    debug: bool = False


_root = _RootOptions()


def _print_version(value: bool) -> None:
    if value:
        stdout.print(__version__, highlight=False)
        raise typer.Exit


@app.callback(epilog=examples("crossdock up", "crossdock --debug db upgrade",
                              "crossdock webhooks --help"))
def root(
    debug: Annotated[bool, typer.Option(
        "--debug", envvar=DEBUG_VARIABLE,
        help="Show the traceback of an error, not only its one line.")] = False,
    _version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, expose_value=False,
        help="Print crossdock's version and exit.")] = False,
) -> None:
    """crossdock: federation gateway, webhooks and GitSlice on one core."""
    _root.debug = debug

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
                             "crossdock worker --concurrency 4 --queue webhooks",
                             "crossdock worker --concurrency 4 --port 9400"))
def worker(
    concurrency: Annotated[int, typer.Option(envvar="CROSSDOCK_WORKER_CONCURRENCY",
                                             help="Jobs run at once (at least 1).")] = 8,
    queue: Annotated[list[str] | None, typer.Option(
        envvar="CROSSDOCK_WORKER_QUEUES", show_default="all",
        help="A queue to take jobs from.")] = None,
    host: Annotated[str, typer.Option(
        envvar="CROSSDOCK_WORKER_HOST", help="Address of the worker's ops port.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        envvar="CROSSDOCK_WORKER_PORT", show_default="not served",
        help="Serve /healthz, /readyz and /metrics on this port.")] = None,
) -> None:
    """Run the job worker: every installed service's jobs and event handlers."""
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
    port: Annotated[int, typer.Option(envvar="CROSSDOCK_PORT", min=0, max=65535,
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
    """The ``crossdock`` entry point, and the one place an error becomes a line and a code.

    An expected error (ours, or a usage error) is one line on stderr and exit code 2 for what
    the person gave (an option, a setting, an address) or 1 for an operation that failed.
    Anything else is a bug: one line that says so, exit 1. ``--debug`` or
    ``CROSSDOCK_DEBUG=1`` adds the traceback.
    """
    try:
        code = typer.main.get_command(app).main(prog_name="crossdock", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors, raised by the command line parser
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is printed already
            sys.exit(exc.exit_code)
        _fail(exc, _usage_line(exc), exc.exit_code)
    except typer.Abort as exc:
        _fail(exc, "aborted", 1)
    except CrossdockError as exc:
        _fail(exc, exc.message, exc.exit_code)
    except Exception as exc:  # the boundary: a bug is one line too, unless --debug
        hint = "please report it" if _debugging() else (
            "rerun with --debug to see the traceback, and please report it")
        _fail(exc, f"crossdock hit a bug ({type(exc).__name__}: {_one_line(str(exc))}); {hint}",
              1)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_line(exc: typer.TyperException) -> str:
    context = getattr(exc, "ctx", None)
    hint = f" (see '{context.command_path} --help')" if context is not None else ""
    return _one_line(exc.format_message()) + hint


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _debugging() -> bool:
    # The variable too: an error can come before the root option is read.
    try:
        return _root.debug or parse_bool(os.environ.get(DEBUG_VARIABLE, ""))
    except ValueError:
        return False


def _fail(exc: BaseException, line: str, code: int) -> NoReturn:
    if _debugging():
        traceback.print_exception(exc, file=sys.stderr)
    stderr.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    sys.exit(code)
