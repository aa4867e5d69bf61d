"""Endpoints signed with ed25519 (``v1a``): the receiver verifies with the public key alone."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks import Webhook

from crossdock.core.database import Database
from crossdock.webhooks.errors import EventTypeInUse, UnknownEventType
from crossdock.webhooks.outbound.models import EndpointSettings, SigningScheme
from crossdock.webhooks.outbound.service import Outbound
from tests.integration.webhooks.outbound.endpoints import Endpoint as Receiver
from tests.integration.webhooks.outbound.endpoints import Received, serving
from tests.integration.webhooks.outbound.test_dispatcher import until, worker

pytestmark = pytest.mark.anyio


def _entries(received: Received, version: str) -> list[bytes]:
    return [base64.b64decode(entry.split(",", 1)[1])
            for entry in received.headers["webhook-signature"].split(" ")
            if entry.startswith(version + ",")]


def _verifies(public_key: str, received: Received) -> bool:
    """A v1a entry is the ed25519 signature of ``id.timestamp.body`` under ``public_key``."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
    content = (f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}."
               .encode() + received.body)
    for signature in _entries(received, "v1a"):
        try:
            key.verify(signature, content)
        except InvalidSignature:
            continue
        return True
    return False


@pytest.fixture
async def outbound(database: Database) -> Outbound:
    out = Outbound(database)
    await out.add_application("acme")
    await out.add_event_type("invoice.paid")
    return out


async def test_an_ed25519_endpoint_gets_a_v1a_signature_its_public_key_verifies(
    database: Database, outbound: Outbound,
) -> None:
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint(
            "acme", EndpointSettings(url=receiver.url + "/hook"), signing=SigningScheme.ED25519)
        shown = added.receiver_key()
        assert shown["secret"] is None
        assert added.secret.startswith("whsk_")
        public_key = shown["public_key"]
        assert public_key is not None
        assert public_key.startswith("whpk_")
        assert added.public()["signing"] == "ed25519"
        async with worker(database):
            await outbound.send("acme", "invoice.paid", {"id": 7})
            await until(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    assert _entries(got, "v1") == []
    assert _verifies(public_key, got)
    stranger = (await outbound.add_endpoint("acme", EndpointSettings(
        url="https://x.example/h"), signing=SigningScheme.ED25519)).receiver_key()["public_key"]
    assert stranger is not None
    assert not _verifies(stranger, got)


async def test_rotating_hmac_to_ed25519_signs_with_both_during_the_overlap(
    database: Database, outbound: Outbound,
) -> None:
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"))
        assert added.signing is SigningScheme.HMAC
        assert added.secret.startswith("whsec_")
        rotated = await outbound.rotate_secret(added.id, overlap=dt.timedelta(hours=1),
                                               signing=SigningScheme.ED25519)
        async with worker(database):
            await outbound.send("acme", "invoice.paid", {"id": 8})
            await until(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    assert _verifies(str(rotated.receiver_key()["public_key"]), got)
    Webhook(added.secret).verify(got.body, got.headers)  # the old HMAC receiver still verifies
    again = await outbound.rotate_secret(added.id)
    assert again.signing is SigningScheme.ED25519  # no scheme given keeps the current one
    assert again.secret != rotated.secret


async def test_an_event_type_in_use_is_not_removed(outbound: Outbound, database: Database
                                                   ) -> None:
    endpoint = await outbound.add_endpoint("acme", EndpointSettings(
        url="https://hooks.acme.example/h", event_types=("invoice.paid",)))
    with pytest.raises(EventTypeInUse, match=r"1 endpoint\(s\) and 0 undelivered"):
        await outbound.remove_event_type("invoice.paid")
    await outbound.update_endpoint(endpoint.id, {"event_types": None})
    await outbound.send("acme", "invoice.paid", {"id": 9})
    with pytest.raises(EventTypeInUse, match=r"0 endpoint\(s\) and 1 undelivered"):
        await outbound.remove_event_type("invoice.paid")
    async with database.connection() as conn:
        await conn.execute("UPDATE webhooks_out_destinations SET status = 'succeeded'")
    await outbound.remove_event_type("invoice.paid")
    with pytest.raises(UnknownEventType, match=r"no event type named 'invoice\.paid'"):
        await outbound.send("acme", "invoice.paid", {"id": 10})
    with pytest.raises(UnknownEventType):
        await outbound.remove_event_type("invoice.paid")
