"""Pull-issue: an upstream issue copied onto the slice repository, with a link back.

A new slice issue gets the upstream title, body, labels (GitHub creates the ones the slice
repository lacks) and a last line "Pulled from <upstream issue> (opened by @user)"; then each
upstream comment follows as a slice comment "From @user:" that ends "Pulled from <upstream
comment>". Into a given slice issue, only a comment with the link back (and the upstream title
and body) and the comments go: its title, body and labels are the slice's.

Pulling is idempotent: the issue and each comment are recorded as copies right after each is
made, so pulling again copies only the comments upstream got since. A crash between making one
and recording it would make it twice on the retry; the "Pulled from" line each copy carries is
what the retry looks for first, and a copy found by it is recorded instead of made again.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Protocol
from urllib.parse import urlsplit

from crossdock.core.logging import get_logger
from crossdock.gitslice.config import GITHUB_API, ForgeConfig
from crossdock.gitslice.errors import IssueRefused
from crossdock.gitslice.forge.errors import ForgeNotFound
from crossdock.gitslice.forge.port import Comment, Issue, NewIssue
from crossdock.gitslice.forges import ForgeProvider, SliceForges
from crossdock.gitslice.records import Copy, CopyKind, RunEnd, RunKind, RunState
from crossdock.gitslice.workspace import Workspace

logger = get_logger("crossdock.gitslice")

#: Issue numbers are positive 32-bit integers on GitHub and GitLab.
_MAX_NUMBER = 2**31 - 1
#: How far before the upstream issue was opened the slice issues are searched for a copy
#: made by a crashed pull: the two repositories' clocks may differ (two forges).
_CLOCK_SLACK = datetime.timedelta(days=1)
#: GitHub's longest issue or comment body, in characters.
_MAX_BODY = 65536
_PLAIN = re.compile(r"#?(\d+)")
_SHORT = re.compile(r"([\w.-]+(?:/[\w.-]+)+)#(\d+)")
_URL_PATH = re.compile(r"/(.+)/(?:issues|pull)/(\d+)/?")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CopiedIssue:
    """The slice issue an upstream issue was copied to.

    ``created`` is true when this pull made the slice issue (false when it copied into a given
    issue, or into the one an earlier pull made); ``comments`` counts the comments this pull
    copied.
    """

    number: int
    html_url: str
    created: bool
    comments: int


class IssueStore(Protocol):
    """The store, as pull-issue uses it: the copies made so far, and the run's end."""

    async def copy(self, name: str, kind: CopyKind, upstream_id: int) -> Copy | None: ...

    async def record_copy(self, name: str, copy: Copy) -> None: ...

    async def finish_run(self, run_id: int, end: RunEnd) -> None: ...


def _web_host(forge: ForgeConfig) -> str:
    host = urlsplit(forge.api_url).netloc.lower()
    return "github.com" if forge.api_url.rstrip("/") == GITHUB_API else host


def issue_number(text: str, forge: ForgeConfig) -> int:
    """The number of an upstream issue given as ``N``, ``#N``, ``owner/name#N`` or its web
    address; an issue of any other repository is refused."""
    given = text.strip()
    if match := _PLAIN.fullmatch(given):
        return _checked(int(match[1]))
    repo, number, host = None, None, None
    if match := _SHORT.fullmatch(given):
        repo, number = match[1], match[2]
    elif given.lower().startswith(("https://", "http://")):
        parts = urlsplit(given)
        if match := _URL_PATH.fullmatch(parts.path):
            repo, number, host = match[1], match[2], parts.netloc.lower()
    if repo is None or number is None:
        raise IssueRefused(f"{given!r} is not an issue: give its number, OWNER/NAME#NUMBER or "
                           "its link")
    upstream = forge.upstream.full_name
    if repo.lower() != upstream.lower() or host not in {None, _web_host(forge)}:
        raise IssueRefused(f"{given} is not an issue of the slice's upstream repository "
                           f"{upstream}; only its issues are pulled")
    return _checked(int(number))


def _checked(number: int) -> int:
    if not 0 < number <= _MAX_NUMBER:
        raise IssueRefused(f"{number} is not an issue number")
    return number


def link_line(issue: Issue) -> str:
    """The line a copy of ``issue`` carries, linking back to it."""
    return f"Pulled from {issue.html_url} (opened by @{issue.author})"


def _ending(text: str, last: str) -> str:
    """``text`` with ``last`` as its last line, cut short where both would not fit in a body:
    the link back must survive, it is how a retry finds the copy."""
    room = _MAX_BODY - len(last) - len("\n\n[...]\n\n")
    text = text.rstrip()
    if len(text) > room:
        text = text[:room] + "\n\n[...]"
    return f"{text}\n\n{last}" if text else last


def comment_body(comment: Comment) -> str:
    """An upstream comment as the slice comment that copies it."""
    return _ending(f"From @{comment.author}:\n\n{comment.body}",
                   f"Pulled from {comment.html_url}")


def _carries(body: str, line: str) -> bool:
    return line in body.splitlines()


class IssuePuller:
    """Copies upstream issues and their comments onto the slice repository."""

    def __init__(self, workspace: Workspace, store: IssueStore, forges: ForgeProvider) -> None:
        self.workspace = workspace
        self.store = store
        self.forges = forges

    async def pull_issue(self, name: str, upstream_issue: int, *,
                         slice_issue: int | None = None) -> CopiedIssue:
        """Copy upstream issue ``upstream_issue`` to a new slice issue, or into
        ``slice_issue``; again, only the comments that are new upstream."""
        _checked(upstream_issue)
        if slice_issue is not None:
            _checked(slice_issue)
        config = await self.workspace.config(name)
        sides = await self.forges.sides(config)
        async with self.workspace.store.locked(name):
            async with self.workspace.run(
                config, RunKind.PULL_ISSUE, upstream_ref=f"#{upstream_issue}",
                slice_ref=None if slice_issue is None else f"#{slice_issue}",
            ) as run_id:
                copied = await self._pull(name, sides, upstream_issue, slice_issue)
            await self.store.finish_run(run_id, RunEnd(state=RunState.SUCCEEDED))
        logger.info("slice_issue_pulled", slice=name, upstream_issue=upstream_issue,
                    slice_issue=copied.number, created=copied.created, comments=copied.comments)
        return copied

    async def _pull(self, name: str, sides: SliceForges, number: int,
                    slice_issue: int | None) -> CopiedIssue:
        upstream = await self._upstream_issue(sides, number)
        recorded = await self.store.copy(name, CopyKind.ISSUE, number)
        if recorded is not None:
            if slice_issue not in {None, recorded.slice_id}:
                raise IssueRefused(
                    f"upstream issue #{number} was pulled into slice issue "
                    f"#{recorded.slice_id} ({recorded.slice_url}); pull it again without a "
                    "slice issue to copy its new comments there")
            target = Copy(kind=CopyKind.ISSUE, upstream_id=number, slice_id=recorded.slice_id,
                          slice_url=recorded.slice_url)
            created = False
        elif slice_issue is not None:
            target = await self._link_into(name, sides, upstream, slice_issue)
            created = False
        else:
            target = await self._open(name, sides, upstream)
            created = True
        comments = await self._copy_comments(name, sides, number, target.slice_id)
        return CopiedIssue(number=target.slice_id, html_url=target.slice_url, created=created,
                           comments=comments)

    async def _upstream_issue(self, sides: SliceForges, number: int) -> Issue:
        repo = sides.upstream_repo
        try:
            issue = await sides.upstream.get_issue(repo, number)
        except ForgeNotFound as exc:
            raise ForgeNotFound(f"upstream {repo.full_name} has no issue #{number} "
                                f"({exc})") from exc
        if issue.is_pull_request:
            raise IssueRefused(f"upstream #{number} is a pull request, not an issue: its "
                               "reviews come over with pull-review")
        return issue

    async def _open(self, name: str, sides: SliceForges, upstream: Issue) -> Copy:
        """A new slice issue copying ``upstream`` (or the one a crashed pull made)."""
        repo = sides.slice_repo
        line = link_line(upstream)
        since = upstream.created_at - _CLOCK_SLACK if upstream.created_at else None
        made = next((issue for issue in await sides.slice.list_issues(repo, since=since)
                     if _carries(issue.body, line)), None)
        if made is None:
            made = await sides.slice.create_issue(repo, NewIssue(
                title=upstream.title, body=_ending(upstream.body, line),
                labels=upstream.labels))
        copy = Copy(kind=CopyKind.ISSUE, upstream_id=upstream.number, slice_id=made.number,
                    slice_url=made.html_url)
        await self.store.record_copy(name, copy)
        return copy

    async def _link_into(self, name: str, sides: SliceForges, upstream: Issue,
                         number: int) -> Copy:
        """A comment on slice issue ``number`` linking back to ``upstream`` (unless a crashed
        pull left one)."""
        repo = sides.slice_repo
        try:
            target = await sides.slice.get_issue(repo, number)
        except ForgeNotFound as exc:
            raise ForgeNotFound(f"the slice {repo.full_name} has no issue #{number} "
                                f"({exc})") from exc
        if target.is_pull_request:
            raise IssueRefused(f"slice #{number} is a pull request: give an issue to pull "
                               "into, or none for a new one")
        line = link_line(upstream)
        if not any(_carries(comment.body, line)
                   for comment in await sides.slice.list_comments(repo, number)):
            await sides.slice.create_comment(
                repo, number, _ending(f"**{upstream.title}**\n\n{upstream.body}", line))
        copy = Copy(kind=CopyKind.ISSUE, upstream_id=upstream.number, slice_id=number,
                    slice_url=target.html_url)
        await self.store.record_copy(name, copy)
        return copy

    async def _copy_comments(self, name: str, sides: SliceForges, number: int,
                             slice_number: int) -> int:
        """Copy the upstream comments not copied yet, in order; how many were."""
        pending = [comment for comment in await sides.upstream.list_comments(
                       sides.upstream_repo, number)
                   if await self.store.copy(name, CopyKind.ISSUE_COMMENT, comment.id) is None]
        if not pending:
            return 0
        existing = await sides.slice.list_comments(sides.slice_repo, slice_number)
        for comment in pending:
            body = comment_body(comment)
            line = body.splitlines()[-1]
            made = next((known for known in existing if _carries(known.body, line)), None)
            if made is None:
                made = await sides.slice.create_comment(sides.slice_repo, slice_number, body)
            await self.store.record_copy(name, Copy(
                kind=CopyKind.ISSUE_COMMENT, upstream_id=comment.id, slice_id=made.id,
                slice_url=made.html_url))
        return len(pending)
