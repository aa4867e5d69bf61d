"""Slices, sync runs and the commit map in PostgreSQL.

The service's one adapter to the driver: database errors leave it as GitSlice's own (a row for
a slice that is gone as :class:`UnknownSlice`, anything else as :class:`StoreError`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable
from enum import StrEnum
from typing import Any

import psycopg

from crossdock.core.database import Connection, Database
from crossdock.core.sql import load_queries
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import GitSliceError, SliceExists, StoreError, UnknownSlice
from crossdock.gitslice.history import Mapped

_queries = load_queries("crossdock.gitslice", "queries.sql")


class RunKind(StrEnum):
    """What a run did."""

    PULL = "pull"
    PULL_BRANCH = "pull_branch"
    PUSH = "push"
    REINDEX = "reindex"


class RunState(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Tip:
    """The last upstream commit sliced from one upstream ref, and its slice commit."""

    upstream_ref: str
    upstream_sha: str
    slice_sha: str


def translated(exc: psycopg.Error) -> GitSliceError:
    """GitSlice's error for a driver error."""
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    if (exc.diag.constraint_name or "").endswith("_slice_name_fkey"):
        return UnknownSlice()  # removed while this ran
    if isinstance(exc, psycopg.OperationalError):  # the pool's timeout is one too
        return StoreError(f"the database is unavailable: {reason}")
    return StoreError(f"the database refused the statement: {reason}")


async def _execute(
    conn: Connection, name: str, params: dict[str, Any] | None = None
) -> psycopg.AsyncCursor[dict[str, Any]]:
    """Run a named query (its rows come with it); errors translated."""
    try:
        return await conn.execute(_queries[name], params)
    except psycopg.Error as exc:
        raise translated(exc) from exc


def _mapped(row: dict[str, Any]) -> Mapped:
    return Mapped(upstream=row["upstream_sha"], slice=row["slice_sha"],
                  rules_digest=row["rules_digest"])


class SliceStore:
    """Reads and writes gitslice's tables; each method takes the connection to use."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection for the methods below; errors translated."""
        try:
            async with self.database.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise translated(exc) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction; a failed commit is translated too."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Connection]:
        """Hold the slice's advisory lock (waiting for it) on a connection of its own."""
        async with self.connection() as conn:
            await conn.set_autocommit(True)
            await _execute(conn, "lock_slice", {"name": name})
            try:
                await _execute(conn, "interrupt_runs", {"name": name})
                yield conn
            finally:
                await _execute(conn, "unlock_slice", {"name": name})
                await conn.set_autocommit(False)

    async def create(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a new slice (or, with ``update``, change an existing one)."""
        async with self.transaction() as conn:
            cursor = await _execute(conn, "insert_slice", config.as_row())
            if cursor.rowcount == 0:
                if not update:
                    raise SliceExists(f"a slice named {config.name!r} exists already")
                await _execute(conn, "update_slice", config.as_row())

    async def get(self, conn: Connection, name: str) -> dict[str, Any]:
        """The slice's row."""
        cursor = await _execute(conn, "select_slice", {"name": name})
        row = await cursor.fetchone()
        if row is None:
            raise UnknownSlice(f"no slice named {name!r} (create it with `crossdock slice init`)")
        return row

    async def config(self, conn: Connection, name: str) -> SliceConfig:
        """The slice's config."""
        return SliceConfig.from_row(await self.get(conn, name))

    async def all(self, conn: Connection) -> list[dict[str, Any]]:
        """Every slice's row."""
        cursor = await _execute(conn, "select_slices")
        return await cursor.fetchall()

    async def start_run(
        self, conn: Connection, name: str, kind: RunKind, *, upstream_ref: str | None,
        slice_ref: str | None,
    ) -> int:
        """Record that a run started; returns its id."""
        cursor = await _execute(conn, "insert_run", {
            "name": name, "kind": kind.value, "upstream_ref": upstream_ref, "slice_ref": slice_ref,
        })
        row = await cursor.fetchone()
        assert row is not None
        return int(row["id"])

    async def finish_run(
        self, conn: Connection, run_id: int, state: RunState, *, upstream_sha: str | None = None,
        slice_sha: str | None = None, commits: int = 0, error: str | None = None,
    ) -> None:
        """Record how a run ended."""
        await _execute(conn, "finish_run", {
            "id": run_id, "state": state.value, "upstream_sha": upstream_sha,
            "slice_sha": slice_sha, "commits": commits, "error": error,
        })

    async def runs(self, conn: Connection, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The slice's latest runs, newest first."""
        cursor = await _execute(conn, "select_runs", {"name": name, "limit": limit})
        return await cursor.fetchall()

    async def add_mappings(self, conn: Connection, name: str, mapped: Iterable[Mapped]) -> None:
        """Insert (or correct) map entries."""
        rows = list(mapped)
        if not rows:
            return
        try:
            await _execute(conn, "insert_mappings", {
                "name": name,
                "upstream": [m.upstream for m in rows],
                "slice": [m.slice for m in rows],
                "digests": [m.rules_digest for m in rows],
            })
        except StoreError as exc:
            raise StoreError(f"cannot store the commit map of {name!r}: {exc}") from exc

    async def by_upstream_sha(
        self, conn: Connection, name: str, shas: list[str]
    ) -> dict[str, Mapped]:
        """Map entries by upstream sha."""
        if not shas:
            return {}
        cursor = await _execute(conn, "select_by_upstream", {"name": name, "shas": shas})
        return {row["upstream_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_slice_sha(self, conn: Connection, name: str, shas: list[str]) -> dict[str, Mapped]:
        """Map entries by slice sha."""
        if not shas:
            return {}
        cursor = await _execute(conn, "select_by_slice", {"name": name, "shas": shas})
        return {row["slice_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_prefix(self, conn: Connection, name: str, prefix: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``prefix``."""
        cursor = await _execute(
            conn, "select_by_prefix", {"name": name, "prefix": prefix.lower() + "%"}
        )
        return [_mapped(row) for row in await cursor.fetchall()]

    async def count(self, conn: Connection, name: str) -> int:
        """How many map entries the slice has."""
        cursor = await _execute(conn, "count_mappings", {"name": name})
        row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def clear_map(self, conn: Connection, name: str) -> None:
        """Forget the slice's map and tips (reindex rebuilds them)."""
        await _execute(conn, "delete_mappings", {"name": name})
        await _execute(conn, "delete_tips", {"name": name})

    async def set_tip(self, conn: Connection, name: str, tip: Tip) -> None:
        """Remember the last sliced commit of an upstream ref."""
        await _execute(conn, "upsert_tip", {
            "name": name, "ref": tip.upstream_ref, "upstream_sha": tip.upstream_sha,
            "slice_sha": tip.slice_sha,
        })

    async def tips(self, conn: Connection, name: str) -> list[Tip]:
        """Every ref's last sliced commit."""
        cursor = await _execute(conn, "select_tips", {"name": name})
        return [Tip(**row) for row in await cursor.fetchall()]

    async def set_synced(self, conn: Connection, name: str, upstream_sha: str,
                         slice_sha: str) -> None:
        """Record the default branch's last sync."""
        await _execute(conn, "set_synced", {
            "name": name, "upstream_sha": upstream_sha, "slice_sha": slice_sha,
        })
