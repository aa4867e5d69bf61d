"""The core admin subgraph: jobs with retry and cancel, migrations, the bus and its lag."""

from __future__ import annotations

import pytest

from tests.integration.admin_graph.conftest import Graph, StatementCounter

pytestmark = pytest.mark.anyio

JOBS = """query($status: JobStatus, $queue: String, $after: String) {
  jobs(status: $status, queue: $queue, first: 2, after: $after) {
    nodes { id task queue status lock args }
    pageInfo { hasNextPage endCursor } } }"""


async def defer(graph: Graph, name: str) -> int:
    return await graph.runtime.jobs.defer("gitslice.pull", lock=f"slice:{name}",
                                          slice_name=name)


async def test_jobs_page_newest_first_and_filter_by_status(graph: Graph) -> None:
    ids = [await defer(graph, f"s{n}") for n in range(3)]
    await graph.sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [ids[0]])
    page = (await graph.data("core", JOBS, {"queue": "gitslice"}))["jobs"]
    assert [job["id"] for job in page["nodes"]] == [str(ids[2]), str(ids[1])]
    assert page["nodes"][0] == {"id": str(ids[2]), "task": "gitslice.pull",
                                "queue": "gitslice", "status": "QUEUED", "lock": "slice:s2",
                                "args": {"slice_name": "s2"}}
    rest = (await graph.data("core", JOBS, {"queue": "gitslice",
                                            "after": page["pageInfo"]["endCursor"]}))["jobs"]
    assert [job["id"] for job in rest["nodes"]] == [str(ids[0])]
    assert rest["pageInfo"]["hasNextPage"] is False
    failed = (await graph.data("core", JOBS, {"status": "FAILED"}))["jobs"]["nodes"]
    assert [job["id"] for job in failed] == [str(ids[0])]


async def test_a_failed_job_is_retried_and_a_queued_one_cancelled(graph: Graph) -> None:
    failed, queued = await defer(graph, "a"), await defer(graph, "b")
    await graph.sql("UPDATE procrastinate_jobs SET status = 'failed', attempts = 5"
                    " WHERE id = %s", [failed])
    data = await graph.data("core", "mutation($id: ID!) { retryJob(id: $id) "
                            "{ status attempts } }", {"id": str(failed)})
    assert data["retryJob"] == {"status": "QUEUED", "attempts": 0}
    data = await graph.data("core", "mutation($id: ID!) { cancelJob(id: $id) { status } }",
                            {"id": str(queued)})
    assert data["cancelJob"] == {"status": "CANCELLED"}


async def test_retrying_a_queued_job_says_why_it_cannot(graph: Graph) -> None:
    queued = await defer(graph, "a")
    response = await graph.post("core", "mutation($id: ID!) { retryJob(id: $id) { id } }",
                                {"id": str(queued)})
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == f"job {queued} is not a failed, cancelled or aborted job"


EVENTS = """query($first: Int!) { jobs(first: $first) {
  nodes { id status startedAt events { type at } } } }"""


async def test_a_jobs_history_comes_from_the_queues_events_a_page_in_bounded_statements(
        graph: Graph, statements: StatementCounter) -> None:
    """Each job's events, oldest first (a retried one's included); a page of 2 jobs and one
    of 12 cost the same statements: the events and times are loaded once per page."""
    ids = [await defer(graph, f"s{n}") for n in range(12)]
    # The queue's own triggers write the events: started, failed, then retried by hand.
    await graph.sql("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", [ids[0]])
    await graph.sql("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", [ids[0]])
    await graph.data("core", "mutation($id: ID!) { retryJob(id: $id) { id } }",
                     {"id": str(ids[0])})
    data = await graph.data("core", "query($id: ID!) { job(id: $id) { status events { type } }"
                            " }", {"id": str(ids[0])})
    assert data["job"] == {"status": "QUEUED", "events": [
        {"type": "deferred"}, {"type": "started"}, {"type": "failed"}, {"type": "retried"}]}
    counts = []
    for first in (2, 12):
        statements.count = 0
        nodes = (await graph.data("core", EVENTS, {"first": first}))["jobs"]["nodes"]
        counts.append(statements.count)
        assert len(nodes) == first
    # The token's check, the page, the jobs' times and their events.
    assert counts == [4, 4]
    assert [event["type"] for event in nodes[-1]["events"]] == [
        "deferred", "started", "failed", "retried"]
    assert nodes[-1]["startedAt"] == nodes[-1]["events"][1]["at"]
    assert all([event["type"] for event in node["events"]] == ["deferred"]
               for node in nodes[:-1])


async def test_an_id_that_names_no_job_finds_none(graph: Graph) -> None:
    for value in ("nope", "99999999999999999999", "-1"):
        data = await graph.data("core", "query($id: ID!) { job(id: $id) { id events { type } }"
                                " }", {"id": value})
        assert data["job"] is None


@pytest.mark.parametrize("mutation", ["cancelJob", "retryJob"])
@pytest.mark.parametrize("value", ["9" * 40, "-" + "9" * 19, "1" + "0" * 5000, "x"])
async def test_an_id_no_job_can_have_is_bad_user_input_in_a_mutation(
        graph: Graph, mutation: str, value: str) -> None:
    """Found by generated variables: cancelJob passed an id beyond bigint to the job queue,
    whose database error was INTERNAL_SERVER_ERROR."""
    response = await graph.post("core", f"mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}",
                                {"id": value})
    body = response.json()
    assert response.status_code == 200, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"].startswith("no job with id"), error


async def test_migrations_and_health_say_the_database_is_current(graph: Graph) -> None:
    data = await graph.data("core", "{ migrations { component version state } "
                            "health { name ok } }")
    assert {m["component"] for m in data["migrations"]} >= {"core", "webhooks", "gitslice"}
    assert {m["state"] for m in data["migrations"]} == {"applied"}
    checks = {check["name"]: check["ok"] for check in data["health"]}
    assert checks["database"] is True
    assert checks["migrations"] is True


async def test_events_show_their_receipts_and_the_bus_its_lag(graph: Graph) -> None:
    first = await graph.runtime.bus.publish("github.push", {"n": 1}, key="r")
    second = await graph.runtime.bus.publish("github.issues", {"n": 2})
    await graph.sql("INSERT INTO crossdock_event_receipts (event_id, handler) VALUES"
                    " (%s, 'gitslice.push')", [first])
    data = await graph.data("core", """{
      events(first: 5) { nodes { id type key payload receipts { handler } } }
      pushes: events(type: "github.push") { nodes { id } }
      busLag { pendingEvents oldestPendingSeconds } }""")
    assert data["events"]["nodes"] == [
        {"id": str(second), "type": "github.issues", "key": None, "payload": {"n": 2},
         "receipts": []},
        {"id": str(first), "type": "github.push", "key": "r", "payload": {"n": 1},
         "receipts": [{"handler": "gitslice.push"}]}]
    assert data["pushes"]["nodes"] == [{"id": str(first)}]
    assert data["busLag"]["pendingEvents"] == 2
    assert data["busLag"]["oldestPendingSeconds"] >= 0


async def test_a_cursor_the_list_never_gave_is_refused(graph: Graph) -> None:
    response = await graph.post("core", '{ jobs(after: "bm9wZQ") { nodes { id } } }')
    error = response.json()["errors"][0]
    assert error["message"] == "the cursor is not one this list gave"
    response = await graph.post("core", "{ jobs(first: 1000) { nodes { id } } }")
    assert "between 1 and 100" in response.json()["errors"][0]["message"]
