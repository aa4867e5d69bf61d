"""``Outbound.send`` and the management calls: every input checked before it is stored."""

from __future__ import annotations

import datetime as dt

import pytest

from crossdock.core.database import Database
from crossdock.webhooks.errors import (
    InvalidOutbound,
    InvalidPayload,
    UnknownApplication,
    UnknownEndpoint,
    UnknownEventType,
)
from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.service import Outbound

pytestmark = pytest.mark.anyio

SCHEMA = {"type": "object", "required": ["id"],
          "properties": {"id": {"type": "integer"}, "lines": {
              "type": "array", "items": {"type": "object", "required": ["sku"]}}}}


@pytest.fixture
async def outbound(database: Database) -> Outbound:
    out = Outbound(database, cache_seconds=60)
    await out.add_application("acme")
    await out.add_event_type("invoice.paid", schema=SCHEMA)
    await out.add_endpoint("acme", EndpointSettings(url="https://hooks.example/a"))
    return out


async def test_a_payload_matching_its_schema_is_sent_and_a_breaking_one_refused_with_its_path(
    outbound: Outbound,
) -> None:
    published = await outbound.send("acme", "invoice.paid", {"id": 7, "lines": [{"sku": "x"}]},
                                    key="inv-7", ordering_key="customer-1", channels=["eu"])
    assert (published.created, published.destinations) == (True, 1)
    assert published.message.channels == ("eu",)
    with pytest.raises(InvalidPayload, match=r"at \$\.lines\[0\]: 'sku' is a required property"):
        await outbound.send("acme", "invoice.paid", {"id": 8, "lines": [{}]})
    with pytest.raises(InvalidPayload, match=r"at \$\.id: 'x' is not of type 'integer'"):
        await outbound.send("acme", "invoice.paid", {"id": "x"})
    with pytest.raises(InvalidPayload, match="not JSON"):
        await outbound.send("acme", "invoice.paid", {"id": 1, "when": object()})
    # PostgreSQL's jsonb cannot hold U+0000: refused in one line, not a failed statement.
    with pytest.raises(InvalidPayload, match="U\\+0000 character in a string"):
        await outbound.send("acme", "invoice.paid", {"id": 1, "memo": "a\x00b"})
    # A backslash followed by u0000 is text like any other.
    assert (await outbound.send("acme", "invoice.paid", {"id": 1, "memo": "\\u0000"})).created
    with pytest.raises(UnknownEventType, match="event-type add nope"):
        await outbound.send("acme", "nope", {})
    with pytest.raises(UnknownApplication, match="'ghost'"):
        await outbound.send("ghost", "invoice.paid", {"id": 1})
    with pytest.raises(InvalidOutbound, match="channel"):
        await outbound.send("acme", "invoice.paid", {"id": 1}, channels=["with space"])
    with pytest.raises(InvalidOutbound, match="ordering key"):
        await outbound.send("acme", "invoice.paid", {"id": 1}, ordering_key="")


async def test_a_changed_schema_holds_for_the_next_send(outbound: Outbound) -> None:
    await outbound.add_event_type("untyped")
    assert (await outbound.send("acme", "untyped", ["anything"])).created
    await outbound.update_event_type("untyped", schema={"type": "object"})
    with pytest.raises(InvalidPayload):
        await outbound.send("acme", "untyped", ["anything"])
    with pytest.raises(InvalidOutbound, match="invalid JSON Schema"):
        await outbound.add_event_type("bad", schema={"type": "no-such-type"})
    with pytest.raises(InvalidOutbound, match="event type name"):
        await outbound.add_event_type("has space")


async def test_endpoint_settings_are_checked_and_updated_field_by_field(
    outbound: Outbound,
) -> None:
    [endpoint] = await outbound.list_endpoints("acme")
    changed = await outbound.update_endpoint(endpoint.id, {"rate_limit": 5.0,
                                                           "event_types": ("invoice.paid",)})
    assert (changed.settings.rate_limit, changed.settings.event_types) == (5.0, ("invoice.paid",))
    assert changed.settings.url == endpoint.url
    assert changed.secret == endpoint.secret
    bad = [({"url": "ftp://x"}, "http:// or https://"),
           ({"url": "https://user:pw@x.example"}, "credentials"),
           ({"headers": {"Webhook-Signature": "x"}}, "set by the sender"),
           ({"headers": {"X-Ok": "a\r\nb"}}, "one-line"),
           ({"rate_limit": 0}, "rate limit"),
           ({"max_concurrency": True}, "max concurrency"),
           ({"timeout_seconds": 301}, "timeout"),
           ({"event_types": "invoice.paid"}, "list of strings"),
           ({"secret": "whsec_x"}, "unknown endpoint fields")]
    for changes, message in bad:
        with pytest.raises(InvalidOutbound, match=message):
            await outbound.update_endpoint(endpoint.id, changes)
    with pytest.raises(UnknownEndpoint):
        await outbound.update_endpoint(999_999, {"rate_limit": 1.0})
    with pytest.raises(InvalidOutbound, match="overlap"):
        await outbound.rotate_secret(endpoint.id, overlap=dt.timedelta(days=31))
    with pytest.raises(InvalidOutbound, match="future"):
        await outbound.recover(endpoint.id, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    with pytest.raises(UnknownApplication):
        await outbound.list_endpoints("ghost")
    await outbound.disable_endpoint(endpoint.id, "maintenance")
    with pytest.raises(InvalidOutbound, match=r"disabled \(maintenance\): enable it first"):
        await outbound.recover(endpoint.id, dt.datetime.now(dt.UTC))
