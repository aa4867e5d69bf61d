"""Counts per minute and backlogs of the core and webhooks subgraphs, over real HTTP.

Rows are seeded at known seconds of known minutes, counted back from the database's current
minute. Should the clock pass into the next minute between seeding and asking, the window moves
with it; the expected buckets are worked out from the minutes the graph answered, so the
assertions stay exact either way.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

import pytest

from crossdock.webhooks import operations
from tests.integration.admin_graph.conftest import Graph, StatementCounter

pytestmark = pytest.mark.anyio

MINUTE = dt.timedelta(minutes=1)


async def this_minute(graph: Graph) -> dt.datetime:
    rows = await graph.sql("SELECT date_trunc('minute', now()) AS minute")
    minute: dt.datetime = rows[0]["minute"]
    return minute


def minutes_of(buckets: list[dict[str, Any]]) -> list[dt.datetime]:
    return [dt.datetime.fromisoformat(bucket["minute"]) for bucket in buckets]


def expected(buckets: list[dict[str, Any]], seeded: list[tuple[dt.datetime, str]],
             names: list[str]) -> list[dict[str, Any]]:
    """The buckets the graph should answer for ``seeded`` (each row's time and what it
    counts as), over the minutes it answered."""
    counts = Counter((at.replace(second=0, microsecond=0), name) for at, name in seeded)
    return [{"minute": bucket["minute"], **{name: counts[(minute, name)] for name in names}}
            for bucket, minute in zip(buckets, minutes_of(buckets), strict=True)]


def check_window(buckets: list[dict[str, Any]], minutes: int, now: dt.datetime) -> None:
    """``minutes`` buckets, one a minute, oldest first, ending with the current minute (the
    one ``now`` was in, or the next if the clock passed into it)."""
    found = minutes_of(buckets)
    assert len(found) == minutes
    assert [b - a for a, b in itertools.pairwise(found)] == [MINUTE] * (minutes - 1)
    assert found[-1] in (now, now + MINUTE)


async def test_jobs_per_minute_count_each_minutes_successes_and_failures_zeros_included(
        graph: Graph) -> None:
    now = await this_minute(graph)
    seeded = [(now - 4 * MINUTE, "succeeded"), (now - 4 * MINUTE + dt.timedelta(seconds=59),
                                                 "failed"),
              (now - 2 * MINUTE + dt.timedelta(seconds=10), "succeeded"),
              (now - 2 * MINUTE + dt.timedelta(seconds=20), "succeeded"),
              (now, "failed"),
              # Just before the window: not counted.
              (now - 4 * MINUTE - dt.timedelta(seconds=1), "succeeded")]
    for at, outcome in seeded:
        job = await graph.runtime.jobs.defer("gitslice.pull", slice_name="s")
        await graph.sql("UPDATE procrastinate_jobs SET status = %s::procrastinate_job_status"
                        " WHERE id = %s", [outcome, job])
        await graph.sql("INSERT INTO procrastinate_events (job_id, type, at)"
                        " VALUES (%s, %s::procrastinate_job_event_type, %s)", [job, outcome, at])
    data = await graph.data("core", "{ jobsPerMinute(minutes: 5) { minute succeeded failed } }")
    buckets = data["jobsPerMinute"]
    check_window(buckets, 5, now)
    in_window = [row for row in seeded if row[0] >= minutes_of(buckets)[0]]
    assert buckets == expected(buckets, in_window, ["succeeded", "failed"])
    if minutes_of(buckets)[-1] == now:  # the clock stayed in the seeded minute
        assert [(b["succeeded"], b["failed"]) for b in buckets] == [
            (1, 1), (0, 0), (2, 0), (0, 0), (0, 1)]
    default = (await graph.data("core", "{ jobsPerMinute { minute } }"))["jobsPerMinute"]
    check_window(default, 60, now)


async def test_events_per_minute_count_the_bus_events_published(graph: Graph) -> None:
    now = await this_minute(graph)
    seeded = [(now - 2 * MINUTE, "published"), (now - MINUTE + dt.timedelta(seconds=30),
                                                "published"),
              (now - MINUTE + dt.timedelta(seconds=31), "published"),
              (now - 3 * MINUTE, "published")]
    for at, _ in seeded:
        await graph.sql("INSERT INTO crossdock_events (event_type, payload, published_at)"
                        " VALUES ('github.push', '{}', %s)", [at])
    buckets = (await graph.data("core", "{ eventsPerMinute(minutes: 3) { minute published } }")
               )["eventsPerMinute"]
    check_window(buckets, 3, now)
    in_window = [row for row in seeded if row[0] >= minutes_of(buckets)[0]]
    assert buckets == expected(buckets, in_window, ["published"])
    if minutes_of(buckets)[-1] == now:
        assert [b["published"] for b in buckets] == [1, 2, 0]


async def test_the_job_backlog_counts_queued_and_running_and_the_oldest_due_wait(
        graph: Graph) -> None:
    empty = (await graph.data("core", "{ jobBacklog { queued running oldestQueuedSeconds } }"))
    assert empty["jobBacklog"] == {"queued": 0, "running": 0, "oldestQueuedSeconds": 0.0}
    waiting, later, running = [await graph.runtime.jobs.defer("gitslice.pull", slice_name=name)
                               for name in ("a", "b", "c")]
    await graph.sql("UPDATE procrastinate_events SET at = now() - interval '90 seconds'"
                    " WHERE job_id = %s", [waiting])
    # Scheduled for later: queued, but not waiting yet, however long ago it was queued.
    await graph.sql("UPDATE procrastinate_jobs SET scheduled_at = now() + interval '1 hour'"
                    " WHERE id = %s", [later])
    await graph.sql("UPDATE procrastinate_events SET at = now() - interval '1 hour'"
                    " WHERE job_id = %s", [later])
    await graph.sql("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [running])
    backlog = (await graph.data("core", "{ jobBacklog { queued running oldestQueuedSeconds } }")
               )["jobBacklog"]
    assert (backlog["queued"], backlog["running"]) == (2, 1)
    assert 90 <= backlog["oldestQueuedSeconds"] < 150


async def add_source(graph: Graph) -> None:
    await operations.add_source(graph.runtime.database, operations.build_source(
        "gh", "github", ["a-secret-of-more-than-16-bytes"]))


async def test_deliveries_per_minute_count_each_minute_by_status_now(graph: Graph) -> None:
    await add_source(graph)
    now = await this_minute(graph)
    seconds = dt.timedelta(seconds=1)
    seeded = [(now - 4 * MINUTE, "processed"), (now - 4 * MINUTE + 30 * seconds, "failed"),
              (now - 2 * MINUTE + 5 * seconds, "processed"),
              (now - 2 * MINUTE + 6 * seconds, "processed"),
              (now - 2 * MINUTE + 7 * seconds, "dead"),
              (now - MINUTE + 59 * seconds, "rejected"),
              (now, "received"),
              (now - 4 * MINUTE - seconds, "processed")]  # before the window
    for at, status in seeded:
        await graph.sql(
            "INSERT INTO webhooks_deliveries (source, provider, status, body, received_at)"
            " VALUES ('gh', 'github', %s, %s, %s)",
            [status, None if status == "rejected" else b"{}", at])
    names = ["pending", "processed", "failed", "dead", "rejected"]
    buckets = (await graph.data("webhooks", "{ deliveriesPerMinute(minutes: 5) { minute "
                                "received pending processed failed dead rejected } }")
               )["deliveriesPerMinute"]
    check_window(buckets, 5, now)
    in_window = [(at, "pending" if status == "received" else status)
                 for at, status in seeded if at >= minutes_of(buckets)[0]]
    want = expected(buckets, in_window, names)
    for bucket in want:
        bucket["received"] = sum(bucket[name] for name in names)
    assert buckets == want
    if minutes_of(buckets)[-1] == now:
        assert [b["received"] for b in buckets] == [2, 0, 3, 1, 1]
        assert [(b["processed"], b["dead"]) for b in buckets][2] == (2, 1)


async def test_outbound_per_minute_count_each_destination_by_where_it_stands(
        graph: Graph) -> None:
    now = await this_minute(graph)
    await graph.sql("INSERT INTO webhooks_out_applications (name) VALUES ('app')")
    endpoints = [row["id"] for row in await graph.sql(
        "INSERT INTO webhooks_out_endpoints (app, url, secret) VALUES"
        " ('app', 'https://a.example/hook', 's'), ('app', 'https://b.example/hook', 's')"
        " RETURNING id")]
    # Each message goes to both endpoints; the first to each with its own outcome.
    messages = [(now - 2 * MINUTE + dt.timedelta(seconds=1), ["succeeded", "exhausted"]),
                (now - 2 * MINUTE + dt.timedelta(seconds=2), ["succeeded", "succeeded"]),
                (now, ["pending", "failed"]),
                (now - 3 * MINUTE, ["succeeded", "succeeded"])]  # before the window
    for at, outcomes in messages:
        (message,) = await graph.sql(
            "INSERT INTO webhooks_out_messages (app, event_type, payload, created_at)"
            " VALUES ('app', 'a.b', '{}', %s) RETURNING id", [at])
        for endpoint, outcome in zip(endpoints, outcomes, strict=True):
            await graph.sql("INSERT INTO webhooks_out_destinations (message_id, endpoint_id,"
                            " status) VALUES (%s, %s, %s)", [message["id"], endpoint, outcome])
    buckets = (await graph.data("webhooks", "{ outboundPerMinute(minutes: 3) { minute sent"
                                " failed pending } }"))["outboundPerMinute"]
    check_window(buckets, 3, now)
    meaning = {"succeeded": "sent", "exhausted": "failed", "failed": "failed",
               "pending": "pending"}
    in_window = [(at, meaning[outcome]) for at, outcomes in messages for outcome in outcomes
                 if at >= minutes_of(buckets)[0]]
    assert buckets == expected(buckets, in_window, ["sent", "failed", "pending"])
    if minutes_of(buckets)[-1] == now:
        assert [(b["sent"], b["failed"], b["pending"]) for b in buckets] == [
            (3, 1, 0), (0, 0, 0), (0, 1, 1)]


async def test_the_delivery_backlog_counts_pending_and_retrying_deliveries(
        graph: Graph) -> None:
    await add_source(graph)
    for status, age in (("received", 40), ("received", 5), ("failed", 300), ("dead", 600),
                        ("processed", 900)):
        await graph.sql("INSERT INTO webhooks_deliveries (source, provider, status, body,"
                        " received_at) VALUES ('gh', 'github', %s, '\\x7b7d',"
                        " now() - make_interval(secs => %s))", [status, age])
    backlog = (await graph.data("webhooks", "{ deliveryBacklog { pending retrying"
                                " oldestPendingSeconds } }", token="read"))["deliveryBacklog"]
    assert (backlog["pending"], backlog["retrying"]) == (2, 1)
    assert 40 <= backlog["oldestPendingSeconds"] < 100


async def test_each_per_minute_field_is_one_statement(graph: Graph,
                                                      statements: StatementCounter) -> None:
    counts = []
    both = ("{ deliveryBacklog { pending } deliveriesPerMinute(minutes: 1440) { minute }"
            " outboundPerMinute(minutes: 1440) { minute } }")
    for query in ("{ deliveryBacklog { pending } }", both):
        statements.count = 0
        await graph.data("webhooks", query)
        counts.append(statements.count)
    assert counts[1] - counts[0] == 2


@pytest.mark.parametrize("minutes", [0, -5, 1441])
async def test_a_window_outside_one_minute_to_a_day_is_refused_in_one_line(
        graph: Graph, minutes: int) -> None:
    for subgraph, field in (("core", "jobsPerMinute"), ("core", "eventsPerMinute"),
                            ("webhooks", "deliveriesPerMinute"),
                            ("webhooks", "outboundPerMinute")):
        response = await graph.post(subgraph, f"{{ {field}(minutes: {minutes}) {{ minute }} }}")
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == f"minutes must be between 1 and 1440, not {minutes}"
