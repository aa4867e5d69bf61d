"""The GitSlice admin subgraph: slices, sync runs, the commit map, links, and pull as a job."""

from __future__ import annotations

import pytest

from tests.integration.admin_graph.conftest import Graph, StatementCounter

pytestmark = pytest.mark.anyio


async def seed_slice(graph: Graph, name: str, *, runs: int = 3) -> list[int]:
    await graph.sql(
        "INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, slice_url,"
        " slice_branch, upstream_repo, slice_repo) VALUES (%(name)s, '/up.git', 'main',"
        " '/slice.git', 'main', 'acme/up', 'acme/' || %(name)s)", {"name": name})
    rows = await graph.sql(
        "INSERT INTO gitslice_runs (slice_name, kind, state, commits, finished_at)"
        " SELECT %(name)s, 'pull', 'succeeded', n, now() FROM generate_series(1, %(runs)s) n"
        " RETURNING id", {"name": name, "runs": runs})
    await graph.sql(
        "INSERT INTO gitslice_commit_map (slice_name, upstream_sha, slice_sha) VALUES"
        " (%(name)s, repeat('a', 40), repeat('b', 40)), (%(name)s, repeat('c', 40),"
        " repeat('d', 40))", {"name": name})
    await graph.sql(
        "INSERT INTO gitslice_pull_links (slice_name, upstream_pr, slice_pr, upstream_branch,"
        " slice_branch, upstream_url) VALUES (%(name)s, 7, 3, 'dev/x', 'x',"
        " 'https://forge.test/acme/up/pull/7')", {"name": name})
    await graph.sql(
        "INSERT INTO gitslice_copies (slice_name, kind, upstream_id, slice_id) VALUES"
        " (%(name)s, 'issue', 11, 21)", {"name": name})
    return [row["id"] for row in rows]


async def seed_slices(graph: Graph, count: int, *, runs: int) -> None:
    """Slices ``s0``, ``s1``, ... each seeded as :func:`seed_slice` seeds one."""
    for n in range(count):
        await seed_slice(graph, f"s{n}", runs=runs)


SLICES = """{ slices { name upstreamRepo mappedCommits
  pullLinks { upstreamPr slicePr state } copies { kind upstreamId sliceId }
  runs(first: 2) { nodes { id kind state commits } pageInfo { hasNextPage } } } }"""


async def test_slices_show_runs_links_copies_and_mapped_commits(graph: Graph) -> None:
    runs = await seed_slice(graph, "web")
    (found,) = (await graph.data("gitslice", SLICES, token="read"))["slices"]
    assert found == {
        "name": "web", "upstreamRepo": "acme/up", "mappedCommits": 2,
        "pullLinks": [{"upstreamPr": 7, "slicePr": 3, "state": "open"}],
        "copies": [{"kind": "issue", "upstreamId": "11", "sliceId": "21"}],
        "runs": {"nodes": [{"id": str(runs[2]), "kind": "pull", "state": "succeeded",
                            "commits": 3},
                           {"id": str(runs[1]), "kind": "pull", "state": "succeeded",
                            "commits": 2}],
                 "pageInfo": {"hasNextPage": True}}}


async def test_links_and_copies_of_many_slices_are_read_once(
        graph: Graph, statements: StatementCounter) -> None:
    await seed_slices(graph, 5, runs=0)
    statements.count = 0
    data = await graph.data("gitslice", "{ slices { name mappedCommits pullLinks { upstreamPr }"
                            " copies { kind } } }")
    assert len(data["slices"]) == 5
    # The token, the slices, then one query each for counts, links and copies.
    assert statements.count == 5


async def test_the_commit_map_looks_up_both_ways(graph: Graph) -> None:
    await seed_slice(graph, "web")
    lookup = """query($up: [String!], $down: [String!]) {
      commitMap(slice: "web", upstreamShas: $up, sliceShas: $down) { upstreamSha sliceSha } }"""
    up = await graph.data("gitslice", lookup, {"up": ["a" * 40, "f" * 40]})
    assert up["commitMap"] == [{"upstreamSha": "a" * 40, "sliceSha": "b" * 40}]
    down = await graph.data("gitslice", lookup, {"down": ["d" * 40]})
    assert down["commitMap"] == [{"upstreamSha": "c" * 40, "sliceSha": "d" * 40}]
    both = await graph.post("gitslice", lookup, {"up": ["a" * 40], "down": ["d" * 40]})
    assert both.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_pull_slice_queues_one_pull_job_per_slice_and_returns_it(graph: Graph) -> None:
    await seed_slice(graph, "web")
    pull = 'mutation { pullSlice(name: "web") { id } }'
    job_id = (await graph.data("gitslice", pull))["pullSlice"]["id"]
    (job,) = await graph.sql("SELECT task_name, lock, args, status::text FROM procrastinate_jobs"
                             " WHERE id = %s", [int(job_id)])
    assert job == {"task_name": "gitslice.pull", "lock": "slice:web",
                   "args": {"slice_name": "web"}, "status": "todo"}
    again = (await graph.post("gitslice", pull)).json()["errors"][0]
    assert again["message"] == "a pull of slice 'web' is already waiting"
    unknown = (await graph.post("gitslice", 'mutation { pullSlice(name: "nope") { id } }'))
    assert unknown.json()["errors"][0]["message"] == "no slice named 'nope'"


async def test_reindex_slice_queues_a_reindex_job_of_the_slice(graph: Graph) -> None:
    await seed_slice(graph, "web", runs=0)
    job_id = (await graph.data("gitslice", 'mutation { reindexSlice(name: "web") { id } }'))[
        "reindexSlice"]["id"]
    (job,) = await graph.sql("SELECT task_name, lock, args FROM procrastinate_jobs"
                             " WHERE id = %s", [int(job_id)])
    assert job == {"task_name": "gitslice.reindex", "lock": "slice:web",
                   "args": {"slice_name": "web"}}
    again = (await graph.post("gitslice", 'mutation { reindexSlice(name: "web") { id } }'))
    assert again.json()["errors"][0]["message"] == "a reindex of slice 'web' is already waiting"


async def test_a_push_run_shows_the_upstream_pull_request_of_the_branch_it_pushed(
        graph: Graph) -> None:
    await seed_slice(graph, "web", runs=0)
    await graph.sql("INSERT INTO gitslice_runs (slice_name, kind, state, upstream_ref, slice_ref)"
                    " VALUES ('web', 'push', 'succeeded', 'dev/x', 'x'),"
                    " ('web', 'push', 'succeeded', 'dev/y', 'y'),"
                    " ('web', 'pull', 'succeeded', 'dev/x', 'x')")
    runs = (await graph.data("gitslice", '{ syncRuns(slice: "web") { nodes { kind upstreamRef'
                             " pullLink { upstreamPr upstreamUrl } } } }"))["syncRuns"]["nodes"]
    assert runs == [
        {"kind": "pull", "upstreamRef": "dev/x", "pullLink": None},
        {"kind": "push", "upstreamRef": "dev/y", "pullLink": None},
        {"kind": "push", "upstreamRef": "dev/x", "pullLink": {
            "upstreamPr": 7, "upstreamUrl": "https://forge.test/acme/up/pull/7"}}]


async def test_a_sync_run_is_read_by_id_and_an_unknown_id_is_null(graph: Graph) -> None:
    runs = await seed_slice(graph, "web", runs=2)
    data = await graph.data("gitslice", """query ($id: ID!) { found: syncRun(id: $id) { id commits }
      gone: syncRun(id: "999999") { id } word: syncRun(id: "x") { id } }""",
                            {"id": str(runs[0])}, token="read")
    assert data == {"found": {"id": str(runs[0]), "commits": 1}, "gone": None, "word": None}


async def test_many_runs_read_their_commits_and_links_once(
        graph: Graph, statements: StatementCounter) -> None:
    await seed_slices(graph, 4, runs=5)
    await graph.sql("UPDATE gitslice_runs SET kind = 'push', upstream_ref = 'dev/x'"
                    " WHERE id % 2 = 0")
    await graph.sql("UPDATE gitslice_commit_map SET run_id = (SELECT min(id) FROM gitslice_runs"
                    " WHERE slice_name = gitslice_commit_map.slice_name)")
    statements.count = 0
    runs = (await graph.data("gitslice", """{ recentSyncRuns(first: 20) { nodes {
      sliceName kind commitList { upstreamSha } pullLink { upstreamPr } job { id } } } }"""))[
        "recentSyncRuns"]["nodes"]
    assert len(runs) == 20
    assert sum(len(run["commitList"]) for run in runs) == 8
    assert {run["pullLink"]["upstreamPr"] for run in runs if run["kind"] == "push"} == {7}
    # The token, the page of runs, then one query for the commits and one for the links.
    assert statements.count == 4


async def test_the_deliveries_behind_many_runs_and_the_runs_of_many_deliveries_are_read_once(
        graph: Graph, statements: StatementCounter) -> None:
    """A run lists every delivery behind it (a folded pull's several) and each delivery the
    run, whichever one the run names as its own."""
    await seed_slices(graph, 3, runs=4)
    await graph.sql("UPDATE gitslice_runs SET delivery_id = id * 10")
    await graph.sql("INSERT INTO gitslice_run_deliveries (run_id, delivery_id)"
                    " SELECT id, id * 10 FROM gitslice_runs UNION ALL"
                    " SELECT id, id * 10 + 1 FROM gitslice_runs WHERE id % 2 = 0")
    statements.count = 0
    runs = (await graph.data("gitslice", """{ recentSyncRuns(first: 12) { nodes {
      id delivery { id } deliveries { id } } } }"""))["recentSyncRuns"]["nodes"]
    assert len(runs) == 12
    for run in runs:
        own = int(run["id"]) * 10
        assert run["delivery"] == {"id": str(own)}
        assert run["deliveries"] == [{"id": str(own)}] + (
            [{"id": str(own + 1)}] if own % 20 == 0 else [])
    # The token, the page of runs, then one query for every run's deliveries.
    assert statements.count == 3
    even = next(int(run["id"]) for run in runs if int(run["id"]) % 2 == 0)
    statements.count = 0
    found = (await graph.data("gitslice", """query ($reps: [_Any!]!) {
      _entities(representations: $reps) { ... on Delivery { id syncRuns { id } } } }""", {
        "reps": [{"__typename": "Delivery", "id": str(key)}
                 for key in (even * 10, even * 10 + 1, 5)]}))["_entities"]
    assert [entity["syncRuns"] for entity in found] == [
        [{"id": str(even)}], [{"id": str(even)}], []]
    # The token, then one query for the three deliveries' runs.
    assert statements.count == 2


async def test_copies_name_their_delivery_and_many_deliveries_read_their_copies_once(
        graph: Graph, statements: StatementCounter) -> None:
    await seed_slices(graph, 3, runs=0)
    await graph.sql("UPDATE gitslice_copies SET delivery_id = 70 + substr(slice_name, 2)::int"
                    " WHERE slice_name <> 's2'")
    data = await graph.data("gitslice", "{ slices { name copies { kind delivery { id } } } }")
    assert [(found["name"], found["copies"]) for found in data["slices"]] == [
        ("s0", [{"kind": "issue", "delivery": {"id": "70"}}]),
        ("s1", [{"kind": "issue", "delivery": {"id": "71"}}]),
        ("s2", [{"kind": "issue", "delivery": None}])]
    statements.count = 0
    found = (await graph.data("gitslice", """query ($reps: [_Any!]!) {
      _entities(representations: $reps) { ... on Delivery { copies { sliceName upstreamId } } }
    }""", {"reps": [{"__typename": "Delivery", "id": key} for key in ("71", "70", "5")]}))[
        "_entities"]
    assert [entity["copies"] for entity in found] == [
        [{"sliceName": "s1", "upstreamId": "11"}], [{"sliceName": "s0", "upstreamId": "11"}],
        []]
    # The token, then one query for the three deliveries' copies.
    assert statements.count == 2
