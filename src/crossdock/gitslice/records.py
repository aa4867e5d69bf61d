"""What the slice store records: runs and how they ended, branch tips, finished pulls."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from crossdock.gitslice.history import Mapped


class RunKind(StrEnum):
    """What a run did."""

    PULL = "pull"
    PULL_BRANCH = "pull_branch"
    PUSH = "push"
    REINDEX = "reindex"


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
    #: The slice branch's new head (none when nothing was ever sliced).
    slice_sha: str | None
    mapped: tuple[Mapped, ...]
    #: The default branch: its head is also the slice's last sync.
    synced: bool
