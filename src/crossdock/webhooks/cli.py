"""``crossdock webhooks ...``: sources, routes, the server, deliveries and replay.

What a command acts on (a source's secrets, a route's handler, the deliveries to list or
replay) comes from its arguments only, never from an environment variable that a shell could
have exported for something else; the server's address and the retention are settings, and
keep theirs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from crossdock.core.backoff import Backoff
from crossdock.core.cli import JsonFlag, print_json, settings, stdout
from crossdock.core.clihelp import examples
from crossdock.core.entry import database_url, run
from crossdock.core.errors import ConfigError
from crossdock.core.runtime import Runtime
from crossdock.webhooks import operations
from crossdock.webhooks.app import serve as serve_app
from crossdock.webhooks.errors import InvalidInput, InvalidRoute
from crossdock.webhooks.models import DeliveryStatus
from crossdock.webhooks.outbound import cli as outbound_cli
from crossdock.webhooks.providers import PROVIDERS
from crossdock.webhooks.settings import WebhooksSettings

T = TypeVar("T")

stderr = Console(stderr=True)

app = typer.Typer(no_args_is_help=True, help="Webhooks: received (sources, routes, deliveries) "
                  "and sent (applications, endpoints, event types, messages).", epilog=examples(
    "crossdock webhooks source add gh-main --provider github --secret env:GITHUB_WEBHOOK_SECRET",
    "crossdock webhooks deliveries --status dead"))
source_app = typer.Typer(no_args_is_help=True, help="Webhook sources.", epilog=examples(
    "crossdock webhooks source list"))
route_app = typer.Typer(no_args_is_help=True, help="Routing rules of a source.",
                        epilog=examples("crossdock webhooks route list gh-main"))
app.add_typer(source_app, name="source")
app.add_typer(route_app, name="route")

class Order(StrEnum):
    """Which deliveries ``deliveries`` shows first."""

    NEWEST = "newest"
    OLDEST = "oldest"


def build_cli() -> typer.Typer:
    """The ``crossdock webhooks`` command group."""
    return app


@contextlib.asynccontextmanager
async def _runtime(url: str) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(settings(), url)
    await runtime.open()
    try:
        yield runtime
    finally:
        await runtime.close()


def _with_runtime(work: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
    async def main(url: str) -> T:
        async with _runtime(url) as runtime:
            return await work(runtime)

    with database_url(settings()) as url:
        return run(main(url))


def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if value == "now":
        return dt.datetime.now(dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _options(values: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value
    return options


@source_app.command("add", epilog=examples(
    "crossdock webhooks source add gh-main --provider github --secret env:GITHUB_WEBHOOK_SECRET",
    "crossdock webhooks source add billing --provider stripe --secret env:STRIPE_SECRET "
    "--retry-max-tries 5"))
def source_add(
    name: Annotated[str, typer.Argument(
        help="The source's name: POST /webhooks/NAME (letters, digits, '.', '_', '-').")],
    provider: Annotated[str, typer.Option(help=f"One of {', '.join(PROVIDERS)}.")],
    secret: Annotated[list[str], typer.Option(
        help="env:NAME (read when the receiver loads the source) or a literal; "
             "repeat to rotate.")],
    option: Annotated[list[str] | None, typer.Option(
        help="Provider option KEY=VALUE (hmac: header, algorithm, encoding, prefix, "
             "event_header, delivery_header).")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(
        help="Size limit of a body.", show_default="25 MB")] = None,
    retry_max_tries: Annotated[int, typer.Option(
        help="Tries in all before a delivery is dead (1 to 1000).")] = 8,
    retry_base_seconds: Annotated[float, typer.Option(
        help="First retry delay; doubles each try.")] = 5.0,
    retry_max_seconds: Annotated[float, typer.Option(help="Longest delay.")] = 3600.0,
    as_json: JsonFlag = False,
) -> None:
    """Add a source."""
    source = operations.build_source(
        name, provider, secret, options=_options(option), max_body_bytes=max_body_bytes,
        retry=Backoff(max_tries=retry_max_tries, base_seconds=retry_base_seconds,
                      max_seconds=retry_max_seconds))
    created = _with_runtime(lambda rt: operations.add_source(rt.database, source))
    if as_json:
        print_json(created.public())
        return
    stdout.print(f"added source {created.name} ({created.provider}): "
                 f"POST /webhooks/{created.name}", highlight=False)


@source_app.command("update", epilog=examples(
    "crossdock webhooks source update gh-main --add-secret env:GITHUB_WEBHOOK_SECRET_2",
    "crossdock webhooks source update gh-main --remove-secret env:GITHUB_WEBHOOK_SECRET",
    "crossdock webhooks source update gh-main --retry-max-tries 12"))
def source_update(
    name: Annotated[str, typer.Argument(help="The source to change.")],
    add_secret: Annotated[list[str] | None, typer.Option(
        help="A secret to accept from now on (env:NAME or a literal).")] = None,
    remove_secret: Annotated[list[str] | None, typer.Option(
        help="A secret to stop accepting, as it was given.")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(help="Size limit of a body.")] = None,
    retry_max_tries: Annotated[int | None, typer.Option(
        help="Tries in all before a delivery is dead (1 to 1000).")] = None,
    retry_base_seconds: Annotated[float | None, typer.Option(
        help="First retry delay; doubles each try.")] = None,
    retry_max_seconds: Annotated[float | None, typer.Option(help="Longest delay.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a source: rotate secrets (add the new, then remove the old), limits."""
    retry = {key: value for key, value in (
        ("max_tries", retry_max_tries), ("base_seconds", retry_base_seconds),
        ("max_seconds", retry_max_seconds)) if value is not None}
    changed = _with_runtime(lambda rt: operations.update_source(
        rt.database, name, add_secrets=add_secret or (),
        remove_secrets=remove_secret or (), max_body_bytes=max_body_bytes, retry=retry))
    if as_json:
        print_json(changed.public())
        return
    stdout.print(f"updated source {changed.name}: {len(changed.secrets)} secret(s)",
                 highlight=False)


def _confirm_removal(name: str) -> bool:
    if not sys.stdin.isatty():
        raise ConfigError(f"removing source {name!r} deletes its routes and deliveries: "
                          "give --yes to confirm (there is no terminal to ask on)")
    return typer.confirm(f"Remove source {name!r} with its routes and all its deliveries?")


@source_app.command("remove", epilog=examples(
    "crossdock webhooks source remove gh-main", "crossdock webhooks source remove gh-main --yes"))
def source_remove(
    name: Annotated[str, typer.Argument(help="The source to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a source with its routes and its deliveries (asks first, unless --yes)."""
    if not yes and not _confirm_removal(name):
        stderr.print(f"source {name} kept", highlight=False)
        raise typer.Exit(1)
    deliveries = _with_runtime(lambda rt: operations.remove_source(rt.database, name))
    if as_json:
        print_json({"removed": name, "deliveries": deliveries})
        return
    stdout.print(f"removed source {name} and its {deliveries} deliveries", highlight=False)


@source_app.command("list", epilog=examples(
    "crossdock webhooks source list", "crossdock webhooks source list --json"))
def source_list(as_json: JsonFlag = False) -> None:
    """List sources (secrets as references only)."""
    sources = _with_runtime(lambda rt: operations.list_sources(rt.database))
    if as_json:
        print_json([source.public() for source in sources])
        return
    table = Table("name", "provider", "secrets", "max body")
    for source in sources:
        public = source.public()
        table.add_row(source.name, source.provider, " ".join(public["secrets"]),
                      str(source.max_body_bytes))
    stdout.print(table)


@route_app.command("add", epilog=examples(
    "crossdock webhooks route add gh-main --handler bus --event push "
    "--filter 'repository.full_name == acme/app'",
    "crossdock webhooks route add gh-main --handler log --event issues --action opened",
    "crossdock webhooks route add gh-main --handler forward --event push "
    "--config '{\"app\": \"acme\", \"ordering_key\": \"repository.full_name\"}'"))
def route_add(
    source: Annotated[str, typer.Argument(help="The source.")],
    handler: Annotated[str, typer.Option(
        help="bus, log, forward (to an application's endpoints: --config "
             "'{\"app\": \"NAME\"}'), or a handler an installed service registers.")],
    event: Annotated[str | None, typer.Option(
        help="Event type.", show_default="any")] = None,
    action: Annotated[str | None, typer.Option(help="Action.", show_default="any")] = None,
    filter_: Annotated[list[str] | None, typer.Option(
        "--filter", help="'path == value' or 'path != value' on the payload; repeatable.")
    ] = None,
    config: Annotated[str | None, typer.Option(help="Handler config as a JSON object.")
                      ] = None,
    position: Annotated[int, typer.Option(help="Order among routes.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Add a routing rule to a source."""
    try:
        parsed = orjson.loads(config) if config else {}
    except orjson.JSONDecodeError as exc:
        raise InvalidRoute("--config must be a JSON object") from exc
    route = _with_runtime(lambda rt: operations.add_route(
        rt.database, source=source, handler=handler, event_type=event, action=action,
        filters=filter_ or [], config=parsed, position=position))
    if as_json:
        print_json(route.public())
        return
    stdout.print(f"added route {route.id} to {source}", highlight=False)


@route_app.command("remove", epilog=examples("crossdock webhooks route remove 12"))
def route_remove(route_id: Annotated[int, typer.Argument(
        min=1, help="The route's id (route list).")]) -> None:
    """Delete a routing rule."""
    _with_runtime(lambda rt: operations.remove_route(rt.database, route_id))
    stdout.print(f"removed route {route_id}", highlight=False)


@route_app.command("list", epilog=examples(
    "crossdock webhooks route list gh-main", "crossdock webhooks route list gh-main --json"))
def route_list(
    source: Annotated[str, typer.Argument(help="The source.")], as_json: JsonFlag = False
) -> None:
    """List a source's routing rules."""
    routes = _with_runtime(lambda rt: operations.list_routes(rt.database, source))
    if as_json:
        print_json([route.public() for route in routes])
        return
    table = Table("id", "event", "action", "filters", "handler")
    for route in routes:
        table.add_row(str(route.id), route.event_type or "*", route.action or "*",
                      " and ".join(route.public()["filters"]), route.handler)
    stdout.print(table)


@app.command("prune", epilog=examples(
    "crossdock webhooks prune", "crossdock webhooks prune --older-than-days 7"))
def prune(
    older_than_days: Annotated[float | None, typer.Option(
        help="Age in days.", show_default="CROSSDOCK_WEBHOOKS_RETENTION_DAYS, 30")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete finished deliveries (processed, dead, rejected) and sent messages (every
    endpoint's attempts over) older than the retention."""
    days = WebhooksSettings.from_env().retention_days if older_than_days is None \
        else older_than_days
    if older_than_days is None and days == 0:
        raise ConfigError("retention is off (CROSSDOCK_WEBHOOKS_RETENTION_DAYS=0): "
                          "give --older-than-days to prune anyway")
    async def work(runtime: Runtime) -> tuple[int, int]:
        return (await operations.prune(runtime.database, older_than_days=days),
                await operations.prune_messages(runtime.database, older_than_days=days))

    pruned, messages = _with_runtime(work)
    if as_json:
        print_json({"pruned": pruned, "messages": messages, "older_than_days": days})
        return
    stdout.print(f"pruned {pruned} deliveries and {messages} sent messages older than "
                 f"{days:g} days", highlight=False)


@app.command("serve", epilog=examples(
    "crossdock webhooks serve", "crossdock webhooks serve --host 0.0.0.0 --port 9000",
    "crossdock webhooks serve --port 8080 --admin-port 8081"))
def serve(
    host: Annotated[str, typer.Option(envvar="CROSSDOCK_WEBHOOKS_HOST",
                                      help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CROSSDOCK_WEBHOOKS_PORT", min=0, max=65535,
                                      help="Port to listen on.")] = 8080,
    admin_port: Annotated[int | None, typer.Option(
        envvar="CROSSDOCK_WEBHOOKS_ADMIN_PORT", min=0, max=65535, show_default=False,
        help="Serve the admin API here, not on --port.")] = None,
) -> None:
    """Serve POST /webhooks/SOURCE and the admin API (/api/...)."""
    configured = dataclasses.replace(WebhooksSettings.from_env(), host=host, port=port,
                                     admin_port=admin_port)
    _with_runtime(lambda rt: serve_app(rt, configured))


@app.command("deliveries", epilog=examples(
    "crossdock webhooks deliveries", "crossdock webhooks deliveries --status dead --limit 20",
    "crossdock webhooks deliveries --source gh-main --order oldest --json"))
def deliveries(
    status: Annotated[DeliveryStatus | None, typer.Option(help="Only this status.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(min=1,
                                       help="At most this many.")] = 1000,
    order: Annotated[Order, typer.Option(help="Which come first.")] = Order.NEWEST,
    as_json: JsonFlag = False,
) -> None:
    """List deliveries, newest first (or --order oldest)."""
    found = _with_runtime(lambda rt: operations.list_deliveries(
        rt.database, status=status, source=source, limit=limit, order=order.value))
    if as_json:
        print_json(found)
        return
    table = Table("id", "source", "event", "action", "status", "tries", "received")
    for item in found:
        table.add_row(str(item["id"]), item["source"], item["event_type"] or "",
                      item["action"] or "", item["status"] + (
                          f" ({item['reason']})" if item["reason"] else ""),
                      str(item["tries"]), item["received_at"])
    stdout.print(table)


@app.command("show", epilog=examples("crossdock webhooks show 42"))
def show(delivery_id: Annotated[int, typer.Argument(
        min=1, help="Delivery id.")]) -> None:
    """Show a delivery and its attempts (as JSON)."""
    print_json(_with_runtime(lambda rt: operations.show_delivery(rt.database, delivery_id)))


@app.command("replay", epilog=examples(
    "crossdock webhooks replay 42 43",
    "crossdock webhooks replay --source gh-main --since 2026-01-31T09:00 --status dead"))
def replay(
    ids: Annotated[list[int] | None, typer.Argument(
        min=1, help="Delivery ids.")] = None,
    source: Annotated[str | None, typer.Option(help="Replay this source's window.")] = None,
    since: Annotated[str | None, typer.Option(help="Window start (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(
        help="Window end (ISO 8601).", show_default="now")] = None,
    status: Annotated[DeliveryStatus | None, typer.Option(
        help="Only deliveries in this status.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue deliveries again: by id, or a source's deliveries between two times."""
    replayed = _with_runtime(lambda rt: operations.replay(
        rt.database, ids=ids or [], source=source,
        since=_time(since, "--since"), until=_time(until, "--until"), status=status))
    if as_json:
        print_json({"replayed": replayed})
        return
    stdout.print(f"replayed {len(replayed)} deliveries", highlight=False)


# Sending: applications, endpoints, event types and messages, after the receiving side.
outbound_cli.register(app)
