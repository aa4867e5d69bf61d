"""The GitSlice admin subgraph's types: slices, sync runs, commit map entries, linked pull
requests and copies, each list read in batches through the request's loaders.

Three entities are shared with the other subgraphs: ``Job`` (the core's, key ``id``) gets the
sync runs it ran, ``Delivery`` (the webhooks service's, key ``id``) the sync runs its event
queued, and ``Repository`` (key ``url``, a repository URL normalized as the triggers match a
webhook's repository to a slice: ``github.com/org/repo``) the slices cut from it or into it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import strawberry

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection, connection, decode_cursor, page_size
from crossdock.core.repos import normalize_url
from crossdock.core.sql import load_queries

_queries = load_queries("crossdock.gitslice", "admin_graph.sql")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


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


# No description of its own: the webhooks subgraph's describes the type.
@strawberry.federation.type(keys=["id"])
class Delivery:
    id: strawberry.ID

    @strawberry.field(description=(
        "The sync runs its event started, newest first: a queued job's, a comment command's, "
        "and a waiting pull's that the event asked for again."))
    async def sync_runs(self, info: strawberry.Info) -> list[SyncRun]:
        return await _runs_by(context_of(info), "runs_by_delivery", self.id)

    @strawberry.field(description=(
        "What its event copied from upstream (a review and its comments, an issue and its "
        "comments), newest first: the copies remain when a later try or event finds them "
        "copied and makes no run."))
    async def copies(self, info: strawberry.Info) -> list[Copy]:
        try:
            key = int(self.id)
        except ValueError:
            return []
        return await _grouped(context_of(info), "copies_by_delivery", "delivery_id", key,
                              _copies)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Delivery:  # noqa: A002
        return cls(id=id)


# No description of its own: the core's subgraph describes the type.
@strawberry.federation.type(keys=["id"])
class Job:
    id: strawberry.ID

    @strawberry.field(description="The sync runs the job ran (a retried job may run several).")
    async def sync_runs(self, info: strawberry.Info) -> list[SyncRun]:
        return await _runs_by(context_of(info), "runs_by_job", self.id)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Job:  # noqa: A002
        return cls(id=id)


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
    #: Commits the run wrote (a push: the slice commits it carried upstream).
    commits: int
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    job_id: strawberry.Private[int | None]
    delivery_id: strawberry.Private[int | None]

    @strawberry.field(description="The job that ran it (none: run by hand).")
    def job(self) -> Job | None:
        return None if self.job_id is None else Job(id=strawberry.ID(str(self.job_id)))

    @strawberry.field(description=(
        "The webhook delivery whose event queued it, if one did (of several, the first)."))
    def delivery(self) -> Delivery | None:
        return (None if self.delivery_id is None
                else Delivery(id=strawberry.ID(str(self.delivery_id))))

    @strawberry.field(description=(
        "Every webhook delivery behind it, oldest first: a pull already waiting when later "
        "events asked for one ran for them all."))
    async def deliveries(self, info: strawberry.Info) -> list[Delivery]:
        return await _grouped(context_of(info), "run_deliveries", "run_id", int(self.id),
                              lambda rows: [Delivery(id=strawberry.ID(str(row["delivery_id"])))
                                            for row in rows])

    @strawberry.field(description=(
        "The commit map entries the run wrote, by upstream sha (the map keeps no commit "
        "order), at most ``first``; an entry a later run rewrote (a reindex rewrites all) is "
        "that run's. A push writes none: its upstream commit is ``upstreamSha``."))
    async def commit_list(self, info: strawberry.Info, first: int = 50) -> list[CommitMapping]:
        size = page_size(first)
        context = context_of(info)

        async def batch(ids: Sequence[int]) -> list[list[CommitMapping]]:
            found: dict[int, list[CommitMapping]] = {key: [] for key in ids}
            for row in await context.rows(_queries["run_commits"],
                                          {"keys": list(ids), "first": size}):
                found[row["run_id"]].append(CommitMapping(upstream_sha=row["upstream_sha"],
                                                          slice_sha=row["slice_sha"]))
            return [found[key] for key in ids]

        return await context.loader(f"run_commits:{size}", batch).load(int(self.id))

    @strawberry.field(description=(
        "For a push or a raised pull request: the upstream pull request of the branch it "
        "pushed, if one was raised (the newest)."))
    async def pull_link(self, info: strawberry.Info) -> PullLink | None:
        if self.kind not in ("push", "raise_pr") or self.upstream_ref is None:
            return None
        links = await _batched(context_of(info), "links", self.slice_name, _links)
        return next((link for link in links if link.upstream_branch == self.upstream_ref),
                    None)


@strawberry.type(description="An upstream review, review comment, issue or comment copied.")
class Copy:
    slice_name: str
    kind: str
    upstream_id: str
    slice_id: str
    slice_url: str
    created_at: dt.datetime
    delivery_id: strawberry.Private[int | None]

    @strawberry.field(description=(
        "The webhook delivery behind the job that copied it (an upstream review's, or the "
        "`/git-slice` comment's that asked for it); none when copied by hand."))
    def delivery(self) -> Delivery | None:
        return (None if self.delivery_id is None
                else Delivery(id=strawberry.ID(str(self.delivery_id))))


def _copies(rows: list[dict[str, Any]]) -> list[Copy]:
    return [Copy(slice_name=row["slice_name"], kind=row["kind"],
                 upstream_id=str(row["upstream_id"]), slice_id=str(row["slice_id"]),
                 slice_url=row["slice_url"], created_at=row["created_at"],
                 delivery_id=row["delivery_id"]) for row in rows]


@strawberry.federation.type(keys=["url"], description=(
    "A git repository, known by its URL normalized (``github.com/org/repo``: no scheme, "
    "user, ``.git`` or case)."))
class Repository:
    url: str

    @strawberry.field(description="The slices cut from it (upstream) or into it (slice).")
    async def slices(self, info: strawberry.Info) -> list[Slice]:
        context = context_of(info)

        async def every_slice(keys: Sequence[str]) -> list[list[dict[str, Any]]]:
            rows = await context.rows(_queries["slices"], {"name": None})
            return [rows for _ in keys]

        # Few slices, and a URL is matched normalized: read them all once per request.
        rows = await context.loader("every_slice", every_slice).load("")
        return [slice_of(row) for row in rows
                if self.url in (normalize_url(row["upstream_url"]),
                                normalize_url(row["slice_url"]))]

    @classmethod
    def resolve_reference(cls, url: str) -> Repository:
        return repository(url)


def repository(url: str) -> Repository:
    """The repository at ``url``, however it is spelled."""
    return Repository(url=normalize_url(url))


@strawberry.type(description="A slice: a filtered copy of an upstream repository.")
class Slice:
    name: str
    upstream_url: str
    upstream_branch: str
    slice_url: str
    slice_branch: str
    #: history (a slice commit per upstream commit) or squash.
    mode: str
    #: github, or none: no pull requests, reviews or comment commands.
    forge: str | None
    upstream_repo: str | None
    slice_repo: str | None
    last_upstream_sha: str | None
    last_slice_sha: str | None
    pull_interval_seconds: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @strawberry.field(description="The upstream repository.")
    def upstream(self) -> Repository:
        return repository(self.upstream_url)

    @strawberry.field(description="The slice repository.")
    def slice_repository(self) -> Repository:
        return repository(self.slice_url)

    @strawberry.field(description="How many commits the commit map holds for the slice.")
    async def mapped_commits(self, info: strawberry.Info) -> int:
        return await _batched(context_of(info), "map_counts", self.name,
                              lambda rows: rows[0]["mapped"] if rows else 0)

    @strawberry.field(description="Upstream pull requests raised from the slice's.")
    async def pull_links(self, info: strawberry.Info) -> list[PullLink]:
        return await _batched(context_of(info), "links", self.name, _links)

    @strawberry.field(description="Reviews, issues and comments copied from upstream.")
    async def copies(self, info: strawberry.Info) -> list[Copy]:
        return await _batched(context_of(info), "copies", self.name, _copies)

    @strawberry.field(description="The slice's sync runs, newest first.")
    async def runs(self, info: strawberry.Info, first: int = 20,
                   after: str | None = None) -> Connection[SyncRun]:
        return await runs_page(context_of(info), self.name, first, after)


_SLICE_FIELDS = frozenset(Slice.__annotations__) - {
    "upstream", "slice_repository", "mapped_commits", "pull_links", "copies", "runs"}
_RUN_FIELDS = frozenset(SyncRun.__annotations__) - {
    "id", "job", "delivery", "deliveries", "commit_list", "pull_link"}


def slice_of(row: dict[str, Any]) -> Slice:
    return Slice(**{key: row[key] for key in _SLICE_FIELDS})


def run_of(row: dict[str, Any]) -> SyncRun:
    return SyncRun(id=strawberry.ID(str(row["id"])), **{key: row[key] for key in _RUN_FIELDS})


def _links(rows: list[dict[str, Any]]) -> list[PullLink]:
    return [PullLink(upstream_pr=row["upstream_pr"], slice_pr=row["slice_pr"],
                     upstream_branch=row["upstream_branch"], slice_branch=row["slice_branch"],
                     upstream_url=row["upstream_url"], state=row["state"],
                     created_at=row["created_at"]) for row in rows]


async def _grouped(context: AdminContext, query: str, column: str, key: K,
                   shape: Callable[[list[dict[str, Any]]], T]) -> T:
    """``shape`` of the rows of ``query`` whose ``column`` is ``key``, loaded with the other
    keys the request asks for (``query`` takes them as ``keys``)."""
    async def batch(keys: Sequence[K]) -> list[T]:
        found: dict[Any, list[dict[str, Any]]] = {key: [] for key in keys}
        for row in await context.rows(_queries[query], {"keys": list(keys)}):
            found[row[column]].append(row)
        return [shape(found[key]) for key in keys]

    return await context.loader(query, batch).load(key)


async def _batched(context: AdminContext, query: str, name: str,
                   shape: Callable[[list[dict[str, Any]]], T]) -> T:
    """``shape`` of the rows of ``query`` about slice ``name``, loaded with other slices'."""
    return await _grouped(context, query, "slice_name", name, shape)


async def _runs_by(context: AdminContext, query: str, value: str) -> list[SyncRun]:
    """The runs whose job or delivery (``query``'s column) is ``value``, newest first."""
    try:
        key = int(value)
    except ValueError:
        return []
    column = "job_id" if query == "runs_by_job" else "cause"
    return await _grouped(context, query, column, key, lambda rows: [run_of(row) for row in rows])


async def runs_page(context: AdminContext, name: str | None, first: int,
                    after: str | None) -> Connection[SyncRun]:
    """A page of a slice's runs (of every slice's, without ``name``), newest first."""
    size = page_size(first)
    position = decode_cursor(after, 1)
    params = {"after": position[0] if position else None, "limit": size + 1}
    rows = await context.rows(_queries["runs_page"], {"slice": name, **params}) if name \
        else await context.rows(_queries["recent_runs_page"], params)
    return connection(rows, size, run_of, lambda row: [row["id"]])
