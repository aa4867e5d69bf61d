"""What the slice store records: runs and how they ended, branch tips, finished pulls, and
the forge side: linked pull requests, copies from upstream, comment commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from crossdock.gitslice.causes import current_delivery
from crossdock.gitslice.history import Mapped


class RunKind(StrEnum):
    """What a run did."""

    PULL = "pull"
    PULL_BRANCH = "pull_branch"
    PUSH = "push"
    REINDEX = "reindex"
    RAISE_PR = "raise_pr"
    PULL_REVIEW = "pull_review"
    PULL_ISSUE = "pull_issue"
    COMMAND = "command"


class RunState(StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Tip:
    """The last upstream commit sliced from one upstream ref, and its slice commit."""

    upstream_ref: str
    upstream_sha: str
    slice_sha: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunCause:
    """What started a run: the job running it, and the webhook delivery that queued the job."""

    job_id: int | None = None
    delivery_id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunEnd:
    """How a run ended: its state, the commits it left each side at, and why it failed."""

    state: RunState
    upstream_sha: str | None = None
    slice_sha: str | None = None
    commits: int = 0
    error: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullRecord:
    """What a finished pull (or pull-branch) records, together."""

    name: str
    run_id: int
    #: The upstream branch sliced, and the head it was sliced at.
    upstream_ref: str
    upstream_sha: str
    #: The slice branch it was sliced onto.
    slice_ref: str
    #: The slice branch's new head (none when nothing was ever sliced).
    slice_sha: str | None
    mapped: tuple[Mapped, ...]
    #: The default branch: its head is also the slice's last sync.
    synced: bool


class LinkState(StrEnum):
    """Where a linked upstream pull request stands."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullLink:
    """An upstream pull request raised for a slice branch, and its slice pull request."""

    slice_name: str
    upstream_pr: int
    #: None when the upstream pull request was raised without one (``slice raise-pr``).
    slice_pr: int | None
    upstream_branch: str
    slice_branch: str
    upstream_url: str
    state: LinkState = LinkState.OPEN

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PullLink:
        """From a ``gitslice_pull_links`` row."""
        return cls(slice_name=row["slice_name"], upstream_pr=row["upstream_pr"],
                   slice_pr=row["slice_pr"], upstream_branch=row["upstream_branch"],
                   slice_branch=row["slice_branch"], upstream_url=row["upstream_url"],
                   state=LinkState(row["state"]))


class CopyKind(StrEnum):
    """What was copied from upstream onto the slice."""

    REVIEW = "review"
    REVIEW_COMMENT = "review_comment"
    ISSUE = "issue"
    ISSUE_COMMENT = "issue_comment"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """An upstream object (by id) and the slice object it was copied to."""

    kind: CopyKind
    upstream_id: int
    slice_id: int
    slice_url: str = ""
    #: The webhook delivery behind the job making the copy (the running job's, by default).
    delivery_id: int | None = dataclasses.field(default_factory=current_delivery)


class CommandState(StrEnum):
    """Where a comment command stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecord:
    """A ``/git-slice`` comment command taken from a slice pull request."""

    slice_name: str
    comment_id: int
    pull_number: int
    author: str
    command: str
    state: CommandState = CommandState.QUEUED
    result: str | None = None
    #: The webhook delivery the comment came with: the runs the command starts name it.
    delivery_id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CommandRecord:
        """From a ``gitslice_commands`` row."""
        return cls(slice_name=row["slice_name"], comment_id=row["comment_id"],
                   pull_number=row["pull_number"], author=row["author"],
                   command=row["command"], state=CommandState(row["state"]),
                   result=row["result"], delivery_id=row["delivery_id"])
