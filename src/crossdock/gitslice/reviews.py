"""Pull-review: an upstream pull request's review copied onto the linked slice pull request.

The copy is one review on the slice pull request: its body says who wrote the review upstream,
links to it and states the verdict, and each line comment keeps its path, line, side and
multi-line range, with its author named. Lines carry over unchanged: a file the slice keeps is
byte-identical on both sides (that is what slicing and pushing guarantee), so line N of a path
upstream is line N of the same path in the slice. The review's commit is mapped through the
commit map (a pulled commit) or the push runs (the upstream commit a push made from a slice
tip), so the comments sit on the slice commit that holds the same files.

A comment is left out, and counted in the review's body, when its path is outside the slice
(the slice's ignore settings, the upstream commit's ``.gitsliceignore``, the slice's folders)
or when the slice pull request's diff does not touch it (the forge would refuse it there).

The verdict is written in the body and the review is submitted as a comment: a bot's
``REQUEST_CHANGES`` would block the slice pull request until someone dismissed it by hand (a
later upstream approval, copied, could not lift it), and a bot's approval would count towards
the slice repository's branch protection in the client's name.

Copies are recorded (the review, and each line comment), so pulling a review again, or after
an upstream edit of it, posts nothing; a later upstream reply to a copied comment is posted as
a reply in the copied comment's thread. A crash between posting the slice review and recording
it would post it twice on the retry: the attribution line the copy starts with (naming the
upstream review's link) is what the retry looks for first among the slice pull request's
reviews, and a copy found by it is recorded instead of posted again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

import pygit2

from crossdock.core.logging import get_logger
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import BadLink, GitSliceError, NotLinked
from crossdock.gitslice.forge.port import (
    Forge,
    NewReview,
    NewReviewComment,
    PullRequest,
    RepoRef,
    Review,
    ReviewComment,
    ReviewState,
)
from crossdock.gitslice.forges import ForgeProvider, SliceForges, require_forge
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.ignore import IgnoreRules
from crossdock.gitslice.records import Copy, CopyKind, PullLink, RunEnd, RunKind, RunState
from crossdock.gitslice.workspace import SLICE_NS, UPSTREAM_NS, Silent, Workspace, ref

logger = get_logger("crossdock.gitslice")

_PULL_PATH = re.compile(r"/([^/]+)/([^/]+)/pull/([0-9]+)/?")
_REVIEW_FRAGMENT = re.compile(r"pullrequestreview-([0-9]+)")
_VERDICTS = {
    ReviewState.APPROVED: "**Approved upstream.**",
    ReviewState.CHANGES_REQUESTED: "**Changes requested upstream.**",
    ReviewState.DISMISSED: "_Dismissed upstream._",
}


class ReviewLink(NamedTuple):
    """A review's link, read: the repository (``owner/name``), pull request and review."""

    repo: str
    pull: int
    review_id: int


def parse_review_link(url: str) -> ReviewLink:
    """``https://HOST/OWNER/NAME/pull/N#pullrequestreview-ID`` (GitHub's, a GitHub Enterprise
    Server's or the in-package forge's review links), or :class:`BadLink`."""
    shape = "a review link looks like https://github.com/OWNER/NAME/pull/12#pullrequestreview-345"
    parts = urlsplit(url.strip())
    path = _PULL_PATH.fullmatch(parts.path)
    fragment = _REVIEW_FRAGMENT.fullmatch(parts.fragment)
    if parts.scheme not in {"http", "https"} or not parts.netloc or path is None \
            or fragment is None:
        raise BadLink(f"{url.strip()!r} is not a pull request review link: {shape}")
    return ReviewLink(repo=f"{path.group(1)}/{path.group(2)}", pull=int(path.group(3)),
                      review_id=int(fragment.group(1)))


def review_link_for(config: SliceConfig, url: str) -> ReviewLink:
    """A review link of the slice's upstream repository, or :class:`BadLink` saying why not."""
    link = parse_review_link(url)
    upstream = require_forge(config).upstream
    if link.repo.lower() != upstream.full_name.lower():
        raise BadLink(f"{url.strip()!r} is a link to another repository: slice "
                      f"{config.name!r} pulls reviews from {upstream.full_name}")
    return link


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CopiedReview:
    """Where an upstream review was copied to. ``review_id`` and ``html_url`` are the slice
    review's; ``comments`` and ``left_out`` count what this call posted and left out (both 0
    when the review had been copied before, or posted by an attempt that failed before
    recording it: ``created`` is False)."""

    slice_pr: int
    review_id: int
    html_url: str
    comments: int
    left_out: int
    created: bool


class ReviewStore(Protocol):
    """The store, as pull-review uses it: links, copies, the commit map and push runs."""

    async def link_by_upstream(self, name: str, upstream_pr: int) -> PullLink | None: ...

    async def copy(self, name: str, kind: CopyKind, upstream_id: int) -> Copy | None: ...

    async def record_copy(self, name: str, copy: Copy) -> None: ...

    async def by_upstream_sha(self, name: str, shas: list[str]) -> dict[str, Mapped]: ...

    async def slice_commit_of_push(self, name: str, upstream_sha: str) -> str | None: ...

    async def finish_run(self, run_id: int, end: RunEnd) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Scope:
    """What the slice can show: the rules of the reviewed upstream commit, and the paths the
    slice pull request changes."""

    rules: IgnoreRules
    changed: frozenset[str]


@dataclasses.dataclass(slots=True, kw_only=True)
class _Plan:
    """A review's comments sorted: new line comments, replies to copied ones, left out."""

    comments: list[tuple[ReviewComment, NewReviewComment]] = dataclasses.field(
        default_factory=list)
    replies: list[tuple[ReviewComment, int]] = dataclasses.field(default_factory=list)
    outside: int = 0
    off_diff: int = 0

    @property
    def left_out(self) -> int:
        return self.outside + self.off_diff


def _count(n: int, what: str) -> str:
    return f"{n} comment{'s' if n != 1 else ''} {what} {'was' if n == 1 else 'were'} left out"


def attribution(review: Review) -> str:
    """The first line of the slice review copying ``review``: its author and link."""
    return f"From @{review.author} on {review.html_url}:"


def review_body(review: Review, plan: _Plan) -> str:
    """The slice review's body: attribution and link, verdict, the upstream text, what was
    left out."""
    parts = [attribution(review)]
    if review.state in _VERDICTS:
        parts.append(_VERDICTS[review.state])
    if review.body.strip():
        parts.append(review.body.strip())
    if plan.outside:
        parts.append(f"_{_count(plan.outside, 'on files outside the slice')}._")
    if plan.off_diff:
        where = "on lines this pull request does not change in the slice"
        parts.append(f"_{_count(plan.off_diff, where)}._")
    return "\n\n".join(parts)


class ReviewPuller:
    """Copies upstream reviews onto linked slice pull requests."""

    def __init__(self, workspace: Workspace, store: ReviewStore, forges: ForgeProvider) -> None:
        self.workspace = workspace
        self.store = store
        self.forges = forges

    async def pull_review(self, name: str, upstream_pr: int, review_id: int) -> CopiedReview:
        """Copy review ``review_id`` of upstream pull request ``upstream_pr`` onto its slice
        pull request (once: a copied review is returned with ``created=False``)."""
        config = await self.workspace.config(name)
        require_forge(config)
        link = await self.store.link_by_upstream(name, upstream_pr)
        if link is None or link.slice_pr is None:
            raise NotLinked(
                f"upstream pull request #{upstream_pr} is not linked to a slice pull request: "
                f"raise it with `/git-slice raise-pr` on the slice pull request (or "
                f"`crossdock slice raise-pr {name} BRANCH`)")
        slice_pr = link.slice_pr
        async with self.workspace.store.locked(name):
            done = await self.store.copy(name, CopyKind.REVIEW, review_id)
            if done is not None:
                return CopiedReview(slice_pr=slice_pr, review_id=done.slice_id,
                                    html_url=done.slice_url, comments=0, left_out=0,
                                    created=False)
            async with self.workspace.run(config, RunKind.PULL_REVIEW,
                                          upstream_ref=f"pull/{upstream_pr}",
                                          slice_ref=f"pull/{slice_pr}") as run_id:
                sides = await self.forges.sides(config)
                copied, commit = await self._copy(config, sides, link, review_id)
            await self.store.finish_run(run_id, RunEnd(
                state=RunState.SUCCEEDED, slice_sha=commit, commits=copied.comments))
        logger.info("slice_review_pulled", slice=name, upstream_pr=upstream_pr,
                    review=review_id, slice_pr=slice_pr, comments=copied.comments,
                    left_out=copied.left_out, created=copied.created)
        return copied

    async def _copy(self, config: SliceConfig, sides: SliceForges, link: PullLink,
                    review_id: int) -> tuple[CopiedReview, str | None]:
        upstream, upstream_repo = sides.upstream, sides.upstream_repo
        review = await upstream.get_review(upstream_repo, link.upstream_pr, review_id)
        if review.state == ReviewState.PENDING:
            raise GitSliceError(f"review {review_id} of upstream pull request "
                                f"#{link.upstream_pr} is not submitted yet")
        found = await upstream.list_review_comments(upstream_repo, link.upstream_pr, review_id)
        upstream_pull = await upstream.get_pull_request(upstream_repo, link.upstream_pr)
        assert link.slice_pr is not None
        slice_pull = await sides.slice.get_pull_request(sides.slice_repo, link.slice_pr)
        scope = await self._scope(config, review, upstream_pull, slice_pull)
        plan = await self._plan(config.name, sorted(found, key=lambda c: c.id), scope)
        commit = await self._slice_commit(config.name, review.commit_sha)
        posted = await self._post_replies(config.name, sides.slice, sides.slice_repo,
                                          link.slice_pr, plan)
        slice_id, url = posted[0] if posted else (0, "")
        created = True
        if plan.comments or review.body.strip() or review.state in _VERDICTS \
                or plan.left_out or not plan.replies:
            made = await self._posted_before(sides, link.slice_pr, review)
            created = made is None
            if made is None:
                wanted = NewReview(body=review_body(review, plan), commit_sha=commit,
                                   comments=tuple(new for _, new in plan.comments))
                made = await sides.slice.create_review(sides.slice_repo, link.slice_pr, wanted)
            await self._record_comments(config.name, sides, link.slice_pr, made.id, plan)
            slice_id, url = made.id, made.html_url
        await self.store.record_copy(config.name, Copy(
            kind=CopyKind.REVIEW, upstream_id=review_id, slice_id=slice_id, slice_url=url))
        return CopiedReview(slice_pr=link.slice_pr, review_id=slice_id, html_url=url,
                            comments=len(plan.replies) + (len(plan.comments) if created else 0),
                            left_out=plan.left_out if created else 0,
                            created=created), commit

    async def _posted_before(self, sides: SliceForges, number: int,
                             review: Review) -> Review | None:
        """The slice review copying ``review`` that an attempt which failed before recording
        it posted, found by its attribution line; None when there is none."""
        line = attribution(review)
        return next((made for made in await sides.slice.list_reviews(sides.slice_repo, number)
                     if made.body.partition("\n")[0] == line), None)

    async def _scope(self, config: SliceConfig, review: Review, upstream_pull: PullRequest,
                     slice_pull: PullRequest) -> _Scope:
        """The reviewed commit's rules and the slice pull request's changed paths, from the
        cache repository after fetching the branches involved."""
        git, _ = self.workspace.cache(config.name)
        await self.workspace.fetch(git, config, Silent(), branches=(
            [upstream_pull.head_ref], [slice_pull.head_ref, slice_pull.base_ref]))
        repo = pygit2.Repository(str(git.git_dir))
        return await asyncio.to_thread(_read_scope, repo, config, (
            review.commit_sha, upstream_pull.head_sha,
            ref(repo, UPSTREAM_NS, upstream_pull.head_ref)), slice_pull)

    async def _plan(self, name: str, found: list[ReviewComment], scope: _Scope) -> _Plan:
        plan = _Plan()
        for comment in found:
            if await self.store.copy(name, CopyKind.REVIEW_COMMENT, comment.id) is not None:
                continue  # posted by an earlier attempt that failed later
            if scope.rules.excluded(comment.path):
                plan.outside += 1
                continue
            if comment.path not in scope.changed or comment.line is None:
                plan.off_diff += 1  # an outdated comment has no line any more
                continue
            thread = None if comment.in_reply_to is None else \
                await self.store.copy(name, CopyKind.REVIEW_COMMENT, comment.in_reply_to)
            if thread is not None:
                plan.replies.append((comment, thread.slice_id))
                continue
            heading = f"From @{comment.author}" + (
                "" if comment.in_reply_to is None
                else ", answering an upstream comment that was not copied here")
            plan.comments.append((comment, NewReviewComment(
                path=comment.path, body=f"{heading}:\n\n{comment.body}", line=comment.line,
                side=comment.side, start_line=comment.start_line,
                start_side=comment.start_side if comment.start_line is not None else None)))
        return plan

    async def _slice_commit(self, name: str, upstream_sha: str) -> str | None:
        """The slice commit holding the files of upstream commit ``upstream_sha``: a pulled
        commit's, or the slice tip a push made it from; None (the slice pull request's head)
        when neither is known."""
        if not upstream_sha:
            return None
        pulled = await self.store.by_upstream_sha(name, [upstream_sha])
        if upstream_sha in pulled:
            return pulled[upstream_sha].slice
        return await self.store.slice_commit_of_push(name, upstream_sha)

    async def _post_replies(self, name: str, forge: Forge, repo: RepoRef, number: int,
                            plan: _Plan) -> list[tuple[int, str]]:
        """Each reply posted in its copied thread, and recorded at once (a retry after a
        failure posts only the rest); the slice reviews and links they made."""
        posted = []
        for comment, thread in plan.replies:
            made = await forge.reply_to_review_comment(
                repo, number, thread, f"From @{comment.author}:\n\n{comment.body}")
            await self.store.record_copy(name, Copy(
                kind=CopyKind.REVIEW_COMMENT, upstream_id=comment.id, slice_id=made.id,
                slice_url=made.html_url))
            posted.append((made.review_id or made.id, made.html_url))
        return posted

    async def _record_comments(self, name: str, sides: SliceForges, number: int,
                               slice_review: int, plan: _Plan) -> None:
        """Record which slice comment each upstream line comment became (the forge keeps a
        review's comments in the order they were given). The plan holds the last of them when
        an earlier attempt recorded the first ones before it failed."""
        if not plan.comments:
            return
        made = await sides.slice.list_review_comments(sides.slice_repo, number, slice_review)
        unrecorded = sorted(made, key=lambda c: c.id)[-len(plan.comments):]
        for (comment, new), copied in zip(plan.comments, unrecorded, strict=False):
            if copied.path != new.path:
                logger.warning("slice_review_comment_unmatched", slice=name,
                               upstream_comment=comment.id, slice_comment=copied.id)
                continue
            await self.store.record_copy(name, Copy(
                kind=CopyKind.REVIEW_COMMENT, upstream_id=comment.id, slice_id=copied.id,
                slice_url=copied.html_url))


def _read_scope(repo: pygit2.Repository, config: SliceConfig,
                upstream_candidates: tuple[str | None, ...], slice_pull: PullRequest) -> _Scope:
    """The rules of the first upstream commit the cache has (the reviewed one, else the pull
    request's head), and the paths the slice pull request changes since its merge base."""
    commit = next((repo[sha].peel(pygit2.Commit) for sha in upstream_candidates
                   if sha and pygit2.Oid(hex=sha) in repo), None)
    if commit is None:
        raise GitSliceError(f"the reviewed upstream commit {upstream_candidates[0]} cannot be "
                            "fetched from upstream, so its ignore rules cannot be read")
    rules = IgnoreRules.for_tree(repo, commit.tree, patterns=config.ignores,
                                 folders=config.folders)
    head = slice_pull.head_sha if pygit2.Oid(hex=slice_pull.head_sha) in repo \
        else ref(repo, SLICE_NS, slice_pull.head_ref)
    base = ref(repo, SLICE_NS, slice_pull.base_ref)
    if head is None or base is None:
        raise GitSliceError(f"slice pull request #{slice_pull.number}'s branches "
                            f"{slice_pull.head_ref!r} and {slice_pull.base_ref!r} cannot be "
                            "fetched from the slice repository")
    start = repo.merge_base(pygit2.Oid(hex=base), pygit2.Oid(hex=head))
    changed: set[str] = set()
    if start is not None:
        diff = repo.diff(repo[start].peel(pygit2.Commit), repo[head].peel(pygit2.Commit))
        for delta in diff.deltas:
            changed.update((delta.old_file.path, delta.new_file.path))
    return _Scope(rules=rules, changed=frozenset(changed))
