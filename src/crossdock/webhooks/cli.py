"""``crossdock webhooks ...``: sources, routes, the server, deliveries and replay."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.table import Table

from crossdock.core.backoff import Backoff
from crossdock.core.cli import JsonFlag, print_json, settings, stdout
from crossdock.core.entry import database_url, run
from crossdock.core.runtime import Runtime
from crossdock.webhooks import operations
from crossdock.webhooks.app import serve as serve_app
from crossdock.webhooks.errors import WebhooksError
from crossdock.webhooks.models import DeliveryStatus
from crossdock.webhooks.providers import PROVIDERS
from crossdock.webhooks.settings import WebhooksSettings

T = TypeVar("T")


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
        raise WebhooksError(f"{name} {value!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _options(values: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise WebhooksError(f"--option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value
    return options


def build_cli() -> typer.Typer:  # noqa: C901, PLR0915 - one closure per command
    """The ``crossdock webhooks`` command group."""
    app = typer.Typer(no_args_is_help=True, help="Inbound webhooks.")
    source_app = typer.Typer(no_args_is_help=True, help="Webhook sources.")
    route_app = typer.Typer(no_args_is_help=True, help="Routing rules of a source.")
    app.add_typer(source_app, name="source")
    app.add_typer(route_app, name="route")

    @source_app.command("add")
    def source_add(
        name: Annotated[str, typer.Argument(help="The source's name: POST /webhooks/NAME.")],
        provider: Annotated[str, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_PROVIDER",
            help=f"One of {', '.join(PROVIDERS)}.")],
        secret: Annotated[list[str], typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_SECRET",
            help="env:NAME (read when the receiver loads the source) or a literal; "
                 "repeat to rotate.")],
        option: Annotated[list[str] | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_OPTION",
            help="Provider option KEY=VALUE (hmac: header, algorithm, encoding, prefix, "
                 "event_header, delivery_header).")] = None,
        max_body_bytes: Annotated[int | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_MAX_BODY_BYTES",
            help="Size limit of a body (default 25 MB).")] = None,
        retry_max_tries: Annotated[int, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_MAX_TRIES", help="Tries before dead.")] = 8,
        retry_base_seconds: Annotated[float, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_BASE_SECONDS",
            help="First retry delay; doubles each try.")] = 5.0,
        retry_max_seconds: Annotated[float, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_MAX_SECONDS", help="Longest delay.")] = 3600.0,
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

    @source_app.command("update")
    def source_update(
        name: Annotated[str, typer.Argument(help="The source to change.")],
        add_secret: Annotated[list[str] | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_ADD_SECRET",
            help="A secret to accept from now on (env:NAME or a literal).")] = None,
        remove_secret: Annotated[list[str] | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_REMOVE_SECRET",
            help="A secret to stop accepting, as it was given.")] = None,
        max_body_bytes: Annotated[int | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_MAX_BODY_BYTES", help="Size limit of a body.")] = None,
        retry_max_tries: Annotated[int | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_MAX_TRIES", help="Tries before dead.")] = None,
        retry_base_seconds: Annotated[float | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_BASE_SECONDS",
            help="First retry delay; doubles each try.")] = None,
        retry_max_seconds: Annotated[float | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_RETRY_MAX_SECONDS", help="Longest delay.")] = None,
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

    @source_app.command("remove")
    def source_remove(
        name: Annotated[str, typer.Argument(help="The source to delete.")],
        as_json: JsonFlag = False,
    ) -> None:
        """Delete a source with its routes and its deliveries."""
        deliveries = _with_runtime(lambda rt: operations.remove_source(rt.database, name))
        if as_json:
            print_json({"removed": name, "deliveries": deliveries})
            return
        stdout.print(f"removed source {name} and its {deliveries} deliveries", highlight=False)

    @source_app.command("list")
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

    @route_app.command("add")
    def route_add(
        source: Annotated[str, typer.Argument(help="The source.")],
        handler: Annotated[str, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_HANDLER", help="bus, log, forward or a registered one.")],
        event: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_EVENT", help="Event type (default: any).")] = None,
        action: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_ACTION", help="Action (default: any).")] = None,
        filter_: Annotated[list[str] | None, typer.Option(
            "--filter", envvar="CROSSDOCK_WEBHOOKS_FILTER",
            help="'path == value' or 'path != value' on the payload; repeatable.")] = None,
        config: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_ROUTE_CONFIG", help="Handler config as JSON.")] = None,
        position: Annotated[int, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_POSITION", help="Order among routes.")] = 0,
        as_json: JsonFlag = False,
    ) -> None:
        """Add a routing rule to a source."""
        try:
            parsed = orjson.loads(config) if config else {}
        except orjson.JSONDecodeError as exc:
            raise WebhooksError("--config must be a JSON object") from exc
        route = _with_runtime(lambda rt: operations.add_route(
            rt.database, source=source, handler=handler, event_type=event, action=action,
            filters=filter_ or [], config=parsed, position=position))
        if as_json:
            print_json(route.public())
            return
        stdout.print(f"added route {route.id} to {source}", highlight=False)

    @route_app.command("remove")
    def route_remove(
        route_id: Annotated[int, typer.Argument(help="The route's id (route list).")],
    ) -> None:
        """Delete a routing rule."""
        _with_runtime(lambda rt: operations.remove_route(rt.database, route_id))
        stdout.print(f"removed route {route_id}", highlight=False)

    @route_app.command("list")
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

    @app.command("prune")
    def prune(
        older_than_days: Annotated[float | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_PRUNE_OLDER_THAN_DAYS",
            help="Age in days (default: CROSSDOCK_WEBHOOKS_RETENTION_DAYS, 30).")] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Delete finished deliveries (processed, dead, rejected) older than the retention."""
        days = WebhooksSettings.from_env().retention_days if older_than_days is None \
            else older_than_days
        if older_than_days is None and days == 0:
            raise WebhooksError("retention is off (CROSSDOCK_WEBHOOKS_RETENTION_DAYS=0): "
                                "give --older-than-days to prune anyway")
        pruned = _with_runtime(lambda rt: operations.prune(rt.database, older_than_days=days))
        if as_json:
            print_json({"pruned": pruned, "older_than_days": days})
            return
        stdout.print(f"pruned {pruned} deliveries older than {days:g} days", highlight=False)

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option(envvar="CROSSDOCK_WEBHOOKS_HOST",
                                          help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(envvar="CROSSDOCK_WEBHOOKS_PORT",
                                          help="Port to listen on.")] = 8080,
        admin_port: Annotated[int | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_ADMIN_PORT", show_default=False,
            help="Serve the admin API here, not on --port.")] = None,
    ) -> None:
        """Serve POST /webhooks/{source} and the admin API (/api/...)."""
        configured = dataclasses.replace(WebhooksSettings.from_env(), host=host, port=port,
                                         admin_port=admin_port)
        _with_runtime(lambda rt: serve_app(rt, configured))

    @app.command("deliveries")
    def deliveries(
        status: Annotated[DeliveryStatus | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_STATUS", help="Only this status.")] = None,
        source: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_SOURCE", help="Only this source.")] = None,
        limit: Annotated[int, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_LIMIT", help="At most this many.")] = 1000,
        as_json: JsonFlag = False,
    ) -> None:
        """List deliveries, oldest first."""
        found = _with_runtime(lambda rt: operations.list_deliveries(
            rt.database, status=status, source=source, limit=limit))
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

    @app.command("show")
    def show(delivery_id: Annotated[int, typer.Argument(help="Delivery id.")]) -> None:
        """Show a delivery and its attempts (as JSON)."""
        print_json(_with_runtime(lambda rt: operations.show_delivery(rt.database,
                                                                     delivery_id)))

    @app.command("replay")
    def replay(
        ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids.")] = None,
        source: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_SOURCE", help="Replay this source's window.")] = None,
        since: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_SINCE", help="Window start (ISO 8601).")] = None,
        until: Annotated[str | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_UNTIL", help="Window end (ISO 8601; default now).")
        ] = None,
        status: Annotated[DeliveryStatus | None, typer.Option(
            envvar="CROSSDOCK_WEBHOOKS_STATUS", help="Only deliveries in this status.")
        ] = None,
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

    return app
