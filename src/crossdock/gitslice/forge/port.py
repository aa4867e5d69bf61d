"""The forge port: what GitSlice asks of a forge, in its own words.

A forge hosts the two repositories of a slice and the conversation around them: pull requests,
their reviews and line comments, issues, comments, labels, assignees and who may do what. The
GitHub adapter implements it today; docs/design/gitslice-forge.md says what a GitLab adapter
would need. Every method raises the errors of ``forge.errors``, never a library's own.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from crossdock.gitslice.forge.errors import ForgeRejected


class PullState(StrEnum):
    """Where a pull request stands: merged is a closed pull request whose branch went in."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class IssueState(StrEnum):
    """Open or closed."""

    OPEN = "open"
    CLOSED = "closed"


class ReviewState(StrEnum):
    """A submitted review's verdict (``PENDING`` until it is submitted)."""

    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    COMMENTED = "COMMENTED"
    DISMISSED = "DISMISSED"
    PENDING = "PENDING"


class ReviewEvent(StrEnum):
    """The verdict a new review is submitted with."""

    APPROVE = "APPROVE"
    REQUEST_CHANGES = "REQUEST_CHANGES"
    COMMENT = "COMMENT"


class Side(StrEnum):
    """The side of a diff a line comment sits on: LEFT is the base, RIGHT the head."""

    LEFT = "LEFT"
    RIGHT = "RIGHT"


class Reaction(StrEnum):
    """The reactions a comment can get."""

    PLUS_ONE = "+1"
    MINUS_ONE = "-1"
    LAUGH = "laugh"
    CONFUSED = "confused"
    HEART = "heart"
    HOORAY = "hooray"
    ROCKET = "rocket"
    EYES = "eyes"


class Permission(StrEnum):
    """A user's role on a repository, from most to least."""

    ADMIN = "admin"
    MAINTAIN = "maintain"
    WRITE = "write"
    TRIAGE = "triage"
    READ = "read"
    NONE = "none"

    def at_least(self, other: Permission) -> bool:
        """Whether this role includes everything ``other`` may do."""
        order = list(Permission)
        return order.index(self) <= order.index(other)


@dataclass(frozen=True, slots=True, kw_only=True)
class RepoRef:
    """A repository by its owner (a user, an organisation, or a GitLab group path) and name."""

    owner: str
    name: str

    @classmethod
    def parse(cls, full_name: str) -> RepoRef:
        """``owner/name`` (the owner may hold slashes, as GitLab's groups do)."""
        owner, _, name = full_name.strip().rpartition("/")
        if not owner or not name:
            raise ForgeRejected(f"a repository is named owner/name, not {full_name!r}")
        return cls(owner=owner, name=name)

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Repository:
    """A repository as the forge describes it."""

    ref: RepoRef
    default_branch: str
    clone_url: str
    html_url: str
    private: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequest:
    """A pull request (GitLab: a merge request)."""

    number: int
    title: str
    body: str
    state: PullState
    draft: bool
    head_ref: str
    head_sha: str
    base_ref: str
    author: str
    html_url: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPullRequest:
    """What it takes to open a pull request."""

    title: str
    head: str
    base: str
    body: str = ""
    draft: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    """A comment in the conversation of an issue or pull request."""

    id: int
    body: str
    author: str
    html_url: str
    created_at: datetime.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """A submitted review of a pull request."""

    id: int
    pull_number: int
    author: str
    state: ReviewState
    body: str
    commit_sha: str
    html_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewComment:
    """A comment on lines of a pull request's diff.

    ``line`` is the last line of the range, ``start_line`` the first when it spans several;
    both count lines of the file on ``side`` (as GitHub's and GitLab's line positions do).
    """

    id: int
    review_id: int | None
    author: str
    body: str
    path: str
    commit_sha: str
    line: int | None
    side: Side
    start_line: int | None = None
    start_side: Side | None = None
    in_reply_to: int | None = None
    html_url: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReviewComment:
    """A line comment of a new review."""

    path: str
    body: str
    line: int
    side: Side = Side.RIGHT
    start_line: int | None = None
    start_side: Side | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReview:
    """A review to submit, with its line comments, in one go."""

    body: str
    event: ReviewEvent = ReviewEvent.COMMENT
    commit_sha: str | None = None
    comments: tuple[NewReviewComment, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """An issue (a pull request is also an issue on GitHub: ``is_pull_request``)."""

    number: int
    title: str
    body: str
    state: IssueState
    author: str
    html_url: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    is_pull_request: bool = False
    created_at: datetime.datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewIssue:
    """What it takes to open an issue."""

    title: str
    body: str = ""
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()


class Forge(Protocol):
    """A forge, as GitSlice uses it. Lists are whole: an adapter follows every page."""

    async def get_repository(self, repo: RepoRef) -> Repository: ...

    async def get_pull_request(self, repo: RepoRef, number: int) -> PullRequest: ...

    async def list_pull_requests(
        self, repo: RepoRef, *, state: PullState | None = PullState.OPEN
    ) -> list[PullRequest]: ...

    async def find_open_pull_request(self, repo: RepoRef, head: str) -> PullRequest | None:
        """The open pull request from branch ``head`` of ``repo`` itself, if there is one."""
        ...

    async def create_pull_request(self, repo: RepoRef, new: NewPullRequest) -> PullRequest: ...

    async def close_pull_request(self, repo: RepoRef, number: int) -> PullRequest:
        """Close without merging (a merged pull request stays merged)."""
        ...

    async def list_comments(self, repo: RepoRef, number: int) -> list[Comment]: ...

    async def create_comment(self, repo: RepoRef, number: int, body: str) -> Comment: ...

    async def add_reaction(self, repo: RepoRef, comment_id: int, reaction: Reaction) -> None: ...

    async def get_review(self, repo: RepoRef, number: int, review_id: int) -> Review: ...

    async def list_reviews(self, repo: RepoRef, number: int) -> list[Review]:
        """Every review of pull request ``number``, oldest first."""
        ...

    async def list_review_comments(
        self, repo: RepoRef, number: int, review_id: int
    ) -> list[ReviewComment]: ...

    async def create_review(self, repo: RepoRef, number: int, new: NewReview) -> Review: ...

    async def reply_to_review_comment(
        self, repo: RepoRef, number: int, comment_id: int, body: str
    ) -> ReviewComment:
        """Answer line comment ``comment_id`` in its thread (the reply is a review of its own)."""
        ...

    async def get_issue(self, repo: RepoRef, number: int) -> Issue: ...

    async def list_issues(
        self, repo: RepoRef, *, since: datetime.datetime | None = None
    ) -> list[Issue]:
        """Every issue, open or closed, updated at or after ``since`` (all when none);
        pull requests are not issues here."""
        ...

    async def create_issue(self, repo: RepoRef, new: NewIssue) -> Issue: ...

    async def close_issue(self, repo: RepoRef, number: int) -> Issue: ...

    async def add_labels(self, repo: RepoRef, number: int, labels: Sequence[str]) -> None: ...

    async def add_assignees(
        self, repo: RepoRef, number: int, assignees: Sequence[str]
    ) -> None: ...

    async def permission(self, repo: RepoRef, user: str) -> Permission:
        """The user's role on ``repo``; ``NONE`` for a user the forge does not know."""
        ...
