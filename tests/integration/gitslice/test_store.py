"""The slice store is GitSlice's one adapter to the driver: database errors leave it as ours."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from crossdock.core.database import Database
from crossdock.gitslice.errors import StoreError, UnknownSlice
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.store import RunKind, SliceStore

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
    async with store.transaction() as conn:
        with pytest.raises(UnknownSlice):
            await store.start_run(conn, "gone", RunKind.PULL, upstream_ref=None, slice_ref=None)


async def test_map_entries_of_a_slice_that_is_gone_are_unknown_slice(database: Database) -> None:
    store = SliceStore(database)
    async with store.transaction() as conn:
        with pytest.raises(UnknownSlice):
            await store.add_mappings(conn, "gone", [Mapped(upstream="a" * 40, slice="b" * 40,
                                                           rules_digest="d")])


async def test_no_database_is_a_store_error(nowhere: Database) -> None:
    store = SliceStore(nowhere)
    with pytest.raises(StoreError, match="the database is unavailable"):
        async with store.connection() as conn:
            await store.all(conn)


async def test_a_connection_lost_inside_a_transaction_is_a_store_error(
    database: Database,
) -> None:
    store = SliceStore(database)
    with pytest.raises(StoreError, match="the database is unavailable"):
        async with store.transaction() as conn:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
