"""Slices, sync runs and the commit map in PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable
from enum import StrEnum
from typing import Any

import psycopg

from crossdock.core.database import Connection, Database
from crossdock.core.errors import DatabaseError
from crossdock.core.sql import load_queries
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import SliceExists, UnknownSlice
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


def _mapped(row: dict[str, Any]) -> Mapped:
    return Mapped(upstream=row["upstream_sha"], slice=row["slice_sha"],
                  rules_digest=row["rules_digest"])


class SliceStore:
    """Reads and writes gitslice's tables; each method takes the connection to use."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Connection]:
        """Hold the slice's advisory lock (waiting for it) on a connection of its own."""
        async with self.database.connection() as conn:
            await conn.set_autocommit(True)
            await conn.execute(_queries["lock_slice"], {"name": name})
            try:
                await conn.execute(_queries["interrupt_runs"], {"name": name})
                yield conn
            finally:
                await conn.execute(_queries["unlock_slice"], {"name": name})
                await conn.set_autocommit(False)

    async def create(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a new slice (or, with ``update``, change an existing one)."""
        async with self.database.transaction() as conn:
            cursor = await conn.execute(_queries["insert_slice"], config.as_row())
            if cursor.rowcount == 0:
                if not update:
                    raise SliceExists(f"a slice named {config.name!r} exists already")
                await conn.execute(_queries["update_slice"], config.as_row())

    async def get(self, conn: Connection, name: str) -> dict[str, Any]:
        """The slice's row."""
        cursor = await conn.execute(_queries["select_slice"], {"name": name})
        row = await cursor.fetchone()
        if row is None:
            raise UnknownSlice(f"no slice named {name!r} (create it with `crossdock slice init`)")
        return row

    async def config(self, conn: Connection, name: str) -> SliceConfig:
        """The slice's config."""
        return SliceConfig.from_row(await self.get(conn, name))

    async def all(self, conn: Connection) -> list[dict[str, Any]]:
        """Every slice's row."""
        cursor = await conn.execute(_queries["select_slices"])
        return await cursor.fetchall()

    async def start_run(
        self, conn: Connection, name: str, kind: RunKind, *, upstream_ref: str | None,
        slice_ref: str | None,
    ) -> int:
        """Record that a run started; returns its id."""
        cursor = await conn.execute(_queries["insert_run"], {
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
        await conn.execute(_queries["finish_run"], {
            "id": run_id, "state": state.value, "upstream_sha": upstream_sha,
            "slice_sha": slice_sha, "commits": commits, "error": error,
        })

    async def runs(self, conn: Connection, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The slice's latest runs, newest first."""
        cursor = await conn.execute(_queries["select_runs"], {"name": name, "limit": limit})
        return await cursor.fetchall()

    async def add_mappings(self, conn: Connection, name: str, mapped: Iterable[Mapped]) -> None:
        """Insert (or correct) map entries."""
        rows = list(mapped)
        if not rows:
            return
        try:
            await conn.execute(_queries["insert_mappings"], {
                "name": name,
                "upstream": [m.upstream for m in rows],
                "slice": [m.slice for m in rows],
                "digests": [m.rules_digest for m in rows],
            })
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot store the commit map of {name!r}: {exc}") from exc

    async def by_upstream_sha(
        self, conn: Connection, name: str, shas: list[str]
    ) -> dict[str, Mapped]:
        """Map entries by upstream sha."""
        if not shas:
            return {}
        cursor = await conn.execute(_queries["select_by_upstream"], {"name": name, "shas": shas})
        return {row["upstream_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_slice_sha(self, conn: Connection, name: str, shas: list[str]) -> dict[str, Mapped]:
        """Map entries by slice sha."""
        if not shas:
            return {}
        cursor = await conn.execute(_queries["select_by_slice"], {"name": name, "shas": shas})
        return {row["slice_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_prefix(self, conn: Connection, name: str, prefix: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``prefix``."""
        cursor = await conn.execute(
            _queries["select_by_prefix"], {"name": name, "prefix": prefix.lower() + "%"}
        )
        return [_mapped(row) for row in await cursor.fetchall()]

    async def count(self, conn: Connection, name: str) -> int:
        """How many map entries the slice has."""
        cursor = await conn.execute(_queries["count_mappings"], {"name": name})
        row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def clear_map(self, conn: Connection, name: str) -> None:
        """Forget the slice's map and tips (reindex rebuilds them)."""
        await conn.execute(_queries["delete_mappings"], {"name": name})
        await conn.execute(_queries["delete_tips"], {"name": name})

    async def set_tip(self, conn: Connection, name: str, tip: Tip) -> None:
        """Remember the last sliced commit of an upstream ref."""
        await conn.execute(_queries["upsert_tip"], {
            "name": name, "ref": tip.upstream_ref, "upstream_sha": tip.upstream_sha,
            "slice_sha": tip.slice_sha,
        })

    async def tips(self, conn: Connection, name: str) -> list[Tip]:
        """Every ref's last sliced commit."""
        cursor = await conn.execute(_queries["select_tips"], {"name": name})
        return [Tip(**row) for row in await cursor.fetchall()]

    async def set_synced(self, conn: Connection, name: str, upstream_sha: str,
                         slice_sha: str) -> None:
        """Record the default branch's last sync."""
        await conn.execute(_queries["set_synced"], {
            "name": name, "upstream_sha": upstream_sha, "slice_sha": slice_sha,
        })
