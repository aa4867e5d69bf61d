"""How the webhooks service plugs into the core."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shlex
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from crossdock.core.services import Listener, Served, Service

if TYPE_CHECKING:
    import typer

    from crossdock.core.bus import Event
    from crossdock.core.database import Connection
    from crossdock.core.runtime import Runtime
    from crossdock.webhooks.handlers import Work
    from crossdock.webhooks.outbound.forwarding import Forwarder
    from crossdock.webhooks.outbound.relay import Relay

# Every `crossdock` command discovers this module: the receiver, the admin API and the
# processor are imported only by the processes that run them.


async def work(runtime: Runtime) -> None:
    """A worker's part until cancelled: drain the deliveries table (the inbound queue) and
    send outbound webhooks (the destinations table), each in a loop of its own."""
    from crossdock.webhooks.outbound.dispatcher import sending
    from crossdock.webhooks.processing import Processor

    async with asyncio.TaskGroup() as group:
        group.create_task(Processor(runtime.database, runtime.bus).run())
        group.create_task(sending(runtime.database))


PRUNE_TASK = "webhooks.prune"


def register(runtime: Runtime) -> None:
    """The ``forward`` handler (inbound deliveries sent on as outbound messages), the relay of
    the platform's bus events (``gitslice.*``) to the system application ``crossdock``, and
    the hourly pruning of finished deliveries and sent messages past
    ``CROSSDOCK_WEBHOOKS_RETENTION_DAYS``."""
    from crossdock.webhooks.handlers import register_handler

    register_handler("forward", _Forward(runtime))
    from crossdock.webhooks.outbound.platform_events import RELAYED

    relay = _Relay(runtime)
    for event_type in RELAYED:
        runtime.bus.subscribe(event_type, name=f"webhooks.relay.{event_type}")(relay)

    @runtime.jobs.periodic(PRUNE_TASK, cron="17 * * * *")
    async def prune(timestamp: int) -> None:  # noqa: ARG001 (periodic jobs get it)
        from crossdock.core.logging import get_logger
        from crossdock.webhooks.operations import prune, prune_messages
        from crossdock.webhooks.settings import WebhooksSettings

        days = WebhooksSettings.from_env().retention_days
        if days > 0:
            pruned = await prune(runtime.database, older_than_days=days)
            messages = await prune_messages(runtime.database, older_than_days=days)
            get_logger("crossdock.webhooks").info("webhooks_pruned", deliveries=pruned,
                                                  messages=messages, older_than_days=days)


class _Forward:
    """The ``forward`` handler, its module (and the JSON Schema library) imported at its first
    delivery: every command registers it, few forward anything."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.forwarder: Forwarder | None = None

    async def __call__(self, work: Work, conn: Connection) -> None:
        if self.forwarder is None:
            from crossdock.webhooks.outbound.forwarding import Forwarder

            self.forwarder = Forwarder(self.runtime.database)
        await self.forwarder(work, conn)


class _Relay:
    """The bus handler that sends platform events on as outbound messages, its module
    imported at its first event (as :class:`_Forward`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.relay: Relay | None = None

    async def __call__(self, event: Event, conn: Connection) -> None:
        if self.relay is None:
            from crossdock.webhooks.outbound.relay import Relay

            self.relay = Relay(self.runtime.database)
        await self.relay(event, conn)


async def refresh_metrics(runtime: Runtime) -> None:
    """The backlog gauges, from the deliveries table (one query per scrape).

    Without the database the scrape goes on with the previous values; ``/readyz`` tells.
    """
    from crossdock.core.logging import get_logger
    from crossdock.webhooks import metrics, store
    from crossdock.webhooks.errors import StoreError

    try:
        async with store.connection(runtime.database, within=2.0) as conn:
            received, failed, oldest = await store.backlog(conn)
    except StoreError as exc:
        get_logger("crossdock.webhooks").warning("webhooks_backlog_unavailable", error=str(exc))
        return
    metrics.WAITING.labels("received").set(received)
    metrics.WAITING.labels("failed").set(failed)
    metrics.OLDEST_WAITING.set(oldest)


@contextlib.asynccontextmanager
async def up(runtime: Runtime) -> AsyncIterator[list[Listener]]:
    """Serve the receiver and the admin API; with demo data, a ``demo`` GitHub source."""
    from crossdock.core.tokens import Role, TokenStore
    from crossdock.webhooks import store
    from crossdock.webhooks.app import build_admin_app, build_app
    from crossdock.webhooks.operations import demo_delivery, demo_source
    from crossdock.webhooks.settings import WebhooksSettings

    settings = WebhooksSettings.from_env()
    if runtime.demo:
        async with store.transaction(runtime.database) as conn:
            if await store.find_source(conn, "demo") is None:
                await store.add_source(conn, demo_source())
                await store.insert_deliveries(conn, [demo_delivery()])
        runtime.demo_notes.append(demo_note)
        # The admin API stays closed: the demo gets a token of its own, new at each start.
        _, token = await TokenStore(runtime.database).create(
            role=Role.ADMIN, name=DEMO_ADMIN_NAME, replace=True)
        runtime.demo_notes.append(functools.partial(admin_note, token))
    if settings.admin_port is None:
        yield [Listener(name="webhooks", app=build_app(runtime, settings), port=settings.port,
                        paths=("/webhooks/demo", "/api/deliveries"))]
        return
    yield [Listener(name="webhooks", app=build_app(runtime, settings), port=settings.port,
                    paths=("/webhooks/demo",)),
           Listener(name="webhooks-admin", app=build_admin_app(runtime),
                    port=settings.admin_port, paths=("/api/deliveries",))]


def demo_note(served: Served) -> list[str]:
    """The demo source, and a shell line that sends it a delivery signed as GitHub does."""
    from crossdock.webhooks.operations import DEMO_SECRET

    url = f"{served.urls['webhooks']}/webhooks/demo"
    return [
        f"webhooks demo: source 'demo' (github) at {url}, secret {DEMO_SECRET}",
        "  it holds a first delivery (a ping) to open and replay from the dashboard;",
        "  send it a signed delivery of your own (prints 202):",
        "  " + signed_curl(url, DEMO_SECRET),
        "  then list what arrived: crossdock webhooks deliveries --source demo",
    ]


#: The name of the admin token ``crossdock up`` makes (and replaces) for its demo.
DEMO_ADMIN_NAME = "crossdock up demo"


def admin_note(token: str, served: Served) -> list[str]:
    """The admin token ``crossdock up`` made, and a line that lists deliveries with it."""
    base = served.urls.get("webhooks-admin") or served.urls["webhooks"]
    header = shlex.quote(f"Authorization: Bearer {token}")
    return [
        ("webhooks admin API: an admin token made for this run of crossdock up (make your "
         "own with crossdock admin token create):"),
        f"  curl -sS -H {header} {shlex.quote(base + '/api/deliveries')}",
    ]


def signed_curl(url: str, secret: str) -> str:
    """A bash line that POSTs a JSON body to ``url`` with GitHub's headers, signing the body
    with ``secret`` (HMAC-SHA256 by ``openssl``) and a fresh delivery id each time."""
    signature = ("$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac "
                 f"{shlex.quote(secret)} | awk '{{print $NF}}')")
    return (
        "body='{\"zen\":\"Hello from the quickstart\"}'; "
        f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {shlex.quote(url)} "
        "-H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' "
        '-H "X-GitHub-Delivery: demo-$(date +%s)-$RANDOM" '
        f'-H "X-Hub-Signature-256: sha256={signature}" --data-binary "$body"'
    )


def _cli() -> typer.Typer:
    from crossdock.webhooks.cli import build_cli

    return build_cli()


def _admin_graph() -> Any:
    # Imported on use: strawberry is the ``admin`` extra's, and only ``up`` serves the graph.
    from crossdock.webhooks.admin_graph import build_schema

    return build_schema()


service = Service(
    name="webhooks",
    description="Webhooks: receive (verify, route, retry, replay) and send (signed, retried).",
    migrations="crossdock.webhooks.schema",
    cli=_cli,
    register=register,
    metrics=refresh_metrics,
    worker=work,
    up=up,
    up_order=20,
    admin_graph=_admin_graph,
)
