"""Processing: routing, the bus, exactly-once handlers, retries, dead letters, replay."""

from __future__ import annotations

import json

import orjson
import pytest

from crossdock.core.bus import Event
from crossdock.webhooks import handlers, operations, store
from crossdock.webhooks.errors import InvalidRoute, NotReplayable
from crossdock.webhooks.handlers import Work
from crossdock.webhooks.models import Route
from tests.integration.webhooks.conftest import FAST_RETRY, SECRET, Stack, sample_examples

pytestmark = pytest.mark.anyio


async def _create_seen_table(stack: Stack) -> None:
    async with stack.runtime.database.transaction() as conn:
        await conn.execute("CREATE TABLE test_seen (handler text, delivery_id bigint, "
                           "event_type text)")


async def _seen(stack: Stack) -> list[tuple]:
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT handler, delivery_id, event_type FROM test_seen ORDER BY delivery_id")
        return [(r["handler"], r["delivery_id"], r["event_type"])
                for r in await cursor.fetchall()]


async def test_the_sample_payloads_reach_bus_subscribers_exactly_once(stack: Stack) -> None:
    await _create_seen_table(stack)
    examples = sample_examples()
    for event_type in sorted({e["event"] for e in examples}):
        @stack.runtime.bus.subscribe(f"github.{event_type}", name=f"test.seen.{event_type}")
        async def seen(event: Event, conn) -> None:
            await conn.execute(
                "INSERT INTO test_seen VALUES ('bus', %s, %s)",
                (event.payload["delivery_id"], event.type))
    await stack.add_source("gh", "github", [SECRET])
    accepted = {}
    for index, example in enumerate(examples):
        body = orjson.dumps(example["payload"])
        response = await stack.send("gh", "github", body, SECRET, event=example["event"],
                                    delivery_id=f"sample-{index}")
        assert response.status_code == 202, response.text
        accepted[response.json()["id"]] = example["event"]
        # GitHub has no automatic redelivery, but a manual one repeats the id.
        again = await stack.send("gh", "github", body, SECRET, event=example["event"],
                                 delivery_id=f"sample-{index}")
        assert again.status_code == 200

    async def settled() -> bool:
        return (await stack.statuses()).get("processed") == len(examples)

    await stack.drain(until=settled)
    await stack.drain()  # the bus's fan-out and handler jobs
    assert await _seen(stack) == sorted(
        ("bus", delivery_id, f"github.{event}") for delivery_id, event in accepted.items())
    assert await stack.statuses() == {"processed": len(examples)}


async def test_routes_match_on_event_action_and_payload_filters(stack: Stack) -> None:
    await _create_seen_table(stack)

    async def record(work: Work, conn) -> None:
        await conn.execute("INSERT INTO test_seen VALUES (%s, %s, %s)",
                           (str(work.route.config["tag"]), work.delivery.id,
                            work.delivery.event_type))

    handlers.register_handler("record", record)
    await stack.add_source("gh", "github", [SECRET])
    db = stack.runtime.database
    await operations.add_route(db, source="gh", handler="record", event_type="issues",
                               action="opened", config={"tag": "opened-issues"})
    await operations.add_route(db, source="gh", handler="record",
                               filters=["repository.full_name == octo/one"],
                               config={"tag": "octo-one"})
    await operations.add_route(db, source="gh", handler="record", event_type="push",
                               filters=["repository.private != true"],
                               config={"tag": "public-pushes"})
    cases = [
        ("issues", {"action": "opened", "repository": {"full_name": "octo/two"}}),
        ("issues", {"action": "closed", "repository": {"full_name": "octo/one"}}),
        ("push", {"repository": {"full_name": "octo/two", "private": True}}),
        ("push", {"repository": {"full_name": "octo/two", "private": False}}),
    ]
    ids = []
    for event, payload in cases:
        response = await stack.send("gh", "github", json.dumps(payload).encode(), SECRET,
                                    event=event)
        ids.append(response.json()["id"])
    await stack.drain()
    assert sorted(await _seen(stack)) == sorted([
        ("opened-issues", ids[0], "issues"),
        ("octo-one", ids[1], "issues"),
        ("public-pushes", ids[3], "push"),
    ])
    assert await stack.statuses() == {"processed": 4}


async def test_a_failing_handler_is_retried_with_backoff_then_dead_lettered(
    stack: Stack,
) -> None:
    calls: list[int] = []

    async def broken(work: Work, conn) -> None:
        calls.append(work.delivery.id)
        raise RuntimeError("downstream is down")

    handlers.register_handler("broken", broken)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="gh", handler="broken")
    response = await stack.send("gh", "github", b'{"zen": "x"}', SECRET, event="ping")
    delivery_id = response.json()["id"]

    async def dead() -> bool:
        return (await stack.statuses()).get("dead") == 1

    await stack.drain(until=dead)
    shown = await operations.show_delivery(stack.runtime.database, delivery_id)
    assert shown["status"] == "dead"
    assert shown["tries"] == FAST_RETRY.max_tries
    assert [a["status"] for a in shown["attempts"]] == ["failed"] * FAST_RETRY.max_tries
    assert all("downstream is down" in a["error"] for a in shown["attempts"])
    assert all(a["duration_ms"] >= 0 for a in shown["attempts"])
    assert calls == [delivery_id] * FAST_RETRY.max_tries


async def test_a_handler_that_recovers_leaves_the_delivery_processed(stack: Stack) -> None:
    calls: list[int] = []

    async def flaky(work: Work, conn) -> None:
        calls.append(work.delivery.id)
        if len(calls) < 2:
            raise RuntimeError("first try fails")

    handlers.register_handler("flaky", flaky)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="gh", handler="flaky")
    response = await stack.send("gh", "github", b"{}", SECRET, event="ping")

    async def processed() -> bool:
        return (await stack.statuses()).get("processed") == 1

    await stack.drain(until=processed)
    shown = await operations.show_delivery(stack.runtime.database, response.json()["id"])
    assert [a["status"] for a in shown["attempts"]] == ["failed", "succeeded"]
    assert shown["last_error"] is None


async def test_a_handler_that_succeeded_is_not_repeated_when_another_fails(
    stack: Stack,
) -> None:
    await _create_seen_table(stack)
    failures = []

    async def record(work: Work, conn) -> None:
        await conn.execute("INSERT INTO test_seen VALUES ('record', %s, %s)",
                           (work.delivery.id, work.delivery.event_type))

    async def broken_once(work: Work, conn) -> None:
        await conn.execute("INSERT INTO test_seen VALUES ('broken', %s, 'rolled back')",
                           (work.delivery.id,))
        if not failures:
            failures.append(1)
            raise RuntimeError("once")

    handlers.register_handler("record", record)
    handlers.register_handler("broken_once", broken_once)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    db = stack.runtime.database
    await operations.add_route(db, source="gh", handler="record", position=1)
    await operations.add_route(db, source="gh", handler="broken_once", position=2)
    response = await stack.send("gh", "github", b"{}", SECRET, event="ping")
    delivery_id = response.json()["id"]

    async def processed() -> bool:
        return (await stack.statuses()).get("processed") == 1

    await stack.drain(until=processed)
    # The failed try's write was rolled back with it; each handler's effect is there once.
    assert sorted(await _seen(stack)) == [("broken", delivery_id, "rolled back"),
                                          ("record", delivery_id, "ping")]


async def test_replay_of_a_dead_delivery_resumes_and_replay_of_a_processed_one_reruns(
    stack: Stack,
) -> None:
    healthy = False
    calls: list[int] = []

    async def gated(work: Work, conn) -> None:
        calls.append(work.delivery.id)
        if not healthy:
            raise RuntimeError("not yet")

    handlers.register_handler("gated", gated)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="gh", handler="gated")
    response = await stack.send("gh", "github", b"{}", SECRET, event="ping")
    delivery_id = response.json()["id"]

    async def dead() -> bool:
        return (await stack.statuses()).get("dead") == 1

    await stack.drain(until=dead)
    healthy = True
    db = stack.runtime.database
    assert await operations.replay(db, ids=[delivery_id]) == [delivery_id]
    await stack.drain()
    shown = await operations.show_delivery(db, delivery_id)
    assert shown["status"] == "processed"
    assert shown["generation"] == 0
    assert [a["status"] for a in shown["attempts"]][-1] == "succeeded"

    assert await operations.replay(db, ids=[delivery_id]) == [delivery_id]
    await stack.drain()
    shown = await operations.show_delivery(db, delivery_id)
    assert (shown["status"], shown["generation"]) == ("processed", 1)
    assert [(a["generation"], a["status"]) for a in shown["attempts"]][-2:] == [
        (0, "succeeded"), (1, "succeeded")]


async def test_bulk_replay_takes_a_source_window_and_a_status(stack: Stack) -> None:
    import datetime as dt

    fail = True

    async def gated(work: Work, conn) -> None:
        if fail and work.payload.get("n") == 1:
            raise RuntimeError("no")

    handlers.register_handler("gated", gated)
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="gh", handler="gated")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    ids = [(await stack.send("gh", "github", json.dumps({"n": n}).encode(), SECRET,
                             event="ping")).json()["id"] for n in range(3)]

    async def settled() -> bool:
        return await stack.statuses() == {"processed": 2, "dead": 1}

    await stack.drain(until=settled)
    fail = False
    db = stack.runtime.database
    replayed = await operations.replay(db, source="gh", since=since,
                                 until=dt.datetime.now(dt.UTC),
                                 status=operations.DeliveryStatus.DEAD)
    assert replayed == [ids[1]]
    await stack.drain()
    assert await stack.statuses() == {"processed": 3}


async def test_rejected_deliveries_are_never_processed_or_replayed(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    response = await stack.send("gh", "github", b"{}", "forged", event="ping")
    assert response.status_code == 401
    rows = await operations.list_deliveries(stack.runtime.database)
    with pytest.raises(NotReplayable, match="was rejected"):
        await operations.replay(stack.runtime.database, ids=[rows[0]["id"]])
    await stack.drain()
    assert await stack.statuses() == {"rejected": 1}


async def test_the_forward_handler_fails_clearly_until_outbound_is_installed(
    stack: Stack,
) -> None:
    handlers.unregister_handler("forward")  # the webhooks service installs it on a runtime
    await stack.add_source("gh", "github", [SECRET], retry=FAST_RETRY)
    with pytest.raises(InvalidRoute, match="outbound webhooks, which are not installed"):
        await operations.add_route(stack.runtime.database, source="gh", handler="forward")
    async with stack.runtime.database.transaction() as conn:  # a route from before the check
        await store.add_route(conn, Route(id=None, source="gh", handler="forward"))
    response = await stack.send("gh", "github", b"{}", SECRET, event="ping")

    async def dead() -> bool:
        return (await stack.statuses()).get("dead") == 1

    await stack.drain(until=dead)
    shown = await operations.show_delivery(stack.runtime.database, response.json()["id"])
    assert "ForwardingUnavailable" in shown["attempts"][0]["error"]


async def test_a_handler_runs_with_its_delivery_id_bound_for_its_log_lines(
    stack: Stack,
) -> None:
    import structlog

    bound: list[dict[str, object]] = []

    async def logging_handler(work: Work, conn) -> None:
        bound.append(dict(structlog.contextvars.get_contextvars()))

    handlers.register_handler("logging", logging_handler)
    await stack.add_source("gh", "github", [SECRET])
    await operations.add_route(stack.runtime.database, source="gh", handler="logging")
    first = (await stack.send("gh", "github", b"{}", SECRET, event="ping")).json()["id"]
    second = (await stack.send("gh", "github", b"{}", SECRET, event="ping")).json()["id"]
    await stack.drain()
    assert sorted(b["delivery_id"] for b in bound) == [first, second]
    assert "delivery_id" not in structlog.contextvars.get_contextvars()


async def test_the_worker_records_the_repository_a_body_names_processed_or_failed(
    stack: Stack,
) -> None:
    """A processed delivery gets it with its success, a failed one in a write of its own, and a
    body that names none or an unreadable one leaves the column empty."""

    async def broken(work: Work, conn) -> None:
        raise RuntimeError("downstream is down")

    handlers.register_handler("broken", broken)
    await stack.add_source("ok", "github", [SECRET])
    await stack.add_source("down", "github", [SECRET], retry=FAST_RETRY)
    await operations.add_route(stack.runtime.database, source="down", handler="broken")
    app = b'{"repository": {"html_url": "https://github.com/Acme/App"}}'
    ids = [(await stack.send(source, "github", body, SECRET, event="push")).json()["id"]
           for source, body in [("ok", app), ("down", app), ("ok", b'{"zen": "x"}'),
                                ("ok", b'{"repository": {"html_url": ["not", "a url"]}}')]]

    async def settled() -> bool:
        return (await stack.statuses()) == {"processed": 3, "dead": 1}

    await stack.drain(until=settled)
    async with stack.runtime.database.connection() as conn:
        rows = await (await conn.execute(
            "SELECT id, status, repository FROM webhooks_deliveries ORDER BY id")).fetchall()
    assert [(row["id"], row["status"], row["repository"]) for row in rows] == [
        (ids[0], "processed", "github.com/acme/app"), (ids[1], "dead", "github.com/acme/app"),
        (ids[2], "processed", None), (ids[3], "processed", None)]


async def test_a_body_with_a_nul_character_reaches_the_bus_and_keeps_its_bytes(
        stack: Stack) -> None:
    """JSON allows ``\\u0000`` in a string, PostgreSQL's jsonb does not: the bus's copy has
    U+FFFD in its place, the stored body the sender's bytes, and the delivery is processed
    (it used to fail its bus handler until it was dead)."""
    seen: list[object] = []

    @stack.runtime.bus.subscribe("github.issues", name="test.nul")
    async def watcher(event: Event, conn) -> None:
        seen.append(event.payload["payload"]["issue"]["title"])

    await stack.add_source("gh", "github", [SECRET])
    body = b'{"action": "opened", "issue": {"title": "a\\u0000b"}}'
    response = await stack.send("gh", "github", body, SECRET, event="issues")
    assert response.status_code == 202, response.text

    async def settled() -> bool:
        return (await stack.statuses()) == {"processed": 1}

    await stack.drain(until=settled)
    await stack.drain()
    assert seen == ["a\ufffdb"]
    async with stack.runtime.database.connection() as conn:
        stored = await store.get_delivery(conn, response.json()["id"], body=True)
    assert (stored.status, stored.body) == ("processed", body)
