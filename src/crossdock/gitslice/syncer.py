"""The operations on a slice (init, checkout, pull, pull-branch, push, status, map, reindex)
behind one object, for the CLI, the jobs and the demo.

Each operation lives in its own module: :mod:`workspace` (the cache repository, the remotes,
run records; init and checkout), :mod:`pulling`, :mod:`push_run` and :mod:`lookup` (status,
map, reindex). Each uses the store only through its methods.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pygit2

from crossdock.gitslice.config import Credentials, SliceConfig
from crossdock.gitslice.credentials import SecretBox, Side, StoredCredential
from crossdock.gitslice.forges import CredentialVault, ForgeProvider, GitHubForges
from crossdock.gitslice.history import Mapped
from crossdock.gitslice.issues import CopiedIssue, IssuePuller
from crossdock.gitslice.lookup import Lookup
from crossdock.gitslice.pulling import Puller, PullOutcome
from crossdock.gitslice.push_run import Pusher
from crossdock.gitslice.pushing import PushPlan, PushRequest
from crossdock.gitslice.raise_pr import PullRequestRaiser, RaisedPr
from crossdock.gitslice.records import PullLink
from crossdock.gitslice.remote import Git
from crossdock.gitslice.reviews import CopiedReview, ReviewPuller
from crossdock.gitslice.settings import DEFAULT_PROBE_TIMEOUT, GitSliceSettings
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.workspace import Reporter, Workspace, check_name

__all__ = ["PullOutcome", "Reporter", "Syncer", "check_name"]


class Syncer:
    """Runs slice operations against the store, a cache repository and the two remotes."""

    def __init__(
        self, store: SliceStore, *, data_dir: Path, credentials: Credentials | None = None,
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT, secret_key: str | None = None,
        forges: ForgeProvider | None = None,
    ) -> None:
        self.store = store
        credentials = credentials or Credentials()
        #: Encrypts and reads the slices' stored credentials.
        self.secrets = SecretBox.from_settings(secret_key, data_dir)
        vault = CredentialVault(store, self.secrets, credentials)
        self.workspace = Workspace(store, data_dir=data_dir, credentials=credentials,
                                   probe_timeout=probe_timeout, vault=vault)
        #: The slices' forge sides (GitHub unless told otherwise).
        self.forges: ForgeProvider = forges or GitHubForges(vault)
        self._puller = Puller(self.workspace, store)
        self._pusher = Pusher(self.workspace, store)
        self._lookup = Lookup(self.workspace, store)
        self._issues = IssuePuller(self.workspace, store, self.forges)
        self._reviews = ReviewPuller(self.workspace, store, self.forges)
        self._raiser = PullRequestRaiser(self.workspace, store, self.forges)

    @classmethod
    def from_settings(
        cls, store: SliceStore, settings: GitSliceSettings, *, core_data_dir: Path,
        credentials: Credentials | None = None,
    ) -> Syncer:
        """A syncer with the service's settings (``credentials`` instead of theirs if given)."""
        return cls(store, data_dir=settings.cache_dir(core_data_dir),
                   credentials=credentials or settings.credentials(),
                   probe_timeout=settings.probe_timeout, secret_key=settings.secret_key)

    @property
    def data_dir(self) -> Path:
        """Where the cache repositories live."""
        return self.workspace.data_dir

    def cache(self, name: str) -> tuple[Git, pygit2.Repository]:
        """The slice's bare cache repository (created on first use)."""
        return self.workspace.cache(name)

    async def init(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a slice and create its cache repository."""
        await self.workspace.init(config, update=update)

    async def config(self, name: str) -> SliceConfig:
        """The stored config of slice ``name``."""
        return await self.workspace.config(name)

    async def set_credential(self, name: str, credential: StoredCredential) -> None:
        """Store a side's credential; its secret (a value, ``file:PATH`` or ``env:NAME``) is
        kept as a reference or encrypted, never as given."""
        await self.store.set_credential(name, dataclasses.replace(
            credential, secret=self.secrets.store(credential.secret)))

    async def remove_credential(self, name: str, side: Side) -> bool:
        """Forget a side's own credential (the service's is used again)."""
        return await self.store.remove_credential(name, side)

    async def checkout(self, name: str, reporter: Reporter | None = None) -> dict[str, Any]:
        """Fetch both repositories into the cache; returns both default heads."""
        return dict(await self.workspace.checkout(name, reporter))

    async def pull(self, name: str, reporter: Reporter | None = None, *,
                   delivery_id: int | None = None) -> PullOutcome:
        """Bring the upstream default branch's new commits into the slice default branch
        (``delivery_id``: the webhook delivery that asked for it, recorded on the run)."""
        return await self._puller.pull(name, reporter, delivery_id=delivery_id)

    async def pull_branch(
        self, name: str, branch: str, reporter: Reporter | None = None, *,
        target_branch: str | None = None,
    ) -> PullOutcome:
        """Slice upstream ``branch`` into slice branch ``upstream-<branch>`` (replacing it);
        with ``target_branch``, also open (or reuse) the slice pull request from it into that
        branch (a target the slice lacks is refused before anything is pulled)."""
        if target_branch is not None:
            await self._raiser.check_target(name, target_branch)
        outcome = await self._puller.pull_branch(name, branch, reporter)
        if target_branch is None:
            return outcome
        return await self._raiser.open_branch_pr(name, branch, target_branch, outcome)

    async def push(
        self, name: str, request: PushRequest, reporter: Reporter | None = None
    ) -> PushPlan:
        """Apply slice branch ``request.branch`` onto upstream."""
        return await self._pusher.push(name, request, reporter)

    async def pull_issue(self, name: str, upstream_issue: int, *,
                         slice_issue: int | None = None) -> CopiedIssue:
        """Copy an upstream issue (title, body, labels, comments) to a new slice issue, or
        into ``slice_issue``; pulled again, only its new comments come."""
        return await self._issues.pull_issue(name, upstream_issue, slice_issue=slice_issue)

    async def pull_review(self, name: str, upstream_pr: int, review_id: int) -> CopiedReview:
        """Copy an upstream review onto the slice pull request linked to ``upstream_pr``."""
        return await self._reviews.pull_review(name, upstream_pr, review_id)

    async def raise_pr(self, name: str, branch: str, *, slice_pr: int | None = None) -> RaisedPr:
        """Open (or reuse) the upstream pull request for pushed slice ``branch``, linked to its
        slice pull request."""
        return await self._raiser.raise_pr(name, branch, slice_pr=slice_pr)

    async def upstream_pull_closed(self, name: str, upstream_pr: int, *,
                                   merged: bool) -> PullLink | None:
        """Comment on (and, merged, close) the slice pull request linked to ``upstream_pr``;
        None when it is not linked or this change was handled already."""
        return await self._raiser.upstream_pull_closed(name, upstream_pr, merged=merged)

    async def reindex(self, name: str, reporter: Reporter | None = None) -> int:
        """Rebuild the map and tips from the slice's trailers; returns the entries found."""
        return await self._lookup.reindex(name, reporter)

    async def status(self, name: str, *, fetch: bool = True) -> dict[str, Any]:
        """Last sync, and the commits waiting each way."""
        return await self._lookup.status(name, fetch=fetch)

    async def lookup(self, name: str, sha: str) -> list[Mapped]:
        """Map entries whose upstream or slice sha starts with ``sha``."""
        return await self._lookup.lookup(name, sha)
