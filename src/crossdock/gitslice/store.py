"""Slices, sync runs and the commit map in PostgreSQL.

The service's one adapter to the driver: database errors leave it as GitSlice's own (a row for
a slice that is gone as :class:`UnknownSlice`, anything else as :class:`StoreError`). Each
method takes a pooled connection of its own, and what must happen together (a pull's map
entries, tip and run end) is one method and one transaction: callers never hold a connection.
Given an event sink (the core bus), the methods that record a change GitSlice reports
(:mod:`crossdock.gitslice.events`) publish its event in that same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

import psycopg

from crossdock.core.database import Connection, Database
from crossdock.core.sql import load_queries
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.credentials import Side, StoredCredential
from crossdock.gitslice.errors import (
    GitSliceError,
    SliceExists,
    StoreError,
    StoreUnavailable,
    UnknownSlice,
)
from crossdock.gitslice.events import EventSink, SliceEvent, slice_pulled
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.records import (
    CommandRecord,
    CommandState,
    Copy,
    CopyKind,
    LinkState,
    PullLink,
    PullRecord,
    RunCause,
    RunEnd,
    RunKind,
    RunState,
    Tip,
)

_queries = load_queries("crossdock.gitslice", "queries.sql")


def translated(exc: psycopg.Error) -> GitSliceError:
    """GitSlice's error for a driver error."""
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    if (exc.diag.constraint_name or "").endswith("_slice_name_fkey"):
        return UnknownSlice()  # removed while this ran
    if isinstance(exc, psycopg.OperationalError):  # the pool's timeout is one too
        return StoreUnavailable(f"the database is unavailable: {reason}")
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
    """Reads and writes gitslice's tables, each method on a pooled connection of its own."""

    def __init__(self, database: Database, events: EventSink | None = None) -> None:
        self.database = database
        self.events = events

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; errors translated."""
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
    async def locked(self, name: str) -> AsyncIterator[None]:
        """Hold the slice's advisory lock (waiting for it) on a connection of its own."""
        async with self.connection() as conn:
            await conn.set_autocommit(True)
            await _execute(conn, "lock_slice", {"name": name})
            try:
                await _execute(conn, "interrupt_runs", {"name": name})
                yield
            finally:
                await _execute(conn, "unlock_slice", {"name": name})
                await conn.set_autocommit(False)

    # -- slices ------------------------------------------------------------------------------

    async def create(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a new slice (or, with ``update``, change an existing one)."""
        async with self.transaction() as conn:
            cursor = await _execute(conn, "insert_slice", config.as_row())
            if cursor.rowcount == 0:
                if not update:
                    raise SliceExists(f"a slice named {config.name!r} exists already")
                await _execute(conn, "update_slice", config.as_row())

    async def get(self, name: str) -> dict[str, Any]:
        """The slice's row."""
        async with self.connection() as conn:
            return await _slice_row(conn, name)

    async def config(self, name: str) -> SliceConfig:
        """The slice's config."""
        return SliceConfig.from_row(await self.get(name))

    async def all(self, conn: Connection | None = None) -> list[dict[str, Any]]:
        """Every slice's row (on ``conn`` when given: an event handler's transaction)."""
        if conn is not None:
            return await (await _execute(conn, "select_slices")).fetchall()
        async with self.connection() as own:
            return await (await _execute(own, "select_slices")).fetchall()

    # -- runs --------------------------------------------------------------------------------

    async def start_run(
        self, name: str, kind: RunKind, *, upstream_ref: str | None, slice_ref: str | None,
        cause: RunCause | None = None,
    ) -> int:
        """Record that a run started (and what started it); returns its id. A pull of the
        default branch also takes the deliveries waiting for one: the run lists them all and
        names the cause's delivery (else the first of them) as its own."""
        cause = cause or RunCause()
        async with self.transaction() as conn:
            deliveries = set() if cause.delivery_id is None else {cause.delivery_id}
            if kind is RunKind.PULL:
                taken = await _execute(conn, "take_waiting_deliveries", {"name": name})
                deliveries.update(row["delivery_id"] for row in await taken.fetchall())
            first = cause.delivery_id if cause.delivery_id is not None else \
                min(deliveries, default=None)
            cursor = await _execute(conn, "insert_run", {
                "name": name, "kind": kind.value, "upstream_ref": upstream_ref,
                "slice_ref": slice_ref, "job_id": cause.job_id, "delivery_id": first,
            })
            row = await cursor.fetchone()
            assert row is not None
            if deliveries:
                await _execute(conn, "insert_run_deliveries", {
                    "run_id": row["id"], "deliveries": sorted(deliveries)})
        return int(row["id"])

    async def await_pull(self, conn: Connection, name: str, delivery_id: int) -> None:
        """Record on ``conn`` (an event handler's transaction) that delivery ``delivery_id``
        asked for a pull of slice ``name``'s default branch: the next one to start lists it."""
        await _execute(conn, "insert_waiting_delivery", {"name": name,
                                                          "delivery_id": delivery_id})

    async def finish_run(self, run_id: int, end: RunEnd, *,
                         event: SliceEvent | None = None) -> None:
        """Record how a run ended (and publish ``event`` with it)."""
        async with self.transaction() as conn:
            await _finish_run(conn, run_id, end)
            await self._publish(conn, event)

    async def _publish(self, conn: Connection, event: SliceEvent | None) -> None:
        if event is None or self.events is None:
            return
        try:
            await self.events.publish(event.type, event.payload, key=event.slice,
                                      connection=conn)
        except psycopg.Error as exc:
            raise translated(exc) from exc

    async def runs(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The slice's latest runs, newest first."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_runs", {"name": name, "limit": limit})
            return await cursor.fetchall()

    async def slice_commit_of_push(self, name: str, upstream_sha: str) -> str | None:
        """The slice commit a push made upstream commit ``upstream_sha`` from, if one did."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_push_slice_commit",
                                    {"name": name, "sha": upstream_sha})
            row = await cursor.fetchone()
        return str(row["slice_sha"]) if row else None

    async def record_pull(self, record: PullRecord) -> None:
        """A pull's map entries, its branch's tip (and the last sync), its run's end and its
        ``gitslice.slice.pulled`` event."""
        async with self.transaction() as conn:
            await _add_mappings(conn, record.name, record.mapped, run_id=record.run_id)
            if record.slice_sha is not None:
                await _set_tip(conn, record.name, Tip(
                    upstream_ref=record.upstream_ref, upstream_sha=record.upstream_sha,
                    slice_sha=record.slice_sha))
                if record.synced:
                    await _set_synced(conn, record.name, record.upstream_sha, record.slice_sha)
            await _finish_run(conn, record.run_id, RunEnd(
                state=RunState.SUCCEEDED, upstream_sha=record.upstream_sha,
                slice_sha=record.slice_sha, commits=len(record.mapped)))
            await self._publish(conn, slice_pulled(
                record.name, upstream_branch=record.upstream_ref,
                upstream_head=record.upstream_sha, slice_branch=record.slice_ref,
                slice_head=record.slice_sha, commits=len(record.mapped)))

    async def record_reindex(
        self, run_id: int, *, name: str, mapped: Iterable[Mapped], tips: Iterable[Tip],
        synced_ref: str,
    ) -> None:
        """Replace the map and tips with those read from trailers; ``synced_ref``'s tip is
        the last sync; the run ends.
        """
        entries = list(mapped)
        async with self.transaction() as conn:
            await _clear_map(conn, name)
            await _add_mappings(conn, name, entries, run_id=run_id)
            for tip in tips:
                await _set_tip(conn, name, tip)
                if tip.upstream_ref == synced_ref:
                    await _set_synced(conn, name, tip.upstream_sha, tip.slice_sha)
            await _finish_run(conn, run_id, RunEnd(state=RunState.SUCCEEDED,
                                                   commits=len(entries)))

    # -- the commit map ----------------------------------------------------------------------

    async def add_mappings(self, name: str, mapped: Iterable[Mapped]) -> None:
        """Insert (or correct) map entries."""
        async with self.transaction() as conn:
            await _add_mappings(conn, name, mapped)

    async def by_upstream_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]:
        """Map entries by upstream sha."""
        if not shas:
            return {}
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_by_upstream", {"name": name, "shas": shas})
            return {row["upstream_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_slice_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]:
        """Map entries by slice sha."""
        if not shas:
            return {}
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_by_slice", {"name": name, "shas": shas})
            return {row["slice_sha"]: _mapped(row) for row in await cursor.fetchall()}

    async def by_prefix(self, name: str, prefix: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``prefix``."""
        async with self.connection() as conn:
            cursor = await _execute(
                conn, "select_by_prefix", {"name": name, "prefix": prefix.lower() + "%"})
            return [_mapped(row) for row in await cursor.fetchall()]

    async def count(self, name: str) -> int:
        """How many map entries the slice has."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "count_mappings", {"name": name})
            row = await cursor.fetchone()
        return int(row["n"]) if row else 0

    async def clear_map(self, name: str) -> None:
        """Forget the slice's map and tips."""
        async with self.transaction() as conn:
            await _clear_map(conn, name)

    async def tips(self, name: str) -> list[Tip]:
        """Every ref's last sliced commit."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_tips", {"name": name})
            return [Tip(**row) for row in await cursor.fetchall()]


    # -- credentials -------------------------------------------------------------------------

    async def set_credential(self, name: str, credential: StoredCredential) -> None:
        """Store a side's credential (its secret already a reference or encrypted)."""
        async with self.transaction() as conn:
            await _slice_row(conn, name)
            await _execute(conn, "upsert_credential", credential.as_row(name))

    async def credentials(self, name: str) -> dict[Side, StoredCredential]:
        """The slice's stored credentials, by side."""
        async with self.connection() as conn:
            rows = await (await _execute(conn, "select_credentials", {"name": name})).fetchall()
        return {Side(row["side"]): StoredCredential.from_row(row) for row in rows}

    async def remove_credential(self, name: str, side: Side) -> bool:
        """Forget a side's credential; whether there was one."""
        async with self.transaction() as conn:
            cursor = await _execute(conn, "delete_credential", {"name": name, "side": side.value})
            return cursor.rowcount > 0

    # -- linked pull requests ------------------------------------------------------------------

    async def link(self, link: PullLink) -> PullLink:
        """Record (or complete) the link of an upstream pull request to its slice one."""
        async with self.transaction() as conn:
            cursor = await _execute(conn, "upsert_link", {
                "name": link.slice_name, "upstream_pr": link.upstream_pr,
                "slice_pr": link.slice_pr, "upstream_branch": link.upstream_branch,
                "slice_branch": link.slice_branch, "upstream_url": link.upstream_url,
            })
            row = await cursor.fetchone()
        assert row is not None
        return PullLink.from_row(row)

    async def link_by_upstream(self, name: str, upstream_pr: int) -> PullLink | None:
        """The link of upstream pull request ``upstream_pr``, if it is linked."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_link_by_upstream",
                                    {"name": name, "number": upstream_pr})
            row = await cursor.fetchone()
        return PullLink.from_row(row) if row else None

    async def link_by_slice(self, name: str, slice_pr: int) -> PullLink | None:
        """The link of slice pull request ``slice_pr``, if it is linked."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_link_by_slice",
                                    {"name": name, "number": slice_pr})
            row = await cursor.fetchone()
        return PullLink.from_row(row) if row else None

    async def links(self, name: str) -> list[PullLink]:
        """The slice's links, newest first."""
        async with self.connection() as conn:
            rows = await (await _execute(conn, "select_links", {"name": name})).fetchall()
        return [PullLink.from_row(row) for row in rows]

    async def set_link_state(self, name: str, upstream_pr: int,
                             state: LinkState) -> PullLink | None:
        """Move a link to ``state``; the link when it changed, None when it was there already
        (or there is no link), so a redelivered event acts once."""
        async with self.transaction() as conn:
            cursor = await _execute(conn, "set_link_state",
                                    {"name": name, "number": upstream_pr, "state": state.value})
            row = await cursor.fetchone()
        return PullLink.from_row(row) if row else None

    # -- copies from upstream ----------------------------------------------------------------

    async def copy(self, name: str, kind: CopyKind, upstream_id: int) -> Copy | None:
        """What upstream object ``upstream_id`` was copied to, if it was."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_copy", {
                "name": name, "kind": kind.value, "upstream_id": upstream_id})
            row = await cursor.fetchone()
        if row is None:
            return None
        return Copy(kind=kind, upstream_id=row["upstream_id"], slice_id=row["slice_id"],
                    slice_url=row["slice_url"], delivery_id=row["delivery_id"])

    async def record_copy(self, name: str, copy: Copy) -> None:
        """Record a copy (a second record of the same upstream object is ignored)."""
        async with self.transaction() as conn:
            await _execute(conn, "insert_copy", {
                "name": name, "kind": copy.kind.value, "upstream_id": copy.upstream_id,
                "slice_id": copy.slice_id, "slice_url": copy.slice_url,
                "delivery_id": copy.delivery_id})

    # -- comment commands --------------------------------------------------------------------

    async def take_command(self, conn: Connection, record: CommandRecord) -> bool:
        """Record a command on ``conn`` (an event handler's transaction); False when that
        comment's command was taken before (a redelivered webhook)."""
        cursor = await _execute(conn, "insert_command", {
            "name": record.slice_name, "comment_id": record.comment_id,
            "pull_number": record.pull_number, "author": record.author,
            "command": record.command, "delivery_id": record.delivery_id})
        return cursor.rowcount > 0

    async def finish_command(self, name: str, comment_id: int, state: CommandState,
                             result: str | None = None) -> None:
        """Record where a command stands and what it answered."""
        async with self.transaction() as conn:
            await _execute(conn, "finish_command", {
                "name": name, "comment_id": comment_id, "state": state.value,
                "result": result})

    async def command(self, name: str, comment_id: int) -> CommandRecord | None:
        """A taken command, if there is one for that comment."""
        async with self.connection() as conn:
            cursor = await _execute(conn, "select_command",
                                    {"name": name, "comment_id": comment_id})
            row = await cursor.fetchone()
        return CommandRecord.from_row(row) if row else None

    # -- periodic pulls ------------------------------------------------------------------------

    async def claim_due_pulls(self, conn: Connection) -> list[str]:
        """The slices whose periodic pull is due, marked as scheduled now (on ``conn``)."""
        cursor = await _execute(conn, "claim_due_pulls")
        return [row["name"] for row in await cursor.fetchall()]


# The statements the methods above put together in one transaction.


async def _slice_row(conn: Connection, name: str) -> dict[str, Any]:
    row = await (await _execute(conn, "select_slice", {"name": name})).fetchone()
    if row is None:
        raise UnknownSlice(f"no slice named {name!r} (create it with `crossdock slice init`)")
    return row


async def _finish_run(conn: Connection, run_id: int, end: RunEnd) -> None:
    await _execute(conn, "finish_run", {
        "id": run_id, "state": end.state.value, "upstream_sha": end.upstream_sha,
        "slice_sha": end.slice_sha, "commits": end.commits, "error": end.error,
    })


async def _add_mappings(conn: Connection, name: str, mapped: Iterable[Mapped], *,
                        run_id: int | None = None) -> None:
    rows = list(mapped)
    if not rows:
        return
    try:
        await _execute(conn, "insert_mappings", {
            "name": name, "run_id": run_id,
            "upstream": [m.upstream for m in rows],
            "slice": [m.slice for m in rows],
            "digests": [m.rules_digest for m in rows],
        })
    except StoreError as exc:
        raise StoreError(f"cannot store the commit map of {name!r}: {exc}") from exc


async def _clear_map(conn: Connection, name: str) -> None:
    await _execute(conn, "delete_mappings", {"name": name})
    await _execute(conn, "delete_tips", {"name": name})


async def _set_tip(conn: Connection, name: str, tip: Tip) -> None:
    await _execute(conn, "upsert_tip", {
        "name": name, "ref": tip.upstream_ref, "upstream_sha": tip.upstream_sha,
        "slice_sha": tip.slice_sha,
    })


async def _set_synced(conn: Connection, name: str, upstream_sha: str, slice_sha: str) -> None:
    await _execute(conn, "set_synced", {
        "name": name, "upstream_sha": upstream_sha, "slice_sha": slice_sha,
    })
