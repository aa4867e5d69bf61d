"""raise-pr: the upstream pull request for a pushed slice branch, its link to the slice pull
request, and what happens on the slice when the upstream one is merged or closed.

Also the slice pull request that ``pull-branch X --target-branch Y`` opens from
``upstream-X`` into ``Y``. Both kinds of pull request are found before they are opened: an open
one from the same head is reused, never opened twice (a POST that timed out may have been
done, so a failed open looks again before it gives up).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Protocol

import pygit2

from crossdock.core.logging import get_logger
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import NotPushed, UnknownBranch, WrongPullRequest
from crossdock.gitslice.events import SliceEvent, upstream_pr_opened
from crossdock.gitslice.forge.errors import (
    ForgeAuthError,
    ForgeNotFound,
    ForgeRejected,
    ForgeUnavailable,
)
from crossdock.gitslice.forge.port import Forge, NewPullRequest, PullRequest, PullState, RepoRef
from crossdock.gitslice.forges import ForgeProvider, SliceForges
from crossdock.gitslice.pulling import PullOutcome
from crossdock.gitslice.pushing import target_branch
from crossdock.gitslice.records import LinkState, PullLink, RunEnd, RunKind, RunState
from crossdock.gitslice.workspace import UPSTREAM_NS, Workspace, ref

logger = get_logger("crossdock.gitslice")


class LinkStore(Protocol):
    """The store, as raise-pr uses it: the pull request links and the run's end."""

    async def link(self, link: PullLink) -> PullLink: ...

    async def link_by_upstream(self, name: str, upstream_pr: int) -> PullLink | None: ...

    async def link_by_slice(self, name: str, slice_pr: int) -> PullLink | None: ...

    async def set_link_state(self, name: str, upstream_pr: int,
                             state: LinkState) -> PullLink | None: ...

    async def finish_run(self, run_id: int, end: RunEnd, *,
                         event: SliceEvent | None = None) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RaisedPr:
    """The upstream pull request of a slice branch, and whether this run opened it."""

    number: int
    html_url: str
    created: bool
    upstream_branch: str
    draft: bool
    #: The slice pull request it is linked to, if there is one.
    slice_pr: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Source:
    """Where a raised pull request's title and body come from."""

    title: str
    body: str
    slice_pr: int | None


def _valid_branch(branch: str) -> bool:
    return bool(branch) and pygit2.reference_is_valid_name(f"refs/heads/{branch}")


async def open_or_reuse(forge: Forge, repo: RepoRef, new: NewPullRequest
                        ) -> tuple[PullRequest, bool]:
    """The open pull request from ``new.head`` of ``repo``, else a new one; and whether it is
    new. A refused or unanswered open looks again: another run may have opened it meanwhile,
    or the forge did it before the answer was lost."""
    found = await forge.find_open_pull_request(repo, new.head)
    if found is not None:
        return found, False
    try:
        return await forge.create_pull_request(repo, new), True
    except (ForgeRejected, ForgeUnavailable):
        found = await forge.find_open_pull_request(repo, new.head)
        if found is None:
            raise
        return found, True


class PullRequestRaiser:
    """Raises upstream pull requests for slice branches and follows what becomes of them."""

    def __init__(self, workspace: Workspace, store: LinkStore, forges: ForgeProvider) -> None:
        self.workspace = workspace
        self.store = store
        self.forges = forges

    async def raise_pr(self, name: str, branch: str, *, slice_pr: int | None = None) -> RaisedPr:
        """Open (or reuse) the upstream pull request from the upstream branch slice ``branch``
        was pushed to, into the slice's upstream branch, and link it to the slice pull request.

        The base is the slice's configured upstream branch even when the forge names another
        default: that branch is what the slice is cut from and what a push builds on, so a pull
        request into any other would carry commits the slice never saw. The title and body are
        the slice pull request's (``slice_pr``, else the open one from ``branch``), else the
        pushed commit's message. Refusals (no forge, an unpushed branch, a pull request from
        another branch) come before the run starts and leave nothing recorded.
        """
        config = await self.workspace.config(name)
        forges = await self.forges.sides(config)
        upstream_branch = target_branch(config.push_branch_template, branch)
        async with self.workspace.store.locked(name):
            source = await self._source(config, branch, upstream_branch, forges, slice_pr)
            if source.slice_pr is not None:
                await self._settle(name, forges, source.slice_pr, upstream_branch)
            async with self.workspace.run(config, RunKind.RAISE_PR, upstream_ref=upstream_branch,
                                          slice_ref=branch) as run_id:
                forge = forges.config
                pull, created = await open_or_reuse(forges.upstream, forges.upstream_repo,
                                                    NewPullRequest(
                    title=source.title, head=upstream_branch, base=config.upstream_branch,
                    body=source.body, draft=forge.pr_draft))
                await self.store.link(PullLink(
                    slice_name=name, upstream_pr=pull.number, slice_pr=source.slice_pr,
                    upstream_branch=upstream_branch, slice_branch=branch,
                    upstream_url=pull.html_url))
                missing = [label for label in forge.pr_labels if label not in pull.labels]
                if missing:
                    await forges.upstream.add_labels(forges.upstream_repo, pull.number, missing)
                await self._assign(name, forges, pull)
            opened = upstream_pr_opened(name, branch=branch, slice_pr=source.slice_pr,
                                        upstream_pr=pull.number, upstream_url=pull.html_url)
            await self.store.finish_run(run_id, RunEnd(state=RunState.SUCCEEDED,
                                                       upstream_sha=pull.head_sha),
                                        event=opened if created else None)
        logger.info("upstream_pr_raised", slice=name, branch=branch, number=pull.number,
                    created=created, slice_pr=source.slice_pr)
        return RaisedPr(number=pull.number, html_url=pull.html_url, created=created,
                        upstream_branch=upstream_branch, draft=pull.draft,
                        slice_pr=source.slice_pr)

    async def _source(self, config: SliceConfig, branch: str, upstream_branch: str,
                      forges: SliceForges, slice_pr: int | None) -> _Source:
        """The title, body and slice pull request to raise with; refuses an unpushed branch."""
        name = config.name
        if not _valid_branch(branch):
            raise UnknownBranch(f"{branch!r} is not a valid branch name")
        git, _ = self.workspace.cache(name)
        upstream, _ = self.workspace.remotes(config)
        await asyncio.to_thread(git.fetch, upstream, UPSTREAM_NS, [upstream_branch])
        repo = pygit2.Repository(str(git.git_dir))
        head = ref(repo, UPSTREAM_NS, upstream_branch)
        if head is None:
            raise NotPushed(f"upstream has no branch {upstream_branch!r}: push slice branch "
                            f"{branch!r} first (`crossdock slice push {name} --branch {branch}`)")
        pull = await self._slice_pull(forges, branch, slice_pr)
        if pull is not None:
            return _Source(title=pull.title, body=pull.body, slice_pr=pull.number)
        tip = repo[pygit2.Oid(hex=head)]
        assert isinstance(tip, pygit2.Commit)  # a branch names a commit
        subject, _, body = tip.message.partition("\n")
        return _Source(title=subject.strip() or upstream_branch, body=body.strip(),
                       slice_pr=None)

    @staticmethod
    async def _slice_pull(forges: SliceForges, branch: str,
                          number: int | None) -> PullRequest | None:
        """Slice pull request ``number`` (it must be from ``branch``), else the open one from
        ``branch``, if any."""
        if number is None:
            return await forges.slice.find_open_pull_request(forges.slice_repo, branch)
        try:
            pull = await forges.slice.get_pull_request(forges.slice_repo, number)
        except ForgeNotFound as exc:
            raise WrongPullRequest(f"the slice repository {forges.slice_repo.full_name} has no "
                                   f"pull request #{number}") from exc
        if pull.head_ref != branch:
            raise WrongPullRequest(f"slice pull request #{number} is from branch "
                                   f"{pull.head_ref!r}, not {branch!r}")
        return pull

    async def _settle(self, name: str, forges: SliceForges, slice_pr: int,
                      upstream_branch: str) -> None:
        """Make room for a new link of ``slice_pr``: its open link, if any, is to an upstream
        pull request from ``upstream_branch`` (reused), or one that has closed since (a missed
        event; its state is recorded now). An open one from another branch is refused."""
        old = await self.store.link_by_slice(name, slice_pr)
        if old is None or old.state is not LinkState.OPEN:
            return
        pull = await forges.upstream.get_pull_request(forges.upstream_repo, old.upstream_pr)
        if pull.state is PullState.OPEN:
            if pull.head_ref != upstream_branch:
                raise WrongPullRequest(
                    f"slice pull request #{slice_pr} is linked to the open upstream pull "
                    f"request {old.upstream_url} from branch {pull.head_ref!r}")
            return
        await self.store.set_link_state(name, old.upstream_pr, LinkState(pull.state.value))
        logger.info("upstream_pr_closed_unseen", slice=name, number=old.upstream_pr,
                    state=pull.state.value)

    async def _assign(self, name: str, forges: SliceForges, pull: PullRequest) -> None:
        """Assign the upstream user; a forge that will not is noted, not fatal."""
        user = self.workspace.credentials_of(name).upstream_username
        if not user or user in pull.assignees:
            return
        try:
            await forges.upstream.add_assignees(forges.upstream_repo, pull.number, [user])
        except (ForgeRejected, ForgeNotFound, ForgeAuthError) as exc:
            logger.warning("upstream_pr_not_assigned", slice=name, number=pull.number,
                           user=user, error=str(exc))

    async def upstream_pull_closed(self, name: str, upstream_pr: int, *,
                                   merged: bool) -> PullLink | None:
        """Tell the linked slice pull request that its upstream one was merged or closed, and
        close it on a merge when the slice says so.

        Acts once per change: the link's new state is recorded first, so a redelivered event
        finds it there and does nothing (None). If the forge then fails, the state is put back
        so a retry acts again; a comment already made is not made twice. None, too, for an
        upstream pull request that is not linked.
        """
        config = await self.workspace.config(name)
        state = LinkState.MERGED if merged else LinkState.CLOSED
        async with self.workspace.store.locked(name):
            before = await self.store.link_by_upstream(name, upstream_pr)
            if before is None:
                logger.info("upstream_pr_not_linked", slice=name, number=upstream_pr)
                return None
            forges = await self.forges.sides(config)
            link = await self.store.set_link_state(name, upstream_pr, state)
            if link is None:
                return None
            if link.slice_pr is not None:
                try:
                    await self._tell_slice(name, link, forges)
                except BaseException:
                    await self.store.set_link_state(name, upstream_pr, before.state)
                    raise
        logger.info("upstream_pr_closed", slice=name, number=upstream_pr, state=state.value,
                    slice_pr=link.slice_pr)
        return link

    async def _tell_slice(self, name: str, link: PullLink, forges: SliceForges) -> None:
        assert link.slice_pr is not None
        merged = link.state is LinkState.MERGED
        what = "was merged" if merged else "was closed without merging"
        body = f"Upstream pull request {link.upstream_url} {what}."
        said = await forges.slice.list_comments(forges.slice_repo, link.slice_pr)
        if not any(comment.body == body for comment in said):
            await forges.slice.create_comment(forges.slice_repo, link.slice_pr, body)
        if merged and forges.config.close_on_merge:
            await forges.slice.close_pull_request(forges.slice_repo, link.slice_pr)
            logger.info("slice_pr_closed", slice=name, slice_pr=link.slice_pr)

    async def check_target(self, name: str, target: str) -> None:
        """Refuse a pull-branch target the slice repository does not have, before pulling."""
        config = await self.workspace.config(name)
        await self.forges.sides(config)  # no forge: refused here, before anything is done
        if not _valid_branch(target):
            raise UnknownBranch(f"{target!r} is not a valid branch name")
        git, _ = self.workspace.cache(name)
        _, slice_remote = self.workspace.remotes(config)
        heads = await asyncio.to_thread(git.list_heads, slice_remote)
        if target not in heads:
            raise UnknownBranch(f"the slice has no branch {target!r} to open a pull request into")

    async def open_branch_pr(self, name: str, branch: str, target: str,
                             outcome: PullOutcome) -> PullOutcome:
        """The outcome of ``pull-branch branch``, with the slice pull request from its slice
        branch into ``target`` (opened, or the open one reused)."""
        if outcome.slice_head is None:
            logger.info("slice_branch_empty", slice=name, branch=outcome.slice_branch)
            return outcome
        config = await self.workspace.config(name)
        forges = await self.forges.sides(config)
        async with self.workspace.store.locked(name):
            pull, created = await open_or_reuse(forges.slice, forges.slice_repo, NewPullRequest(
                title=f"Upstream branch {branch}", head=outcome.slice_branch, base=target,
                body=f"Upstream branch `{branch}` at {outcome.upstream_head}, sliced into "
                     f"`{outcome.slice_branch}`."))
        logger.info("slice_pr_opened", slice=name, branch=outcome.slice_branch,
                    number=pull.number, created=created)
        return dataclasses.replace(outcome, pull_request=pull.number,
                                   pull_request_url=pull.html_url)
