"""The GitSlice admin subgraph's types: slices, sync runs, commit map entries, linked pull
requests and copies, each list read in batches through the request's loaders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.gitslice", "admin_graph.sql")
T = TypeVar("T")


@strawberry.federation.type(keys=[Key(fields=FieldSet("id"), resolvable=False)],
                            description="A job of the queue (the core's subgraph has the rest).")
class Job:
    id: strawberry.ID


@strawberry.type(description="One sync run on a slice (pull, push, reindex, ...).")
class SyncRun:
    id: strawberry.ID
    slice_name: str
    kind: str
    #: running, succeeded, failed or interrupted.
    state: str
    upstream_ref: str | None
    slice_ref: str | None
    upstream_sha: str | None
    slice_sha: str | None
    #: Commits the run wrote.
    commits: int
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


@strawberry.type(description="An upstream commit and the slice commit made from it.")
class CommitMapping:
    upstream_sha: str
    slice_sha: str


@strawberry.type(description="An upstream pull request raised from a slice pull request.")
class PullLink:
    upstream_pr: int
    slice_pr: int | None
    upstream_branch: str
    slice_branch: str
    upstream_url: str
    #: open, closed or merged.
    state: str
    created_at: dt.datetime


@strawberry.type(description="An upstream review, review comment, issue or comment copied.")
class Copy:
    kind: str
    upstream_id: str
    slice_id: str
    slice_url: str
    created_at: dt.datetime


@strawberry.type(description="A slice: a filtered copy of an upstream repository.")
class Slice:
    name: str
    upstream_url: str
    upstream_branch: str
    slice_url: str
    slice_branch: str
    #: history (a slice commit per upstream commit) or squash.
    mode: str
    upstream_repo: str | None
    slice_repo: str | None
    last_upstream_sha: str | None
    last_slice_sha: str | None
    pull_interval_seconds: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="How many commits the commit map holds for the slice.")
    async def mapped_commits(self, info: strawberry.Info) -> int:
        return await _batched(context_of(info), "map_counts", self.name,
                              lambda rows: rows[0]["mapped"] if rows else 0)

    @strawberry.field(description="Upstream pull requests raised from the slice's.")
    async def pull_links(self, info: strawberry.Info) -> list[PullLink]:
        return await _batched(context_of(info), "links", self.name, lambda rows: [PullLink(
            upstream_pr=row["upstream_pr"], slice_pr=row["slice_pr"],
            upstream_branch=row["upstream_branch"], slice_branch=row["slice_branch"],
            upstream_url=row["upstream_url"], state=row["state"],
            created_at=row["created_at"]) for row in rows])

    @strawberry.field(description="Reviews, issues and comments copied from upstream.")
    async def copies(self, info: strawberry.Info) -> list[Copy]:
        return await _batched(context_of(info), "copies", self.name, lambda rows: [Copy(
            kind=row["kind"], upstream_id=str(row["upstream_id"]),
            slice_id=str(row["slice_id"]), slice_url=row["slice_url"],
            created_at=row["created_at"]) for row in rows])

    @strawberry.field(description="The slice's sync runs, newest first.")
    async def runs(self, info: strawberry.Info, first: int = 20,
                   after: str | None = None) -> Connection[SyncRun]:
        return await runs_page(context_of(info), self.name, first, after)


_SLICE_FIELDS = frozenset(Slice.__annotations__) - {"mapped_commits", "pull_links", "copies",
                                                    "runs"}


def slice_of(row: dict[str, Any]) -> Slice:
    return Slice(**{key: row[key] for key in _SLICE_FIELDS})


def run_of(row: dict[str, Any]) -> SyncRun:
    return SyncRun(id=strawberry.ID(str(row["id"])), **{
        key: row[key] for key in ("slice_name", "kind", "state", "upstream_ref", "slice_ref",
                                  "upstream_sha", "slice_sha", "commits", "error",
                                  "started_at", "finished_at")})


async def _batched(context: AdminContext, query: str, name: str,
                   shape: Callable[[list[dict[str, Any]]], T]) -> T:
    """``shape`` of the rows of ``query`` about slice ``name``, loaded with other slices'."""
    async def batch(names: Sequence[str]) -> list[T]:
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in names}
        for row in await context.rows(_queries[query], {"names": list(names)}):
            found[row["slice_name"]].append(row)
        return [shape(found[key]) for key in names]

    return await context.loader(query, batch).load(name)


async def runs_page(context: AdminContext, name: str, first: int,
                after: str | None) -> Connection[SyncRun]:
    size = page_size(first)
    position = decode_cursor(after, 1)
    rows = await context.rows(_queries["runs_page"], {
        "slice": name, "after": position[0] if position else None, "limit": size + 1})
    return connection(rows, size, run_of, lambda row: [row["id"]])
