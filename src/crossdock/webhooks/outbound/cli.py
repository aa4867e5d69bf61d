"""``crossdock webhooks app|event-type|send|attempts|resend|recover``: sending webhooks.

As for the inbound commands, what a command acts on comes from its arguments only. The
``endpoint`` group is in ``endpoints_cli``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from crossdock.core.cli import JsonFlag, print_json, stdout
from crossdock.core.clihelp import examples
from crossdock.webhooks.errors import InvalidOutbound
from crossdock.webhooks.outbound.clitools import parse_json, since_time, with_outbound
from crossdock.webhooks.outbound.endpoints_cli import endpoint_group
from crossdock.webhooks.outbound.service import Outbound

app_group = typer.Typer(no_args_is_help=True, help="Applications: who outbound webhooks go to.",
                        epilog=examples("crossdock webhooks app list"))
event_type_group = typer.Typer(no_args_is_help=True, help="The catalogue of event types.",
                               epilog=examples("crossdock webhooks event-type list"))


def register(parent: typer.Typer) -> None:
    """Add the outbound commands to ``crossdock webhooks``."""
    parent.add_typer(app_group, name="app")
    parent.add_typer(endpoint_group, name="endpoint")
    parent.add_typer(event_type_group, name="event-type")
    parent.command("send", epilog=examples(
        "crossdock webhooks send acme invoice.paid --data '{\"id\": 7}'",
        "crossdock webhooks send acme invoice.paid --data @invoice.json --key inv-7 "
        "--ordering-key customer-42"))(send)
    parent.command("attempts", epilog=examples(
        "crossdock webhooks attempts 12", "crossdock webhooks attempts 12 --json"))(attempts)
    parent.command("resend", epilog=examples(
        "crossdock webhooks resend 12", "crossdock webhooks resend 12 --endpoint 3"))(resend)
    parent.command("recover", epilog=examples(
        "crossdock webhooks recover 3 --since 2h",
        "crossdock webhooks recover 3 --since 2026-01-31T09:00"))(recover)


# Applications


@app_group.command("add", epilog=examples(
    "crossdock webhooks app add acme", "crossdock webhooks app add acme --description 'ACME Inc.'"))
def app_add(
    name: Annotated[str, typer.Argument(help="The application's name (letters, digits, '.', "
                                             "'_', '-').")],
    description: Annotated[str, typer.Option(help="What the application is.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add an application: a client or a team whose endpoints receive webhooks."""
    added = with_outbound(lambda out: out.add_application(name, description))
    if as_json:
        print_json(added.public())
        return
    stdout.print(f"added application {added.name}", highlight=False)


@app_group.command("list", epilog=examples(
    "crossdock webhooks app list", "crossdock webhooks app list --json"))
def app_list(as_json: JsonFlag = False) -> None:
    """List applications."""
    apps = with_outbound(lambda out: out.list_applications())
    if as_json:
        print_json([found.public() for found in apps])
        return
    table = Table("name", "description")
    for found in apps:
        table.add_row(found.name, found.description)
    stdout.print(table)


@app_group.command("remove", epilog=examples("crossdock webhooks app remove acme --yes"))
def app_remove(
    name: Annotated[str, typer.Argument(help="The application to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm: its endpoints and "
                                      "messages go with it.")] = False,
) -> None:
    """Delete an application with its endpoints and messages (needs --yes)."""
    if not yes:
        raise InvalidOutbound(f"removing application {name!r} deletes its endpoints and "
                              "messages: give --yes to confirm")
    with_outbound(lambda out: out.remove_application(name))
    stdout.print(f"removed application {name}", highlight=False)


# Event types


@event_type_group.command("add", epilog=examples(
    "crossdock webhooks event-type add invoice.paid --schema "
    "'{\"type\": \"object\", \"required\": [\"id\"]}'",
    "crossdock webhooks event-type add invoice.paid --schema @invoice.schema.json --update"))
def event_type_add(
    name: Annotated[str, typer.Argument(help="The event type, e.g. invoice.paid.")],
    schema: Annotated[str | None, typer.Option(
        help="The JSON Schema payloads must match, inline or @file.",
        show_default="none: any JSON")] = None,
    description: Annotated[str, typer.Option(help="What the event means.")] = "",
    update: Annotated[bool, typer.Option("--update", help="Replace the type if it exists.")
                      ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add an event type to the catalogue (or replace it, with --update)."""
    parsed = parse_json(schema, "--schema") if schema is not None else None

    async def work(out: Outbound) -> Any:
        if update and await out.store.find_event_type(name) is not None:
            return await out.update_event_type(name, description=description, schema=parsed)
        return await out.add_event_type(name, description=description, schema=parsed)

    added = with_outbound(work)
    if as_json:
        print_json(added.public())
        return
    stdout.print(f"event type {added.name} ready"
                 + (" (schema checked on send)" if added.schema is not None else ""),
                 highlight=False)


@event_type_group.command("list", epilog=examples(
    "crossdock webhooks event-type list", "crossdock webhooks event-type list --json"))
def event_type_list(as_json: JsonFlag = False) -> None:
    """List the event types."""
    found = with_outbound(lambda out: out.list_event_types())
    if as_json:
        print_json([event_type.public() for event_type in found])
        return
    table = Table("name", "schema", "description")
    for event_type in found:
        table.add_row(event_type.name, "yes" if event_type.schema is not None else "no",
                      event_type.description)
    stdout.print(table)


@event_type_group.command("remove", epilog=examples(
    "crossdock webhooks event-type remove invoice.paid"))
def event_type_remove(
    name: Annotated[str, typer.Argument(help="The event type to delete.")],
) -> None:
    """Delete an event type; refused while endpoints or undelivered messages use it."""
    with_outbound(lambda out: out.remove_event_type(name))
    stdout.print(f"removed event type {name}", highlight=False)


# Messages


def send(
    app: Annotated[str, typer.Argument(help="The application whose endpoints get it.")],
    event_type: Annotated[str, typer.Argument(help="Its event type (event-type list).")],
    data: Annotated[str, typer.Option(help="The payload: JSON inline, or @file.")],
    key: Annotated[str | None, typer.Option(
        help="Idempotency key: the same key within 24 hours is the same message.")] = None,
    ordering_key: Annotated[str | None, typer.Option(
        help="Messages with one ordering key reach each endpoint in the order sent.")] = None,
    channel: Annotated[list[str] | None, typer.Option(
        help="A channel the message is sent on; repeatable.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a message to every matching endpoint of an application."""
    payload = parse_json(data, "--data")
    published = with_outbound(lambda out: out.send(
        app, event_type, payload, key=key, ordering_key=ordering_key, channels=channel or ()))
    message = published.message
    if as_json:
        print_json({**message.public(), "created": published.created,
                    "destinations": published.destinations})
        return
    if not published.created:
        stdout.print(f"message {message.id} ({message.uid}) was sent already with key "
                     f"{key!r}: nothing new is sent", highlight=False)
        return
    stdout.print(f"sent message {message.id} ({message.uid}) to {published.destinations} "
                 f"endpoint(s)", highlight=False)


def attempts(
    message_id: Annotated[int, typer.Argument(min=1, help="The message's id (from send).")],
    as_json: JsonFlag = False,
) -> None:
    """Show where a message stands at each endpoint, and every attempt."""

    async def work(out: Outbound) -> dict[str, Any]:
        return {"message": (await out.get_message(message_id)).public(),
                "destinations": await out.destinations(message_id),
                "attempts": [a.public() for a in await out.attempts(message_id)]}

    found = with_outbound(work)
    if as_json:
        print_json(found)
        return
    message = found["message"]
    stdout.print(f"message {message['id']} ({message['uid']}) {message['event_type']} of "
                 f"{message['app']}", highlight=False)
    table = Table("endpoint", "url", "status", "attempts", "next attempt", "last error")
    for where in found["destinations"]:
        table.add_row(str(where["endpoint_id"]), where["url"], where["status"],
                      str(where["attempts"]), where["next_attempt_at"] or "",
                      where["last_error"] or "")
    stdout.print(table)
    tried = Table("started", "endpoint", "status", "code", "ms", "error")
    for attempt in found["attempts"]:
        tried.add_row(attempt["started_at"], str(attempt["endpoint_id"]), attempt["status"],
                      str(attempt["response_code"] or ""), f"{attempt['duration_ms']:.1f}",
                      attempt["error"] or "")
    stdout.print(tried)


def resend(
    message_id: Annotated[int, typer.Argument(min=1, help="The message's id (from send).")],
    endpoint: Annotated[int | None, typer.Option(
        min=1, help="Send it to this endpoint only, delivered there or not; without it, to every "
        "endpoint where it failed or ran out of tries.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a message again from its first try."""
    resent = with_outbound(lambda out: out.resend(message_id, endpoint))
    if as_json:
        print_json({"resent": resent})
        return
    where = f"endpoint {endpoint}" if endpoint is not None else "the endpoints where it failed"
    stdout.print(f"queued message {message_id} again for {where} ({resent} destination(s))",
                 highlight=False)


def recover(
    endpoint_id: Annotated[int, typer.Argument(min=1, help="The endpoint's id.")],
    since: Annotated[str, typer.Option(
        help="Messages sent since: ISO 8601, or a duration back from now (30m, 2h, 7d).")],
    as_json: JsonFlag = False,
) -> None:
    """Send again the messages that failed or ran out of tries at an endpoint since a time."""
    start = since_time(since)
    recovered = with_outbound(lambda out: out.recover(endpoint_id, start))
    if as_json:
        print_json({"recovered": recovered, "since": start.isoformat()})
        return
    stdout.print(f"queued {recovered} message(s) again for endpoint {endpoint_id}",
                 highlight=False)
