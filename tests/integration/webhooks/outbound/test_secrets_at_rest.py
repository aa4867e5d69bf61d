"""Endpoints' signing secrets are stored encrypted: the table holds no secret a dump could
give away, and sending still signs with the secret shown once at creation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from standardwebhooks import Webhook

from crossdock.core.database import Database
from crossdock.webhooks.errors import SigningKeyUnavailable
from crossdock.webhooks.outbound.models import DestinationStatus, EndpointSettings, SigningScheme
from crossdock.webhooks.outbound.service import Outbound
from crossdock.webhooks.outbound.store.keys import use_secret_box
from tests.integration.webhooks.outbound.endpoints import Endpoint as Receiver
from tests.integration.webhooks.outbound.endpoints import serving
from tests.integration.webhooks.outbound.test_dispatcher import until, worker
from tests.integration.webhooks.outbound.test_ed25519 import _verifies

pytestmark = pytest.mark.anyio

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set ``CROSSDOCK_WEBHOOKS_SECRET_KEY`` as a deployment would, and have it read again."""

    def use(value: str) -> None:
        monkeypatch.setenv("CROSSDOCK_WEBHOOKS_SECRET_KEY", value)
        use_secret_box(None)

    yield use
    use_secret_box(None)


@pytest.fixture
async def outbound(database: Database) -> Outbound:
    out = Outbound(database)
    await out.add_application("acme")
    await out.add_event_type("invoice.paid")
    return out


async def _row(database: Database, endpoint_id: int) -> dict[str, Any]:
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT secret, previous_secret, row_to_json(e)::text AS whole "
            "FROM webhooks_out_endpoints e WHERE id = %s", (endpoint_id,))
        row = await cursor.fetchone()
    assert row is not None
    return dict(row)


def _assert_hidden(row: dict[str, Any], *secrets: str) -> None:
    """The row holds ciphertext only: no secret, not even its key bytes without the prefix."""
    assert row["secret"].startswith("fernet:")
    for secret in secrets:
        body = secret.split("_", 1)[1]
        assert secret not in row["whole"]
        assert body not in row["whole"]


async def _sent_one(database: Database, outbound: Outbound, receiver: Receiver,
                    n: int = 1) -> None:
    async with worker(database):
        await outbound.send("acme", "invoice.paid", {"n": n})
        await until(lambda: len(receiver.received) == n)


@pytest.mark.parametrize("signing", list(SigningScheme))
async def test_the_table_holds_no_secret_and_a_send_verifies_with_the_key_shown_once(
    database: Database, outbound: Outbound, signing: SigningScheme,
) -> None:
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"),
                                            signing=signing)
        shown = added.receiver_key()
        _assert_hidden(await _row(database, added.id), added.secret)
        await _sent_one(database, outbound, receiver)
    got = receiver.received[0]
    if signing is SigningScheme.HMAC:
        assert shown["secret"] is not None
        Webhook(shown["secret"]).verify(got.body, got.headers)
    else:
        assert _verifies(str(shown["public_key"]), got)
    listed = (await outbound.list_endpoints("acme"))[0]
    assert added.secret not in repr(listed)
    assert added.secret not in str(listed.public())


async def test_a_rotated_secret_and_the_one_before_it_are_both_stored_encrypted(
    database: Database, outbound: Outbound,
) -> None:
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"))
        rotated = await outbound.rotate_secret(added.id, overlap=dt.timedelta(hours=1))
        row = await _row(database, added.id)
        _assert_hidden(row, added.secret, rotated.secret)
        assert row["previous_secret"].startswith("fernet:")
        await _sent_one(database, outbound, receiver)
    got = receiver.received[0]
    Webhook(added.secret).verify(got.body, got.headers)  # both sign during the overlap
    Webhook(rotated.secret).verify(got.body, got.headers)


async def test_a_new_encryption_key_and_reencrypt_keep_sending_valid(
    database: Database, outbound: Outbound, keys: Callable[[str], None],
) -> None:
    keys(KEY_A)
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"))
        before = (await _row(database, added.id))["secret"]
        keys(f"{KEY_B},{KEY_A}")
        await _sent_one(database, outbound, receiver)  # the old key still decrypts
        done = await outbound.store.reencrypt_secrets()
        assert (done.changed, done.locked) == (1, ())
        after = await _row(database, added.id)
        assert after["secret"] != before
        _assert_hidden(after, added.secret)
        again = await outbound.store.reencrypt_secrets()
        assert (again.changed, again.locked) == (0, ())
        assert (await _row(database, added.id))["secret"] == after["secret"]
        keys(KEY_B)  # the old key retired: the rows need only the new one
        await _sent_one(database, outbound, receiver, n=2)
    for got in receiver.received:
        Webhook(added.secret).verify(got.body, got.headers)


async def test_a_wrong_key_fails_sending_in_one_line_and_the_message_waits_for_the_right_one(
    database: Database, outbound: Outbound, keys: Callable[[str], None],
) -> None:
    keys(KEY_A)
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"))
        keys(KEY_B)
        listed = await outbound.list_endpoints("acme")  # reading endpoints still works
        assert [e.id for e in listed] == [added.id]
        with pytest.raises(SigningKeyUnavailable, match=f"endpoint {added.id}: "):
            listed[0].signing_secrets(dt.datetime.now(dt.UTC))
        assert await outbound.store.locked_endpoints() == [added.id]
        async with worker(database):
            published = await outbound.send("acme", "invoice.paid", {"n": 1})
            message_id = published.message.id

            async def exhausted() -> bool:
                [state] = (await outbound.store.destinations_of([message_id]))[message_id]
                return state.status is DestinationStatus.EXHAUSTED
            await until(exhausted)
        assert receiver.received == []
        attempts = await outbound.attempts(message_id)
        assert attempts
        error = attempts[0].error or ""
        assert error.count("\n") == 0
        assert f"endpoint {added.id}" in error
        assert "CROSSDOCK_WEBHOOKS_SECRET_KEY" in error
        assert "Traceback" not in error
        done = await outbound.store.reencrypt_secrets()
        assert (done.changed, done.locked) == (0, (added.id,))

        keys(f"{KEY_B},{KEY_A}")
        async with worker(database):
            assert await outbound.recover(added.id, dt.datetime.now(dt.UTC)
                                          - dt.timedelta(hours=1)) == 1
            await until(lambda: len(receiver.received) == 1)
    Webhook(added.secret).verify(receiver.received[0].body, receiver.received[0].headers)


async def test_a_plain_row_from_before_encryption_still_signs_and_reencrypt_encrypts_it(
    database: Database, outbound: Outbound,
) -> None:
    async with serving(Receiver()) as receiver:
        added = await outbound.add_endpoint("acme", EndpointSettings(url=receiver.url + "/h"))
        async with database.connection() as conn:
            await conn.execute("UPDATE webhooks_out_endpoints SET secret = %s WHERE id = %s",
                               (added.secret, added.id))
        await _sent_one(database, outbound, receiver)
        assert (await outbound.store.reencrypt_secrets()).changed == 1
        _assert_hidden(await _row(database, added.id), added.secret)
        await _sent_one(database, outbound, receiver, n=2)
    for got in receiver.received:
        Webhook(added.secret).verify(got.body, got.headers)
