"""``crossdock admin token ...``: the tokens the services' admin APIs ask for.

These commands work on the database directly, so they need no token themselves: whoever can
reach the database is an administrator already.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from crossdock.core.clihelp import examples
from crossdock.core.entry import database_url, run
from crossdock.core.logging import configure_logging
from crossdock.core.settings import CoreSettings

if TYPE_CHECKING:
    from crossdock.core.tokens import AdminToken, TokenStore

T = TypeVar("T")

admin_app = typer.Typer(help="Administration: tokens for the admin APIs.",
                        no_args_is_help=True)
token_app = typer.Typer(
    help="Admin API tokens (Authorization: Bearer <token>).", no_args_is_help=True,
    epilog=examples("crossdock admin token create --role admin --name ci",
                    "crossdock admin token list"))
admin_app.add_typer(token_app, name="token")

_stdout = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _with_tokens(work: Callable[[TokenStore], Coroutine[Any, Any, T]]) -> T:
    # Imported here: every other command would pay for the database driver's import.
    from crossdock.core.database import Database
    from crossdock.core.tokens import TokenStore

    settings = CoreSettings.from_env()
    configure_logging(settings.log_level, settings.log_format)

    async def main(url: str) -> T:
        async with Database(url, min_size=1, max_size=1) as database:
            return await work(TokenStore(database))

    with database_url(settings) as url:
        return run(main(url))


def _echo_json(data: object) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


@token_app.command("create", epilog=examples(
    "crossdock admin token create --role read --name dashboard",
    "crossdock admin token create --role admin --name ci --json"))
def create(
    role_name: Annotated[str, typer.Option(
        "--role", help="read (GET requests) or admin (every request).", show_default=False)],
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create a token and print it once: only its hash is kept."""
    from crossdock.core.tokens import role

    chosen = role(role_name)
    token, value = _with_tokens(lambda tokens: tokens.create(role=chosen, name=name))
    if as_json:
        _echo_json({**token.public(), "token": value})
        return
    typer.echo(value)
    typer.echo(f"created admin token {token.id} ({token.role}"
               f"{', ' + token.name if token.name else ''}); it is shown only now", err=True)


@token_app.command("list", epilog=examples("crossdock admin token list",
                                           "crossdock admin token list --json"))
def list_tokens(as_json: JsonFlag = False) -> None:
    """List tokens: id, name, role, when created and last used (never their values)."""
    found: list[AdminToken] = _with_tokens(lambda tokens: tokens.list())
    if as_json:
        _echo_json([token.public() for token in found])
        return
    table = Table("id", "name", "role", "created", "last used")
    for token in found:
        table.add_row(str(token.id), token.name, str(token.role),
                      f"{token.created_at:%Y-%m-%d %H:%M:%S}",
                      f"{token.last_used_at:%Y-%m-%d %H:%M:%S}" if token.last_used_at
                      else "never")
    _stdout.print(table)


@token_app.command("revoke", epilog=examples("crossdock admin token revoke 3"))
def revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="The token's id (see list).")],
) -> None:
    """Revoke a token: requests that carry it are refused from now on."""
    _with_tokens(lambda tokens: tokens.revoke(token_id))
    typer.echo(f"revoked admin token {token_id}")
