"""``crossdock webhooks endpoint ...``: where an application's webhooks go.

``endpoint add`` makes the endpoint's signing key and prints what the receiver verifies with,
once: the ``whsec_`` secret for HMAC (``v1``), the ``whpk_`` public key for ed25519 (``v1a``;
the private key stays here). ``rotate-secret`` makes a new key and keeps signing with the old
one too for an overlap (24 hours unless told), so a receiver can switch keys without losing
a message.

Signing secrets are stored encrypted (``CROSSDOCK_WEBHOOKS_SECRET_KEY``); ``reencrypt``
encrypts them all again with the newest key, after a key rotation or an upgrade.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from crossdock.core.cli import JsonFlag, print_json, stdout
from crossdock.core.clihelp import examples
from crossdock.webhooks.errors import SigningKeyUnavailable
from crossdock.webhooks.outbound.clitools import parse_headers, with_outbound
from crossdock.webhooks.outbound.models import Endpoint, EndpointSettings, SigningScheme
from crossdock.webhooks.outbound.service import Outbound

endpoint_group = typer.Typer(no_args_is_help=True, help="An application's endpoints.",
                             epilog=examples("crossdock webhooks endpoint list acme"))


def _show_endpoint(endpoint: Endpoint, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(endpoint.public())
        return
    state = "" if endpoint.enabled else f" (disabled: {endpoint.disabled_reason})"
    stdout.print(f"{verb} endpoint {endpoint.id} of {endpoint.app}: {endpoint.url}{state}",
                 highlight=False, soft_wrap=True)


def _show_secret(endpoint: Endpoint, as_json: bool, verb: str) -> None:
    """The key a receiver verifies with, once."""
    key = endpoint.receiver_key()
    if as_json:
        print_json({**endpoint.public(), **key})
        return
    _show_endpoint(endpoint, as_json, verb)
    if key["public_key"] is not None:
        stdout.print(f"ed25519 public key (shown once; the receiver needs only this to verify "
                     f"v1a signatures): {key['public_key']}", highlight=False, soft_wrap=True)
        return
    stdout.print(f"signing secret (shown once, keep it for the receiver): {key['secret']}",
                 highlight=False, soft_wrap=True)


_SIGNING_HELP = ("hmac signs v1 with a whsec_ secret the receiver shares; ed25519 signs v1a "
                 "with a private key kept here, the receiver gets only the whpk_ public key.")


@endpoint_group.command("add", epilog=examples(
    "crossdock webhooks endpoint add acme https://hooks.acme.example/crossdock",
    "crossdock webhooks endpoint add acme https://hooks.acme.example/signed --signing ed25519",
    "crossdock webhooks endpoint add acme https://hooks.acme.example/billing "
    "--event-type invoice.paid --channel eu --rate-limit 20 --header 'X-Team: billing'"))
def endpoint_add(
    app: Annotated[str, typer.Argument(help="The application it belongs to.")],
    url: Annotated[str, typer.Argument(help="Where messages are POSTed (http or https).")],
    description: Annotated[str, typer.Option(help="What the endpoint is.")] = "",
    event_type: Annotated[list[str] | None, typer.Option(
        help="Only this event type; repeatable.", show_default="every type")] = None,
    channel: Annotated[list[str] | None, typer.Option(
        help="Only messages sent on this channel; repeatable.",
        show_default="every message")] = None,
    rate_limit: Annotated[float | None, typer.Option(
        help="Requests per second at most.", show_default="no limit")] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, help="Requests in flight at once at most.", show_default="no cap")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 15.0,
    header: Annotated[list[str] | None, typer.Option(
        help="'Name: value' sent with every request; repeatable.")] = None,
    signing: Annotated[SigningScheme, typer.Option(
        envvar="CROSSDOCK_WEBHOOKS_SIGNING", help=_SIGNING_HELP)] = SigningScheme.HMAC,
    as_json: JsonFlag = False,
) -> None:
    """Add an endpoint; prints its signing secret (or ed25519 public key), once."""
    settings = EndpointSettings(
        url=url, description=description,
        event_types=tuple(event_type) if event_type else None,
        channels=tuple(channel) if channel else None, rate_limit=rate_limit,
        max_concurrency=max_concurrency, timeout_seconds=timeout,
        headers=parse_headers(header) or {})
    added = with_outbound(lambda out: out.add_endpoint(app, settings, signing=signing))
    _show_secret(added, as_json, "added")


@endpoint_group.command("update", epilog=examples(
    "crossdock webhooks endpoint update 3 --url https://hooks.acme.example/v2",
    "crossdock webhooks endpoint update 3 --event-type invoice.paid --rate-limit 5",
    "crossdock webhooks endpoint update 3 --every-event-type --enable",
    "crossdock webhooks endpoint update 3 --disable 'maintenance until Monday'"))
def endpoint_update(
    endpoint_id: Annotated[int, typer.Argument(min=1, help="The endpoint's id.")],
    url: Annotated[str | None, typer.Option(help="A new URL.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    event_type: Annotated[list[str] | None, typer.Option(
        help="Only these event types from now on; repeatable.")] = None,
    every_event_type: Annotated[bool, typer.Option(
        "--every-event-type", help="Drop the event-type filter.")] = False,
    channel: Annotated[list[str] | None, typer.Option(
        help="Only these channels from now on; repeatable.")] = None,
    every_channel: Annotated[bool, typer.Option(
        "--every-channel", help="Drop the channel filter.")] = False,
    rate_limit: Annotated[float | None, typer.Option(help="Requests per second at most.")
                          ] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, help="Requests in flight at once at most.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for an answer.")
                       ] = None,
    header: Annotated[list[str] | None, typer.Option(
        help="'Name: value' replacing the custom headers; repeatable.")] = None,
    enable: Annotated[bool, typer.Option(
        "--enable", help="Enable it again (recover sends what it missed).")] = False,
    disable: Annotated[str | None, typer.Option(
        help="Disable it, for this reason: waiting messages stop.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an endpoint: what is given changes, the rest stays."""
    changes: dict[str, Any] = {name: value for name, value in (
        ("url", url), ("description", description), ("rate_limit", rate_limit),
        ("max_concurrency", max_concurrency), ("timeout_seconds", timeout),
        ("headers", parse_headers(header))) if value is not None}
    if event_type or every_event_type:
        changes["event_types"] = None if every_event_type else tuple(event_type or ())
    if channel or every_channel:
        changes["channels"] = None if every_channel else tuple(channel or ())

    async def work(out: Outbound) -> Endpoint:
        changed = await out.update_endpoint(endpoint_id, changes) if changes \
            else await out.store.get_endpoint(endpoint_id)
        if enable:
            changed = await out.enable_endpoint(endpoint_id)
        if disable is not None:
            changed = await out.disable_endpoint(endpoint_id, disable)
        return changed

    _show_endpoint(with_outbound(work), as_json, "updated")


@endpoint_group.command("rotate-secret", epilog=examples(
    "crossdock webhooks endpoint rotate-secret 3",
    "crossdock webhooks endpoint rotate-secret 3 --overlap-hours 72",
    "crossdock webhooks endpoint rotate-secret 3 --signing ed25519"))
def endpoint_rotate_secret(
    endpoint_id: Annotated[int, typer.Argument(min=1, help="The endpoint's id.")],
    overlap_hours: Annotated[float, typer.Option(
        min=0, help="Hours the old secret still signs (both signatures are sent).")] = 24.0,
    signing: Annotated[SigningScheme | None, typer.Option(
        envvar="CROSSDOCK_WEBHOOKS_SIGNING", help=_SIGNING_HELP,
        show_default="the endpoint's current scheme")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make a new signing key; prints the secret (or ed25519 public key), once."""
    overlap = dt.timedelta(hours=overlap_hours)
    rotated = with_outbound(lambda out: out.rotate_secret(endpoint_id, overlap=overlap,
                                                          signing=signing))
    _show_secret(rotated, as_json, "rotated the secret of")


@endpoint_group.command("remove", epilog=examples("crossdock webhooks endpoint remove 3"))
def endpoint_remove(
    endpoint_id: Annotated[int, typer.Argument(min=1, help="The endpoint's id.")],
) -> None:
    """Delete an endpoint with its attempts."""
    with_outbound(lambda out: out.remove_endpoint(endpoint_id))
    stdout.print(f"removed endpoint {endpoint_id}", highlight=False)


@endpoint_group.command("list", epilog=examples(
    "crossdock webhooks endpoint list", "crossdock webhooks endpoint list acme --json"))
def endpoint_list(
    app: Annotated[str | None, typer.Argument(
        help="Only this application's.", show_default="every application")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List endpoints (never their secrets)."""
    found = with_outbound(lambda out: out.list_endpoints(app))
    if as_json:
        print_json([endpoint.public() for endpoint in found])
        return
    table = Table("id", "app", "url", "event types", "channels", "state")
    for endpoint in found:
        settings = endpoint.settings
        table.add_row(str(endpoint.id), endpoint.app, settings.url,
                      " ".join(settings.event_types or ("*",)),
                      " ".join(settings.channels or ("*",)),
                      "enabled" if endpoint.enabled else f"disabled: {endpoint.disabled_reason}")
    stdout.print(table)


@endpoint_group.command("reencrypt", epilog=examples(
    "crossdock webhooks endpoint reencrypt",
    "crossdock webhooks endpoint reencrypt --json"))
def endpoint_reencrypt(as_json: JsonFlag = False) -> None:
    """Encrypt every endpoint's stored signing secrets with the newest key of
    CROSSDOCK_WEBHOOKS_SECRET_KEY (NEW,OLD while rotating), after a key rotation or an upgrade
    from plain secrets; running it again changes nothing."""
    done = with_outbound(lambda out: out.store.reencrypt_secrets())
    if as_json:
        print_json({"changed": done.changed, "undecryptable": list(done.locked)})
    else:
        stdout.print(f"re-encrypted the signing secrets of {done.changed} endpoint(s) with the "
                     "newest key", highlight=False)
    if done.locked:
        ids = ", ".join(str(endpoint_id) for endpoint_id in done.locked)
        raise SigningKeyUnavailable(
            f"the signing secrets of endpoint(s) {ids} cannot be decrypted with the keys of "
            f"{done.keys}: add the key they were encrypted with (comma-separated, after the "
            "newest) and run this again")
