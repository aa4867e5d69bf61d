"""What a slice knows about itself: its status, a sha translated, and the map rebuilt from the
slice's ``Upstream-Commit`` trailers (reindex).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from typing import Any, Protocol

import pygit2

from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import GitSliceError
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.messages import upstream_sha
from crossdock.gitslice.records import RunKind, Tip
from crossdock.gitslice.remote import redact
from crossdock.gitslice.workspace import SLICE_NS, UPSTREAM_NS, Reporter, Silent, Workspace, ref


class LookupStore(Protocol):
    """The store, as status, lookup and reindex use it."""

    async def get(self, name: str) -> dict[str, Any]: ...

    async def runs(self, name: str, limit: int = 20) -> list[dict[str, Any]]: ...

    async def count(self, name: str) -> int: ...

    async def by_prefix(self, name: str, prefix: str) -> list[Mapped]: ...

    async def record_reindex(self, run_id: int, *, name: str, mapped: Iterable[Mapped],
                             tips: Iterable[Tip], synced_ref: str) -> None: ...


class Lookup:
    """Reads a slice's state from its cache repository and the store; rebuilds its map."""

    def __init__(self, workspace: Workspace, store: LookupStore) -> None:
        self.workspace = workspace
        self.store = store

    async def status(self, name: str, *, fetch: bool = True) -> dict[str, Any]:
        """Last sync, and the commits waiting each way."""
        config = await self.workspace.config(name)
        git, _ = self.workspace.cache(name)
        if fetch:
            async with self.workspace.store.locked(name):
                await self.workspace.fetch(git, config, Silent())
        repo = pygit2.Repository(str(git.git_dir))
        row = await self.store.get(name)
        runs = await self.store.runs(name, limit=1)
        mapped = await self.store.count(name)
        head = ref(repo, UPSTREAM_NS, config.upstream_branch)
        slice_head = ref(repo, SLICE_NS, config.slice_branch)
        behind = 0
        if head is not None:
            walker = repo.walk(pygit2.Oid(hex=head))
            if row["last_upstream_sha"] and pygit2.Oid(hex=row["last_upstream_sha"]) in repo:
                walker.hide(pygit2.Oid(hex=row["last_upstream_sha"]))
            behind = sum(1 for _ in walker)
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
            "pending_slice_branches": _pending_branches(repo, config, slice_head),
            "mapped_commits": mapped,
            "last_run": runs[0] if runs else None,
        }

    async def lookup(self, name: str, sha: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``sha``."""
        if not re.fullmatch(r"[0-9a-fA-F]{4,64}", sha):
            raise GitSliceError(f"{sha!r} is not a commit sha (4 to 64 hex digits)")
        await self.store.get(name)
        return await self.store.by_prefix(name, sha)

    async def reindex(self, name: str, reporter: Reporter | None = None) -> int:
        """Rebuild the map and tips from the slice's trailers; returns the entries found."""
        reporter = reporter or Silent()
        config = await self.workspace.config(name)
        git, _ = self.workspace.cache(name)
        async with self.workspace.store.locked(name):
            async with self.workspace.run(config, RunKind.REINDEX, upstream_ref=None,
                                          slice_ref=None) as run_id:
                await self.workspace.fetch(git, config, reporter)
                repo = pygit2.Repository(str(git.git_dir))
                reporter.step("reading trailers")
                mapped, tips = await asyncio.to_thread(_scan, repo, config)
            await self.store.record_reindex(run_id, name=name, mapped=mapped, tips=tips,
                                            synced_ref=config.upstream_branch)
        return len(mapped)


def _pending_branches(
    repo: pygit2.Repository, config: SliceConfig, slice_head: str | None
) -> dict[str, int]:
    """The slice's own branches, each with its commits not on the default branch."""
    branches: dict[str, int] = {}
    prefix = f"refs/{SLICE_NS}/heads/"
    for name in repo.references:
        branch = name[len(prefix):] if name.startswith(prefix) else None
        if branch is None or branch == config.slice_branch or branch.startswith("upstream-"):
            continue
        walker = repo.walk(repo.references[name].target)
        if slice_head is not None:
            walker.hide(pygit2.Oid(hex=slice_head))
        branches[branch] = sum(1 for _ in walker)
    return branches


def _scan(repo: pygit2.Repository, config: SliceConfig) -> tuple[list[Mapped], list[Tip]]:
    """Map entries and tips from the trailers of every slice branch."""
    prefix = f"refs/{SLICE_NS}/heads/"
    heads = {name[len(prefix):]: repo.references[name].target
             for name in repo.references if name.startswith(prefix)}
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
