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

admin_app = typer.Typer(help=("Administration: tokens for the admin APIs, the admin graph, the"
                              " dashboard."),
                        no_args_is_help=True)
token_app = typer.Typer(
    help="Admin API tokens (Authorization: Bearer <token>).", no_args_is_help=True,
    epilog=examples("crossdock admin token create --role admin --name ci",
                    "crossdock admin token list"))
admin_app.add_typer(token_app, name="token")
graph_app = typer.Typer(
    help="The admin graph: each service's admin data as a federation subgraph.",
    no_args_is_help=True,
    epilog=examples("crossdock admin graph serve --port 4010",
                    "crossdock admin graph supergraph --base-url http://admin-graph:4010"))
admin_app.add_typer(graph_app, name="graph")
dashboard_app = typer.Typer(
    help="The dashboard: web pages over the admin graph, through a gateway.",
    no_args_is_help=True,
    epilog=examples("crossdock admin dashboard serve --graphql-url http://gateway:4000/graphql"))
admin_app.add_typer(dashboard_app, name="dashboard")

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


@graph_app.command("serve", epilog=examples("crossdock admin graph serve --port 4010"))
def serve_graph(
    host: Annotated[str, typer.Option(envvar="CROSSDOCK_ADMIN_GRAPH_HOST",
                                      help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        envvar="CROSSDOCK_ADMIN_GRAPH_PORT", min=0, max=65535, show_default=True,
        help="Port of /core/graphql, /webhooks/graphql, /gitslice/graphql and "
             "/gateway/graphql.")] = 4010,
) -> None:
    """Serve the installed services' admin subgraphs (each request needs a token)."""
    _need_admin_extra()
    from crossdock.core.admin_graph.process import serve

    settings = CoreSettings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    with database_url(settings) as url:
        run(serve(settings, url, host=host, port=port))


@graph_app.command("supergraph", epilog=examples(
    "crossdock admin graph supergraph --base-url http://admin-graph:4010 > admin.graphql",
    "crossdock admin graph supergraph --base-url http://admin-graph:4010 "
    "--gateway-url http://gateway:4000/gateway/graphql > admin.graphql"))
def print_supergraph(
    base_url: Annotated[str, typer.Option(
        envvar="CROSSDOCK_ADMIN_GRAPH_URL", show_default=False,
        help="Where admin graph serve is reached (each subgraph at <url>/<name>/graphql).")],
    gateway_url: Annotated[str | None, typer.Option(
        envvar="CROSSDOCK_ADMIN_GRAPH_GATEWAY_URL", show_default=False,
        help="The gateway subgraph's URL instead, where the gateway serves it itself "
             "(gateway serve --admin-graph: <gateway>/gateway/graphql).")] = None,
) -> None:
    """Print the admin supergraph for a gateway, its subgraph URLs under --base-url."""
    from crossdock.core.admin_graph.supergraph import SUBGRAPHS, AdminSupergraph

    base = _http_url("--base-url", base_url).rstrip("/")
    urls = {name: f"{base}/{name}/graphql" for name in SUBGRAPHS}
    if gateway_url is not None:
        urls["gateway"] = _http_url("--gateway-url", gateway_url)
    typer.echo(AdminSupergraph(urls=urls).text(), nl=False)


@dashboard_app.command("serve", epilog=examples(
    "crossdock admin dashboard serve --graphql-url http://gateway:4000/graphql --port 4020"))
def serve_dashboard(
    graphql_url: Annotated[str, typer.Option(
        envvar="CROSSDOCK_DASHBOARD_GRAPHQL_URL", show_default=False,
        help="The gateway's GraphQL URL, which federates the admin graph.")],
    host: Annotated[str, typer.Option(envvar="CROSSDOCK_DASHBOARD_HOST",
                                      help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        envvar="CROSSDOCK_DASHBOARD_PORT", min=0, max=65535, show_default=True,
        help="Port of the dashboard's pages.")] = 4020,
) -> None:
    """Serve the dashboard; it forwards its pages' requests (and tokens) to the gateway."""
    from crossdock.core.dashboard.process import check_graphql_url, serve

    check_graphql_url(graphql_url)
    settings = CoreSettings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    run(serve(host=host, port=port, graphql_url=graphql_url))


def _http_url(option: str, url: str) -> str:
    from crossdock.core.errors import ConfigError

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{option} must be an http:// or https:// URL, not {url!r}")
    return url


def _need_admin_extra() -> None:
    from crossdock.core.admin_graph.mount import installed
    from crossdock.core.errors import ConfigError

    if not installed():
        raise ConfigError("the admin graph needs the admin extra: install crossdock[admin]")
