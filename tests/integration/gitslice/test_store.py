"""The slice store is GitSlice's one adapter to the driver: database errors leave it as ours."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from crossdock.core.database import Database
from crossdock.core.errors import DatabaseError
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import StoreError, UnknownSlice
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.records import PullRecord, RunEnd, RunKind, RunState, Tip
from crossdock.gitslice.store import SliceStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def nowhere() -> AsyncIterator[Database]:
    """A pool on a port where no server listens (opened without waiting for a connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = Database(f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=1")
    database.pool.timeout = 0.5  # how long taking a connection waits
    await database.open(wait=False)
    yield database
    await database.close()


async def test_a_run_of_a_slice_that_is_gone_is_unknown_slice(database: Database) -> None:
    store = SliceStore(database)
    with pytest.raises(UnknownSlice):
        await store.start_run("gone", RunKind.PULL, upstream_ref=None, slice_ref=None)


async def test_map_entries_of_a_slice_that_is_gone_are_unknown_slice(database: Database) -> None:
    store = SliceStore(database)
    with pytest.raises(UnknownSlice):
        await store.add_mappings("gone", [Mapped(upstream="a" * 40, slice="b" * 40,
                                                 rules_digest="d")])


async def test_no_database_is_a_store_error_that_is_the_database_down(nowhere: Database) -> None:
    """A StoreError for GitSlice's callers, and the core's DatabaseError for the admin graph
    (``SERVICE_UNAVAILABLE``) and the CLI."""
    store = SliceStore(nowhere)
    with pytest.raises(StoreError, match="the database is unavailable") as raised:
        await store.all()
    assert isinstance(raised.value, DatabaseError)


async def test_a_connection_lost_inside_a_transaction_is_a_store_error(
    database: Database,
) -> None:
    store = SliceStore(database)
    with pytest.raises(StoreError, match="the database is unavailable"):
        async with store.transaction() as conn:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")


_A, _B, _C, _D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)


async def _slice(store: SliceStore) -> None:
    await store.create(SliceConfig(name="web", upstream_url="/srv/app.git",
                                   slice_url="/srv/app-public.git"))


async def test_a_recorded_pull_stores_map_tip_last_sync_and_run_end(database: Database) -> None:
    store = SliceStore(database)
    await _slice(store)
    run_id = await store.start_run("web", RunKind.PULL, upstream_ref="main", slice_ref="main")
    await store.record_pull(PullRecord(
        name="web", run_id=run_id, upstream_ref="main", upstream_sha=_A, slice_ref="main",
        slice_sha=_B,
        mapped=(Mapped(upstream=_A, slice=_B), Mapped(upstream=_C, slice=_D)), synced=True))
    assert set(await store.by_upstream_sha("web", [_A, _C])) == {_A, _C}
    assert await store.tips("web") == [Tip(upstream_ref="main", upstream_sha=_A, slice_sha=_B)]
    row = await store.get("web")
    assert (row["last_upstream_sha"], row["last_slice_sha"]) == (_A, _B)
    [run] = await store.runs("web")
    assert (run["state"], run["upstream_sha"], run["slice_sha"], run["commits"]) == (
        RunState.SUCCEEDED, _A, _B, 2)


async def test_a_recorded_pull_branch_moves_its_tip_but_not_the_last_sync(
    database: Database,
) -> None:
    store = SliceStore(database)
    await _slice(store)
    run_id = await store.start_run("web", RunKind.PULL_BRANCH, upstream_ref="topic",
                                   slice_ref="upstream-topic")
    await store.record_pull(PullRecord(
        name="web", run_id=run_id, upstream_ref="topic", upstream_sha=_C,
        slice_ref="upstream-topic", slice_sha=_D,
        mapped=(Mapped(upstream=_C, slice=_D),), synced=False))
    assert await store.tips("web") == [Tip(upstream_ref="topic", upstream_sha=_C, slice_sha=_D)]
    assert (await store.get("web"))["last_upstream_sha"] is None


async def test_a_pull_record_is_written_whole_or_not_at_all(database: Database) -> None:
    """The map entries are not kept when the tip after them cannot be written."""
    store = SliceStore(database)
    await _slice(store)
    run_id = await store.start_run("web", RunKind.PULL, upstream_ref="main", slice_ref="main")
    with pytest.raises(StoreError):
        await store.record_pull(PullRecord(
            name="web", run_id=run_id, upstream_ref=None,  # type: ignore[arg-type]
            upstream_sha=_A, slice_ref="main", slice_sha=_B,
            mapped=(Mapped(upstream=_A, slice=_B),),
            synced=True))
    assert await store.count("web") == 0
    assert (await store.runs("web"))[0]["state"] == RunState.RUNNING


async def test_a_failed_run_keeps_its_error(database: Database) -> None:
    store = SliceStore(database)
    await _slice(store)
    run_id = await store.start_run("web", RunKind.PUSH, upstream_ref="x", slice_ref="x")
    await store.finish_run(run_id, RunEnd(state=RunState.FAILED, error="upstream refused"))
    [run] = await store.runs("web")
    assert (run["state"], run["error"]) == (RunState.FAILED, "upstream refused")


async def test_a_recorded_reindex_replaces_the_map_and_tips(database: Database) -> None:
    store = SliceStore(database)
    await _slice(store)
    await store.add_mappings("web", [Mapped(upstream=_C, slice=_D)])
    run_id = await store.start_run("web", RunKind.REINDEX, upstream_ref=None, slice_ref=None)
    await store.record_reindex(
        run_id, name="web", mapped=[Mapped(upstream=_A, slice=_B)],
        tips=[Tip(upstream_ref="main", upstream_sha=_A, slice_sha=_B),
              Tip(upstream_ref="topic", upstream_sha=_A, slice_sha=_B)], synced_ref="main")
    assert [m.upstream for m in await store.by_prefix("web", "")] == [_A]
    assert {tip.upstream_ref for tip in await store.tips("web")} == {"main", "topic"}
    assert (await store.get("web"))["last_slice_sha"] == _B
    assert (await store.runs("web"))[0]["commits"] == 1
    await store.clear_map("web")
    assert (await store.count("web"), await store.tips("web")) == (0, [])


async def test_the_slice_list_reads_on_the_connection_it_is_given(database: Database) -> None:
    """An event handler lists slices inside its own transaction, which sees its own writes."""
    store = SliceStore(database)
    async with database.transaction() as conn:
        await conn.execute("INSERT INTO gitslice_slices (name, upstream_url, upstream_branch, "
                           "slice_url, slice_branch) VALUES ('new', 'u', 'main', 's', 'main')")
        assert [row["name"] for row in await store.all(conn)] == ["new"]
        assert await store.all() == []
