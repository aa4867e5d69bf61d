"""The GitSlice admin subgraph: slices, sync runs, the commit map, linked pull requests.

``pullSlice`` queues the same job an upstream push queues (``pushSlice`` and ``reindexSlice``
theirs) and returns it as a ``Job``, known here by its key and the sync runs it ran: the
gateway asks the core's subgraph for its status, so this service never reads the queue's
tables. The types are :mod:`.admin_types`'.
"""

from __future__ import annotations

from typing import Any

import strawberry

from crossdock.core.admin_graph.context import AdminContext, context_of
from crossdock.core.admin_graph.pages import Connection
from crossdock.core.admin_graph.serving import AdminSchema
from crossdock.core.errors import JobError
from crossdock.core.sql import load_queries
from crossdock.gitslice.admin_types import (
    CommitMapping,
    Delivery,
    Job,
    Repository,
    Slice,
    SyncRun,
    repository,
    run_of,
    runs_page,
    slice_of,
)
from crossdock.gitslice.errors import GitSliceError, UnknownSlice
from crossdock.gitslice.jobs import PUSH_TASK, REINDEX_TASK
from crossdock.gitslice.triggers import PULL_TASK

_queries = load_queries("crossdock.gitslice", "admin_graph.sql")


async def _one_slice(context: AdminContext, name: str) -> Slice:
    rows = await context.rows(_queries["slices"], {"name": name})
    if not rows:
        raise UnknownSlice(f"no slice named {name!r}")
    return slice_of(rows[0])


@strawberry.type
class Query:
    @strawberry.field(description="Every slice, by name.")
    async def slices(self, info: strawberry.Info) -> list[Slice]:
        return [slice_of(row) for row in await context_of(info).rows(
            _queries["slices"], {"name": None})]

    @strawberry.field(description="A slice by name.")
    async def slice(self, info: strawberry.Info, name: str) -> Slice | None:
        rows = await context_of(info).rows(_queries["slices"], {"name": name})
        return slice_of(rows[0]) if rows else None

    @strawberry.field(description="A slice's sync runs, newest first.")
    async def sync_runs(self, info: strawberry.Info, slice: str, first: int = 20,  # noqa: A002
                        after: str | None = None) -> Connection[SyncRun]:
        return await runs_page(context_of(info), slice, first, after)

    @strawberry.field(description="A sync run by id.")
    async def sync_run(self, info: strawberry.Info, id: strawberry.ID) -> SyncRun | None:  # noqa: A002
        return await context_of(info).by_id("runs", _queries["runs_by_id"], id, run_of)

    @strawberry.field(description="Every slice's sync runs, newest first.")
    async def recent_sync_runs(self, info: strawberry.Info, first: int = 50,
                               after: str | None = None) -> Connection[SyncRun]:
        return await runs_page(context_of(info), None, first, after)

    @strawberry.field(description=(
        "A repository by URL (any spelling: https, ssh, with or without ``.git``)."))
    def repository(self, url: str) -> Repository:
        return repository(url)

    @strawberry.field(description=(
        "Look commits up in a slice's commit map: upstream shas to slice shas, or back."))
    async def commit_map(self, info: strawberry.Info, slice: str,  # noqa: A002
                         upstream_shas: list[str] | None = None,
                         slice_shas: list[str] | None = None) -> list[CommitMapping]:
        if bool(upstream_shas) == bool(slice_shas):
            raise GitSliceError("give upstreamShas or sliceShas (full shas), one of them")
        query, shas = (("map_by_upstream", upstream_shas) if upstream_shas
                       else ("map_by_slice", slice_shas))
        rows = await context_of(info).rows(_queries[query], {"slice": slice, "shas": shas})
        return [CommitMapping(upstream_sha=row["upstream_sha"], slice_sha=row["slice_sha"])
                for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description=(
        "Queue a pull of the slice (its branch, or upstream ``branch``); the job is returned."))
    async def pull_slice(self, info: strawberry.Info, name: str,
                         branch: str | None = None) -> Job:
        arguments = {} if branch is None else {"branch": branch}
        # One waiting pull of a slice's branch is enough (the queue refuses a second).
        return await _queue(context_of(info), PULL_TASK, name, waiting=branch is None,
                            **arguments)

    @strawberry.mutation(description=(
        "Queue a push of slice ``branch`` upstream (onto the branch the slice's template "
        "names; ``force`` replaces it) and, with ``raisePr``, the opening of its upstream pull "
        "request; the job is returned, and its sync runs say what the push did."))
    # The GraphQL field's arguments, one parameter each (strawberry reads them off the
    # signature), rather than a value object: a client writes pushSlice(name:, branch:, ...).
    async def push_slice(self, info: strawberry.Info, name: str, branch: str,
                         message: str | None = None, force: bool = False,
                         raise_pr: bool = False) -> Job:
        context = context_of(info)
        found = await _one_slice(context, name)
        if not branch.strip():
            raise GitSliceError("give the slice branch to push")
        if raise_pr and found.forge is None:
            raise GitSliceError(f"slice {name!r} has no forge repositories to raise a pull "
                                "request on (set them with `crossdock slice init --forge`)")
        return await _queue(context, PUSH_TASK, name, waiting=False, branch=branch.strip(),
                            message=message or None, force=force, raise_pr=raise_pr)

    @strawberry.mutation(description=(
        "Queue a rebuild of the slice's commit map from its commits' trailers."))
    async def reindex_slice(self, info: strawberry.Info, name: str) -> Job:
        return await _queue(context_of(info), REINDEX_TASK, name, waiting=True)


async def _queue(context: AdminContext, task: str, name: str, *, waiting: bool,
                 **arguments: Any) -> Job:
    """Queue ``task`` on slice ``name`` (one job at a time per slice); with ``waiting``, one
    waiting job of the task per slice at most."""
    await _one_slice(context, name)
    try:
        job_id = await context.runtime.jobs.defer(
            task, lock=f"slice:{name}", queueing_lock=f"{task}:{name}" if waiting else None,
            slice_name=name, **arguments)
    except JobError as exc:
        what = task.rpartition(".")[2]
        raise GitSliceError(f"a {what} of slice {name!r} is already waiting") from exc
    return Job(id=strawberry.ID(str(job_id)))


def build_schema() -> AdminSchema:
    """The GitSlice admin subgraph schema."""
    return AdminSchema(query=Query, mutation=Mutation, types=[Delivery, Job, Repository],
                       federation_version="2.3")
