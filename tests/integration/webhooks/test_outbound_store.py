"""The outbound store on a real PostgreSQL: fan-out, idempotency, the claim queue, ordering
per key, concurrency caps, disabling, recovery and retention."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from crossdock.core.database import Database
from crossdock.webhooks.errors import (
    ApplicationExists,
    InvalidOutbound,
    UnknownApplication,
    UnknownEndpoint,
)
from crossdock.webhooks.outbound.models import (
    BODY_EXCERPT_CHARS,
    Application,
    AttemptRecord,
    AttemptStatus,
    Claim,
    EndpointSettings,
    NewMessage,
    Next,
)
from crossdock.webhooks.outbound.store import OutboundStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(database: Database) -> OutboundStore:
    outbound = OutboundStore(database)
    await outbound.add_application(Application(name="acme"))
    return outbound


def _endpoint(url: str = "http://127.0.0.1:9/hook", **kw: object) -> EndpointSettings:
    return EndpointSettings(url=url, **kw)  # type: ignore[arg-type]


def _message(event_type: str = "invoice.paid", **kw: object) -> NewMessage:
    return NewMessage(app="acme", event_type=event_type, payload={"n": 1}, **kw)  # type: ignore[arg-type]


async def _done(store: OutboundStore, claim: Claim, next_: Next = Next.DONE,
                retry_in: float | None = None) -> None:
    status = AttemptStatus.SUCCEEDED if next_ is Next.DONE else AttemptStatus.FAILED
    await store.record_attempt(AttemptRecord(
        destination_id=claim.destination_id, status=status, next=next_, retry_in=retry_in,
        duration_ms=1.0, response_code=200 if status is AttemptStatus.SUCCEEDED else 500))


async def _status(database: Database, destination_id: int) -> tuple[str, int]:
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, attempts FROM webhooks_out_destinations WHERE id = %s",
            (destination_id,))
        row = await cursor.fetchone()
    assert row is not None
    return row["status"], row["attempts"]


async def test_publish_fans_out_to_enabled_endpoints_whose_filter_and_channels_match(
    store: OutboundStore,
) -> None:
    every = await store.add_endpoint("acme", _endpoint())
    typed = await store.add_endpoint("acme", _endpoint(event_types=("invoice.paid",)))
    await store.add_endpoint("acme", _endpoint(event_types=("user.created",)))
    on_eu = await store.add_endpoint("acme", _endpoint(channels=("eu",)))
    await store.add_endpoint("acme", _endpoint(channels=("us",)))
    disabled = await store.add_endpoint("acme", _endpoint())
    await store.disable_endpoint(disabled.id, "by hand")
    await store.add_application(Application(name="other"))
    await store.add_endpoint("other", _endpoint())

    plain = await store.publish(_message())
    assert plain.created
    assert plain.destinations == 2
    on_channel = await store.publish(_message(channels=("eu", "apac")))
    assert on_channel.destinations == 3
    claimed = await store.claim_due(10)
    assert sorted((c.message.id, c.endpoint.id) for c in claimed) == sorted([
        (plain.message.id, every.id), (plain.message.id, typed.id),
        (on_channel.message.id, every.id), (on_channel.message.id, typed.id),
        (on_channel.message.id, on_eu.id)])
    assert plain.message.uid.startswith("msg_")
    assert plain.message.uid != on_channel.message.uid


async def test_the_same_idempotency_key_within_the_window_is_the_same_message(
    store: OutboundStore,
) -> None:
    await store.add_endpoint("acme", _endpoint())
    first = await store.publish(_message(idempotency_key="k1"))
    again = await store.publish(_message(event_type="other.type", idempotency_key="k1"))
    assert not again.created
    assert again.destinations == 0
    assert again.message == first.message
    concurrent = await asyncio.gather(*(
        store.publish(_message(idempotency_key="k2")) for _ in range(5)))
    assert sum(p.created for p in concurrent) == 1
    assert len({p.message.id for p in concurrent}) == 1
    await store.add_application(Application(name="other"))
    elsewhere = await store.publish(NewMessage(app="other", event_type="x", payload={},
                                               idempotency_key="k1"))
    assert elsewhere.created


async def test_a_key_past_its_window_names_a_new_message(store: OutboundStore) -> None:
    first = await store.publish(_message(idempotency_key="k"))
    later = await store.publish(_message(idempotency_key="k"), window=dt.timedelta(0))
    assert later.created
    assert later.message.id != first.message.id
    assert (await store.get_message(first.message.id)).idempotency_key is None


async def test_a_claim_leases_counts_a_try_and_an_attempt_moves_the_destination_on(
    store: OutboundStore, database: Database,
) -> None:
    endpoint = await store.add_endpoint("acme", _endpoint())
    published = await store.publish(_message())
    [claim] = await store.claim_due(10)
    assert claim.attempt == 1
    assert claim.endpoint.secret.startswith("whsec_")
    assert claim.message.payload == {"n": 1}
    assert await store.claim_due(10) == []
    recorded = await store.record_attempt(AttemptRecord(
        destination_id=claim.destination_id, status=AttemptStatus.FAILED, next=Next.RETRY,
        retry_in=30, duration_ms=12.5, response_code=503,
        response_body="x" * (BODY_EXCERPT_CHARS + 10), error="503 Service Unavailable"))
    assert recorded.failing_since is not None
    assert await _status(database, claim.destination_id) == ("pending", 1)
    assert await store.claim_due(10) == []  # not due for 30 s
    next_due = await store.next_due()
    assert next_due is not None
    assert next_due > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    failing_since = (await store.get_endpoint(endpoint.id)).failing_since
    assert failing_since == recorded.failing_since

    await store.reschedule([claim.destination_id], delay=0)  # not claimed: nothing moves
    async with database.connection() as conn:
        await conn.execute("UPDATE webhooks_out_destinations SET next_attempt_at = now()")
    [again] = await store.claim_due(10)
    assert again.attempt == 2
    await _done(store, again)
    assert await _status(database, claim.destination_id) == ("succeeded", 2)
    assert (await store.get_endpoint(endpoint.id)).failing_since is None
    attempts = await store.attempts(published.message.id)
    assert [(a.status, a.response_code) for a in attempts] == [
        (AttemptStatus.FAILED, 503), (AttemptStatus.SUCCEEDED, 200)]
    assert len(attempts[0].response_body or "") == BODY_EXCERPT_CHARS
    [destination] = await store.destinations(published.message.id)
    assert destination["status"] == "succeeded"


async def test_a_dead_workers_claim_expires_and_a_rescheduled_one_gives_its_try_back(
    store: OutboundStore, database: Database,
) -> None:
    await store.add_endpoint("acme", _endpoint())
    await store.publish(_message())
    [claim] = await store.claim_due(1, lease=0.0)
    [taken_over] = await store.claim_due(1)
    assert taken_over.destination_id == claim.destination_id
    assert taken_over.attempt == 2
    await store.reschedule([taken_over.destination_id], delay=0)
    assert await _status(database, claim.destination_id) == ("pending", 1)
    [third] = await store.claim_due(1)
    assert third.attempt == 2


async def test_only_the_head_of_an_ordering_key_is_claimed_and_a_failing_head_blocks_only_its_key(
    store: OutboundStore,
) -> None:
    first = await store.add_endpoint("acme", _endpoint())
    second = await store.add_endpoint("acme", _endpoint())
    a = [await store.publish(_message(ordering_key="a")) for _ in range(3)]
    b = await store.publish(_message(ordering_key="b"))
    plain = await store.publish(_message())
    claimed = await store.claim_due(100)
    assert sorted((c.message.id, c.endpoint.id) for c in claimed) == sorted(
        (m.message.id, e.id) for m in (a[0], b, plain) for e in (first, second))
    by_pair = {(c.message.id, c.endpoint.id): c for c in claimed}

    # The head of "a" fails at the first endpoint: "a" waits there, and only there.
    await _done(store, by_pair[a[0].message.id, first.id], Next.RETRY, retry_in=3600)
    await _done(store, by_pair[a[0].message.id, second.id])
    for key in ((b.message.id, first.id), (plain.message.id, first.id)):
        await _done(store, by_pair[key])
    [next_of_a] = await store.claim_due(100)
    assert (next_of_a.message.id, next_of_a.endpoint.id) == (a[1].message.id, second.id)
    await _done(store, next_of_a)
    [last] = await store.claim_due(100)
    assert (last.message.id, last.endpoint.id) == (a[2].message.id, second.id)

    # An exhausted head hands the key on at the first endpoint too, in order.
    await store.reschedule([last.destination_id], delay=3600)
    async with store.database.connection() as conn:
        await conn.execute("UPDATE webhooks_out_destinations SET next_attempt_at = now() "
                           "WHERE message_id = %s AND endpoint_id = %s",
                           (a[0].message.id, first.id))
    [head] = await store.claim_due(100)
    await _done(store, head, Next.EXHAUSTED)
    [after] = await store.claim_due(100)
    assert (after.message.id, after.endpoint.id) == (a[1].message.id, first.id)


async def test_an_endpoint_gets_no_more_claims_than_its_concurrency_cap(
    store: OutboundStore,
) -> None:
    capped = await store.add_endpoint("acme", _endpoint(max_concurrency=2))
    free = await store.add_endpoint("acme", _endpoint())
    for _ in range(5):
        await store.publish(_message())
    claimed = await store.claim_due(100)
    assert sum(c.endpoint.id == capped.id for c in claimed) == 2
    assert sum(c.endpoint.id == free.id for c in claimed) == 5
    await _done(store, next(c for c in claimed if c.endpoint.id == capped.id))
    assert [c.endpoint.id for c in await store.claim_due(100)] == [capped.id]


async def test_disabling_stops_waiting_messages_and_recover_queues_them_again(
    store: OutboundStore, database: Database,
) -> None:
    endpoint = await store.add_endpoint("acme", _endpoint())
    old = await store.publish(_message())
    [claim] = await store.claim_due(10)
    await _done(store, claim, Next.EXHAUSTED)
    since = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.01)
    recent = await store.publish(_message())
    assert await store.disable_endpoint(endpoint.id, "410 Gone")
    assert not await store.disable_endpoint(endpoint.id, "again")
    disabled = await store.get_endpoint(endpoint.id)
    assert (disabled.enabled, disabled.disabled_reason) == (False, "410 Gone")
    assert (await store.destinations(recent.message.id))[0]["status"] == "failed"
    assert (await store.publish(_message())).destinations == 0

    await store.enable_endpoint(endpoint.id)
    assert await store.recover(endpoint.id, since) == 1
    [recovered] = await store.claim_due(10)
    assert recovered.message.id == recent.message.id
    assert recovered.attempt == 1
    assert await store.recover(endpoint.id, since - dt.timedelta(hours=1)) == 1
    assert (await store.destinations(old.message.id))[0]["status"] == "pending"
    with pytest.raises(UnknownEndpoint):
        await store.recover(999_999, since)
    with pytest.raises(UnknownEndpoint):
        await store.disable_endpoint(999_999, "x")
    assert await _status(database, recovered.destination_id) == ("sending", 1)


async def test_prune_deletes_old_finished_messages_and_keeps_waiting_ones(
    store: OutboundStore,
) -> None:
    await store.add_endpoint("acme", _endpoint())
    finished = await store.publish(_message())
    waiting = await store.publish(_message())
    claims = {c.message.id: c for c in await store.claim_due(10)}
    await _done(store, claims[finished.message.id])
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert await store.prune(before=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                             limit=100) == 0
    assert await store.prune(before=future, limit=100) == 1
    assert [m.id for m in await store.list_messages()] == [waiting.message.id]


async def test_rotation_signs_with_both_keys_until_the_overlap_ends(store: OutboundStore) -> None:
    endpoint = await store.add_endpoint("acme", _endpoint(), secret="whsec_" + "A" * 44)
    rotated = await store.rotate_secret(endpoint.id, overlap=dt.timedelta(hours=1))
    now = dt.datetime.now(dt.UTC)
    assert rotated.signing_secrets(now) == (rotated.secret, endpoint.secret)
    assert rotated.signing_secrets(now + dt.timedelta(hours=2)) == (rotated.secret,)
    assert rotated.secret != endpoint.secret


async def test_bad_names_and_missing_applications_are_refused(store: OutboundStore) -> None:
    with pytest.raises(ApplicationExists):
        await store.add_application(Application(name="acme"))
    with pytest.raises(InvalidOutbound, match="application name"):
        await store.add_application(Application(name="-bad"))
    with pytest.raises(UnknownApplication, match="'ghost'"):
        await store.add_endpoint("ghost", _endpoint())
    with pytest.raises(UnknownApplication, match="'ghost'"):
        await store.publish(NewMessage(app="ghost", event_type="x", payload={}))
    with pytest.raises(InvalidOutbound, match="positive"):
        await store.add_endpoint("acme", _endpoint(timeout_seconds=0))


async def test_a_capped_endpoints_backlog_does_not_hide_the_other_endpoints(
    store: OutboundStore,
) -> None:
    capped = await store.add_endpoint("acme", _endpoint(max_concurrency=1,
                                                        event_types=("to.capped",)))
    other = await store.add_endpoint("acme", _endpoint(event_types=("to.other",)))
    for _ in range(10):
        await store.publish(_message("to.capped"))
    await store.publish(_message("to.other"))
    assert [c.endpoint.id for c in await store.claim_due(2)] == [capped.id]
    # The capped endpoint is at its cap: its nine due messages are not what the scan sees.
    assert [c.endpoint.id for c in await store.claim_due(2)] == [other.id]


async def test_recovered_messages_of_a_key_are_sent_again_in_order(
    store: OutboundStore,
) -> None:
    endpoint = await store.add_endpoint("acme", _endpoint())
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    sent = [await store.publish(_message(ordering_key="k")) for _ in range(3)]
    for _ in sent:
        [claim] = await store.claim_due(10)
        await _done(store, claim, Next.EXHAUSTED)
    assert await store.recover(endpoint.id, since) == 3
    order = []
    while claims := await store.claim_due(10):
        assert len(claims) == 1  # one at a time: the head of the key
        order.append(claims[0].message.id)
        await _done(store, claims[0])
    assert order == [p.message.id for p in sent]


async def test_resend_queues_one_destination_whatever_it_ended_as_or_every_failed_one(
    store: OutboundStore,
) -> None:
    ok = await store.add_endpoint("acme", _endpoint())
    bad = await store.add_endpoint("acme", _endpoint("http://127.0.0.1:9/other"))
    published = await store.publish(_message())
    for claim in await store.claim_due(10):
        await _done(store, claim, Next.DONE if claim.endpoint.id == ok.id else Next.EXHAUSTED)
    message = published.message
    # Without an endpoint: where it ran out of tries only.
    assert await store.resend(message) == 1
    [again] = await store.claim_due(10)
    assert (again.endpoint.id, again.attempt) == (bad.id, 1)
    # Held by a worker: left to it.
    assert await store.resend(message, bad.id) == 0
    await _done(store, again)
    # Delivered: sent again from its first try, at that endpoint only.
    assert await store.resend(message, ok.id) == 1
    [resent] = await store.claim_due(10)
    assert (resent.endpoint.id, resent.attempt) == (ok.id, 1)
    assert await store.resend(message) == 0  # nothing failed now
    await store.disable_endpoint(ok.id, "gone")
    await _done(store, resent)
    assert await store.resend(message, ok.id) == 0  # a disabled endpoint is never sent to


async def test_a_resent_message_of_a_key_never_goes_beside_one_in_flight(
        store: OutboundStore) -> None:
    await store.add_endpoint("acme", _endpoint())
    first, second = [await store.publish(_message(ordering_key="k")) for _ in range(2)]
    [claim] = await store.claim_due(10)
    await _done(store, claim)
    [head] = await store.claim_due(10)
    assert head.message.id == second.message.id
    # Not while the second is being sent: the first would be the key's head beside it.
    assert await store.resend(first.message, head.endpoint.id) == 0
    await _done(store, head, Next.RETRY, retry_in=3600)
    # The second waits for a retry: the first, queued again, goes first.
    assert await store.resend(first.message, head.endpoint.id) == 1
    [turn] = await store.claim_due(10)
    assert turn.message.id == first.message.id
    assert await store.claim_due(10) == []  # the second waits behind it
    await _done(store, turn)
    async with store.database.connection() as conn:
        await conn.execute("UPDATE webhooks_out_destinations SET next_attempt_at = now()"
                           " WHERE status = 'pending'")
    [last] = await store.claim_due(10)
    assert last.message.id == second.message.id
