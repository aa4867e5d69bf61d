"""The operations on a slice (pull, pull-branch, push, reindex, status), end to end.

Each runs under the slice's PostgreSQL advisory lock, so a CLI run and a worker's job never
overlap. The order makes a crash harmless: objects are written in the cache repository, then
the slice or upstream ref is pushed (git sends objects before it moves the ref), and only then
are the map and the run recorded, in one transaction. A rerun after a crash between the push
and the record finds the pushed commits by their trailers and records them; since slice commits
are deterministic it would have made the same ones anyway.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pygit2

from crossdock.core.database import Connection
from crossdock.core.logging import get_logger
from crossdock.gitslice.config import Credentials, Mode, SliceConfig, checked
from crossdock.gitslice.errors import (
    GitCommandError,
    GitSliceError,
    NotSynced,
    SliceConfigError,
    UnknownBranch,
)
from crossdock.gitslice.history import HistorySlicer, Mapped, PullResult
from crossdock.gitslice.messages import upstream_sha
from crossdock.gitslice.pushing import PushBuilder, PushPlan, PushRequest, target_branch
from crossdock.gitslice.remote import Git, Remote, probe, redact
from crossdock.gitslice.store import RunKind, RunState, SliceStore, Tip

logger = get_logger("crossdock.gitslice")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
UPSTREAM_NS = "upstream"
SLICE_NS = "slice"


class Reporter(Protocol):
    """Receives progress: named steps, and counts within the long ones."""

    def step(self, description: str) -> None: ...

    def progress(self, done: int, total: int) -> None: ...


class _Silent:
    def step(self, description: str) -> None:
        logger.debug("gitslice_step", step=description)

    def progress(self, done: int, total: int) -> None:
        logger.debug("gitslice_progress", done=done, total=total)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullOutcome:
    """What a pull did."""

    upstream_head: str
    slice_head: str | None
    commits: int
    slice_branch: str


def check_name(name: str) -> str:
    """A slice name is also a folder name: letters, digits, ``.``, ``_``, ``-``."""
    if not _NAME.match(name):
        raise SliceConfigError(
            f"invalid slice name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)"
        )
    return name


class Syncer:
    """Runs slice operations against the store, a cache repository and the two remotes."""

    #: Seconds a new slice's repositories have to answer ``git ls-remote``.
    probe_timeout: float = 30.0

    def __init__(
        self, store: SliceStore, *, data_dir: Path, credentials: Credentials | None = None
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.credentials = credentials or Credentials()

    # -- plumbing ---------------------------------------------------------------------------

    def cache(self, name: str) -> tuple[Git, pygit2.Repository]:
        """The slice's bare cache repository (created on first use)."""
        git = Git(self.data_dir / f"{check_name(name)}.git")
        git.init()
        return git, pygit2.Repository(str(git.git_dir))

    def remotes(self, config: SliceConfig) -> tuple[Remote, Remote]:
        """The upstream and slice remotes, with their tokens."""
        return self.credentials.upstream(config.upstream_url), \
            self.credentials.slice(config.slice_url)

    async def _fetch(
        self, git: Git, config: SliceConfig, reporter: Reporter, *,
        branches: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        """Fetch both remotes: every branch, or the (upstream, slice) ``branches`` named."""
        upstream, slice_remote = self.remotes(config)
        reporter.step("fetching upstream and slice")
        wanted = branches or (None, None)
        await asyncio.gather(
            asyncio.to_thread(git.fetch, upstream, UPSTREAM_NS, wanted[0]),
            asyncio.to_thread(git.fetch, slice_remote, SLICE_NS, wanted[1]),
        )

    @staticmethod
    def _ref(repo: pygit2.Repository, namespace: str, branch: str) -> str | None:
        ref = repo.references.get(f"refs/{namespace}/heads/{branch}")
        return str(ref.target) if ref is not None else None

    async def _run(
        self, name: str, kind: RunKind, *, upstream_ref: str | None, slice_ref: str | None,
    ) -> int:
        async with self.store.transaction() as conn:
            return await self.store.start_run(
                conn, name, kind, upstream_ref=upstream_ref, slice_ref=slice_ref
            )

    async def _fail(self, run_id: int, exc: BaseException, config: SliceConfig) -> None:
        upstream, slice_remote = self.remotes(config)
        message = redact(str(exc) or type(exc).__name__,
                         upstream.secrets() + slice_remote.secrets())
        async with self.store.transaction() as conn:
            await self.store.finish_run(conn, run_id, RunState.FAILED, error=message)

    # -- commands ---------------------------------------------------------------------------

    async def init(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a slice and create its cache repository."""
        check_name(config.name)
        if not config.upstream_url or not config.slice_url:
            raise SliceConfigError("a slice needs an upstream URL and a slice URL")
        for url in (config.upstream_url, config.slice_url):
            if Remote.parse(url).token:
                raise SliceConfigError(
                    f"{redact(url)}: do not put a token in the URL (it would be stored); give it "
                    "as GIT_SLICE_*_REPO_PASSWORD or CROSSDOCK_GITSLICE_*_TOKEN"
                )
        config = checked(config)
        await asyncio.gather(*(
            asyncio.to_thread(self._probe, side, remote)
            for side, remote in zip(("upstream", "slice"), self.remotes(config), strict=True)))
        await self.store.create(config, update=update)
        await asyncio.to_thread(self.cache, config.name)

    def _probe(self, side: str, remote: Remote) -> None:
        try:
            probe(remote, timeout=self.probe_timeout)
        except GitCommandError as exc:
            raise SliceConfigError(
                f"the {side} repository {redact(remote.url)} cannot be reached: {exc}") from exc

    async def config(self, name: str) -> SliceConfig:
        """The stored config of slice ``name``."""
        async with self.store.connection() as conn:
            return await self.store.config(conn, name)

    async def checkout(self, name: str, reporter: Reporter | None = None) -> dict[str, Any]:
        """Fetch both repositories into the cache; returns both default heads."""
        config = await self.config(name)
        git, repo = self.cache(name)
        async with self.store.locked(name):
            await self._fetch(git, config, reporter or _Silent())
        return {
            "upstream": self._ref(repo, UPSTREAM_NS, config.upstream_branch),
            "slice": self._ref(repo, SLICE_NS, config.slice_branch),
        }

    async def pull(self, name: str, reporter: Reporter | None = None) -> PullOutcome:
        """Bring the upstream default branch's new commits into the slice default branch."""
        config = await self.config(name)
        return await self._pull(config, config.upstream_branch, config.slice_branch,
                                RunKind.PULL, reporter or _Silent())

    async def pull_branch(
        self, name: str, branch: str, reporter: Reporter | None = None
    ) -> PullOutcome:
        """Slice upstream ``branch`` into slice branch ``upstream-<branch>`` (replacing it)."""
        config = await self.config(name)
        return await self._pull(config, branch, f"upstream-{branch}", RunKind.PULL_BRANCH,
                                reporter or _Silent())

    async def _pull(
        self, config: SliceConfig, upstream_branch: str, slice_branch: str, kind: RunKind,
        reporter: Reporter,
    ) -> PullOutcome:
        name = config.name
        async with self.store.locked(name):
            run_id = await self._run(name, kind, upstream_ref=upstream_branch,
                                     slice_ref=slice_branch)
            try:
                outcome, result = await self._pull_locked(
                    config, upstream_branch, slice_branch, kind, reporter
                )
            except BaseException as exc:
                await self._fail(run_id, exc, config)
                raise
            reporter.step("recording the commit map")
            async with self.store.transaction() as conn:
                await self.store.add_mappings(conn, name, result.mapped)
                if result.slice_head is not None:
                    await self.store.set_tip(conn, name, Tip(
                        upstream_ref=upstream_branch, upstream_sha=result.upstream_head,
                        slice_sha=result.slice_head,
                    ))
                    if kind is RunKind.PULL:
                        await self.store.set_synced(conn, name, result.upstream_head,
                                                    result.slice_head)
                await self.store.finish_run(
                    conn, run_id, RunState.SUCCEEDED, upstream_sha=result.upstream_head,
                    slice_sha=result.slice_head, commits=len(result.mapped),
                )
        logger.info("slice_pulled", slice=name, branch=upstream_branch, commits=outcome.commits,
                    slice_head=outcome.slice_head)
        return outcome

    async def _pull_locked(
        self, config: SliceConfig, upstream_branch: str, slice_branch: str, kind: RunKind,
        reporter: Reporter,
    ) -> tuple[PullOutcome, PullResult]:
        name = config.name
        git, repo = self.cache(name)
        # The default slice branch too: a squash pull of another branch builds on it.
        slice_branches = list(dict.fromkeys([slice_branch, config.slice_branch]))
        await self._fetch(git, config, reporter, branches=([upstream_branch], slice_branches))
        repo = pygit2.Repository(str(git.git_dir))
        head = self._ref(repo, UPSTREAM_NS, upstream_branch)
        if head is None:
            raise UnknownBranch(f"upstream has no branch {upstream_branch!r}")
        slice_head = self._ref(repo, SLICE_NS, slice_branch)
        slicer = HistorySlicer(repo, patterns=config.ignores, folders=config.folders)
        async with self.store.connection() as conn:
            if slice_head is not None and kind is RunKind.PULL:
                await self._recover(conn, name, repo, slice_head)
            tips = await self.store.tips(conn, name)
            if config.mode is Mode.HISTORY:
                reporter.step("finding new upstream commits")
                commits = await asyncio.to_thread(
                    slicer.new_commits, head, [t.upstream_sha for t in tips]
                )
                known = await self.store.by_upstream_sha(
                    conn, name, slicer.wanted(head, commits)
                )
            else:
                default_tip = next((t for t in tips if t.upstream_ref == config.upstream_branch),
                                   None)
                base = None
                if default_tip is not None:
                    base = (await self.store.by_upstream_sha(
                        conn, name, [default_tip.upstream_sha])).get(default_tip.upstream_sha)
        if config.mode is Mode.HISTORY:
            reporter.step(f"slicing {len(commits)} commit(s)")
            parent_head = slice_head if kind is RunKind.PULL else None
            result = await asyncio.to_thread(
                lambda: slicer.history(head, commits=commits, known=known,
                                       slice_head=parent_head, progress=reporter.progress)
            )
        else:
            on = slice_head if kind is RunKind.PULL else \
                self._ref(repo, SLICE_NS, config.slice_branch)
            result = await asyncio.to_thread(
                lambda: slicer.squash(head, base=base, slice_head=on,
                                      identity=self.credentials.slice_identity())
            )
        if result.slice_head is not None and result.slice_head != slice_head:
            reporter.step(f"pushing {slice_branch}")
            _, slice_remote = self.remotes(config)
            await asyncio.to_thread(git.push, slice_remote, result.slice_head, slice_branch,
                                    expect=slice_head)
            # As a named remote's tracking ref would: without it the next fetch of the slice
            # finds its head unreachable from every local ref and checks (or downloads) the
            # whole history again.
            repo.references.create(f"refs/{SLICE_NS}/heads/{slice_branch}",
                                   pygit2.Oid(hex=result.slice_head), force=True)
        outcome = PullOutcome(upstream_head=head, slice_head=result.slice_head,
                              commits=len(result.mapped), slice_branch=slice_branch)
        return outcome, result

    async def _recover(
        self, conn: Connection, name: str, repo: pygit2.Repository, slice_head: str
    ) -> None:
        """Record slice commits a crashed run pushed but did not record (found by trailer)."""
        if await self.store.by_slice_sha(conn, name, [slice_head]):
            return
        found: list[Mapped] = []
        walker = repo.walk(pygit2.Oid(hex=slice_head), pygit2.enums.SortMode.TOPOLOGICAL)
        for commit in walker:
            sha = str(commit.id)
            if await self.store.by_slice_sha(conn, name, [sha]):
                break
            source = upstream_sha(commit.raw_message)
            if source is None:
                break
            found.append(Mapped(upstream=source, slice=sha))
        if found:
            async with conn.transaction():
                await self.store.add_mappings(conn, name, found)
            logger.warning("slice_recovered", slice=name, commits=len(found))

    async def push(
        self, name: str, request: PushRequest, reporter: Reporter | None = None
    ) -> PushPlan:
        """Apply slice branch ``request.branch`` onto upstream (see :mod:`pushing`)."""
        reporter = reporter or _Silent()
        config = await self.config(name)
        request = dataclasses.replace(
            request,
            branch_template=config.push_branch_template,
            message_regex=request.message_regex or config.push_commit_msg_regex,
            identity=request.identity or self.credentials.upstream_identity(),
        )
        target = target_branch(request.branch_template, request.branch)
        async with self.store.locked(name):
            run_id = await self._run(name, RunKind.PUSH, upstream_ref=target,
                                     slice_ref=request.branch)
            try:
                plan = await self._push_locked(config, request, reporter)
            except BaseException as exc:
                await self._fail(run_id, exc, config)
                raise
            async with self.store.transaction() as conn:
                await self.store.finish_run(
                    conn, run_id, RunState.SUCCEEDED, upstream_sha=plan.commit,
                    slice_sha=plan.slice_commits[-1] if plan.slice_commits else None,
                    commits=len(plan.slice_commits),
                )
        logger.info("slice_pushed", slice=name, branch=request.branch, target=plan.target_branch,
                    commit=plan.commit, merged=plan.merged)
        return plan

    async def _push_locked(
        self, config: SliceConfig, request: PushRequest, reporter: Reporter
    ) -> PushPlan:
        name = config.name
        git, _ = self.cache(name)
        await self._fetch(git, config, reporter)
        repo = pygit2.Repository(str(git.git_dir))
        tip = self._ref(repo, SLICE_NS, request.branch)
        if tip is None:
            raise UnknownBranch(f"the slice has no branch {request.branch!r}")
        slicer = HistorySlicer(repo, patterns=config.ignores, folders=config.folders)
        builder = PushBuilder(slicer)
        base: Mapped | None = None
        async with self.store.connection() as conn:
            for batch in builder.candidates(tip):
                found = await self.store.by_slice_sha(conn, name, batch)
                base = next((found[sha] for sha in batch if sha in found), None)
                if base is not None:
                    break
        if base is None:
            raise NotSynced(
                f"branch {request.branch!r} contains no sync commit (no commit made by a pull); "
                "pull first, then branch from the slice's default branch"
            )
        if pygit2.Oid(hex=base.upstream) not in repo:
            raise NotSynced(f"the sync commit's upstream commit {base.upstream[:12]} is gone "
                            "from upstream; pull again")
        target = target_branch(request.branch_template, request.branch)
        current = self._ref(repo, UPSTREAM_NS, target)
        reporter.step("building the upstream commit")
        plan = await asyncio.to_thread(
            lambda: builder.build(tip=tip, base=base, commits=builder.own_commits(tip, base),
                                  request=request, current=current)
        )
        if not plan.up_to_date:
            reporter.step(f"pushing {plan.target_branch} upstream")
            upstream, _ = self.remotes(config)
            await asyncio.to_thread(git.push, upstream, plan.commit, plan.target_branch,
                                    expect=plan.expect)
        return plan

    async def reindex(self, name: str, reporter: Reporter | None = None) -> int:
        """Rebuild the map and tips from the slice's trailers; returns the entries found."""
        reporter = reporter or _Silent()
        config = await self.config(name)
        git, _ = self.cache(name)
        async with self.store.locked(name):
            run_id = await self._run(name, RunKind.REINDEX, upstream_ref=None, slice_ref=None)
            try:
                await self._fetch(git, config, reporter)
                repo = pygit2.Repository(str(git.git_dir))
                reporter.step("reading trailers")
                mapped, tips = await asyncio.to_thread(self._scan, repo, config)
            except BaseException as exc:
                await self._fail(run_id, exc, config)
                raise
            async with self.store.transaction() as conn:
                await self.store.clear_map(conn, name)
                await self.store.add_mappings(conn, name, mapped)
                for tip in tips:
                    await self.store.set_tip(conn, name, tip)
                    if tip.upstream_ref == config.upstream_branch:
                        await self.store.set_synced(conn, name, tip.upstream_sha, tip.slice_sha)
                await self.store.finish_run(conn, run_id, RunState.SUCCEEDED,
                                            commits=len(mapped))
        return len(mapped)

    @staticmethod
    def _scan(repo: pygit2.Repository, config: SliceConfig) -> tuple[list[Mapped], list[Tip]]:
        prefix = f"refs/{SLICE_NS}/heads/"
        heads = {ref[len(prefix):]: repo.references[ref].target
                 for ref in repo.references if ref.startswith(prefix)}
        mapped: dict[str, Mapped] = {}
        tips: list[Tip] = []
        for branch, oid in sorted(heads.items()):
            if branch == config.slice_branch:
                upstream_ref = config.upstream_branch
            elif branch.startswith("upstream-"):
                upstream_ref = branch.removeprefix("upstream-")
            else:
                upstream_ref = None
            tip_found = False
            for commit in repo.walk(oid, pygit2.enums.SortMode.TOPOLOGICAL):
                source = upstream_sha(commit.raw_message)
                if source is None:
                    continue
                mapped.setdefault(source, Mapped(upstream=source, slice=str(commit.id)))
                if upstream_ref is not None and not tip_found:
                    tips.append(Tip(upstream_ref=upstream_ref, upstream_sha=source,
                                    slice_sha=str(commit.id)))
                    tip_found = True
        return list(mapped.values()), tips

    async def status(self, name: str, *, fetch: bool = True) -> dict[str, Any]:
        """Last sync, and the commits waiting each way."""
        config = await self.config(name)
        git, _ = self.cache(name)
        if fetch:
            async with self.store.locked(name):
                await self._fetch(git, config, _Silent())
        repo = pygit2.Repository(str(git.git_dir))
        async with self.store.connection() as conn:
            row = await self.store.get(conn, name)
            runs = await self.store.runs(conn, name, limit=1)
            mapped = await self.store.count(conn, name)
        head = self._ref(repo, UPSTREAM_NS, config.upstream_branch)
        slice_head = self._ref(repo, SLICE_NS, config.slice_branch)
        behind = 0
        if head is not None:
            walker = repo.walk(pygit2.Oid(hex=head))
            if row["last_upstream_sha"] and pygit2.Oid(hex=row["last_upstream_sha"]) in repo:
                walker.hide(pygit2.Oid(hex=row["last_upstream_sha"]))
            behind = sum(1 for _ in walker)
        branches: dict[str, int] = {}
        prefix = f"refs/{SLICE_NS}/heads/"
        for ref in repo.references:
            branch = ref[len(prefix):] if ref.startswith(prefix) else None
            if branch is None or branch == config.slice_branch or branch.startswith("upstream-"):
                continue
            walker = repo.walk(repo.references[ref].target)
            if slice_head is not None:
                walker.hide(pygit2.Oid(hex=slice_head))
            branches[branch] = sum(1 for _ in walker)
        return {
            "name": name,
            "mode": config.mode.value,
            "upstream": redact(config.upstream_url),
            "upstream_branch": config.upstream_branch,
            "slice": redact(config.slice_url),
            "slice_branch": config.slice_branch,
            "last_upstream_sha": row["last_upstream_sha"],
            "last_slice_sha": row["last_slice_sha"],
            "upstream_head": head,
            "slice_head": slice_head,
            "pending_upstream_commits": behind,
            "pending_slice_branches": branches,
            "mapped_commits": mapped,
            "last_run": runs[0] if runs else None,
        }

    async def lookup(self, name: str, sha: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``sha``."""
        if not re.fullmatch(r"[0-9a-fA-F]{4,64}", sha):
            raise GitSliceError(f"{sha!r} is not a commit sha (4 to 64 hex digits)")
        async with self.store.connection() as conn:
            await self.store.get(conn, name)
            return await self.store.by_prefix(conn, name, sha)
