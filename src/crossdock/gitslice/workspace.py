"""What every operation on a slice shares: its stored config, its cache repository, its two
remotes, fetching them, and the record of each run.

Each operation runs under the slice's PostgreSQL advisory lock, so a CLI run and a worker's
job never overlap, and records a run: started before the work, failed (with the remotes'
tokens redacted from the error) when the work raises, succeeded by the operation itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

import pygit2

from crossdock.core.jobs import current_job
from crossdock.core.logging import get_logger
from crossdock.gitslice.causes import current_delivery
from crossdock.gitslice.config import Credentials, SliceConfig, checked
from crossdock.gitslice.credentials import Side, StoredCredential
from crossdock.gitslice.errors import GitCommandError, GitSliceError, SliceConfigError
from crossdock.gitslice.events import SliceEvent, push_refused
from crossdock.gitslice.forges import CredentialVault
from crossdock.gitslice.records import RunCause, RunEnd, RunKind, RunState
from crossdock.gitslice.remote import Git, Remote, probe, redact
from crossdock.gitslice.settings import DEFAULT_PROBE_TIMEOUT

logger = get_logger("crossdock.gitslice")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Where the cache repository keeps each side's branches: ``refs/<namespace>/heads/<branch>``.
UPSTREAM_NS = "upstream"
SLICE_NS = "slice"


class Reporter(Protocol):
    """Receives progress: named steps, and counts within the long ones."""

    def step(self, description: str) -> None: ...

    def progress(self, done: int, total: int) -> None: ...


class Silent:
    """A reporter that only logs, at debug level."""

    def step(self, description: str) -> None:
        """Log a step."""
        logger.debug("gitslice_step", step=description)

    def progress(self, done: int, total: int) -> None:
        """Log a count."""
        logger.debug("gitslice_progress", done=done, total=total)


class SliceRecords(Protocol):
    """The store, as a workspace uses it: slices, their lock and their runs."""

    async def create(self, config: SliceConfig, *, update: bool = False) -> None: ...

    async def config(self, name: str) -> SliceConfig: ...

    def locked(self, name: str) -> AbstractAsyncContextManager[None]: ...

    async def start_run(self, name: str, kind: RunKind, *, upstream_ref: str | None,
                        slice_ref: str | None, cause: RunCause | None = None) -> int: ...

    async def finish_run(self, run_id: int, end: RunEnd, *,
                         event: SliceEvent | None = None) -> None: ...


def check_name(name: str) -> str:
    """A slice name is also a folder name: letters, digits, ``.``, ``_``, ``-``."""
    if not _NAME.match(name):
        raise SliceConfigError(
            f"invalid slice name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)"
        )
    return name


def ref(repo: pygit2.Repository, namespace: str, branch: str) -> str | None:
    """The sha of ``branch`` of one side in the cache repository, if it has it."""
    found = repo.references.get(f"refs/{namespace}/heads/{branch}")
    return str(found.target) if found is not None else None


class Workspace:
    """A slice's cache repositories (one per slice under ``data_dir``), remotes and runs."""

    def __init__(self, store: SliceRecords, *, data_dir: Path,
                 credentials: Credentials | None = None,
                 probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
                 vault: CredentialVault | None = None) -> None:
        self.store = store
        self.data_dir = data_dir
        self.credentials = credentials or Credentials()
        #: Each slice's own credentials, read by :meth:`config` (the service's otherwise).
        self.vault = vault
        self._stored: dict[str, dict[Side, StoredCredential]] = {}
        #: Seconds a new slice's repositories have to answer ``git ls-remote``.
        self.probe_timeout = probe_timeout

    def cache(self, name: str) -> tuple[Git, pygit2.Repository]:
        """The slice's bare cache repository (created on first use)."""
        git = Git(self.data_dir / f"{check_name(name)}.git")
        git.init()
        return git, pygit2.Repository(str(git.git_dir))

    def remotes(self, config: SliceConfig) -> tuple[Remote, Remote]:
        """The upstream and slice remotes, with their tokens (the slice's own, if
        :meth:`config` read any)."""
        credentials = self.credentials_of(config.name)
        return credentials.upstream(config.upstream_url), credentials.slice(config.slice_url)

    def credentials_of(self, name: str) -> Credentials:
        """The slice's credentials (its own as :meth:`config` last read them, else the
        service's); a reference that cannot be read is :class:`SliceConfigError`."""
        stored = self._stored.get(name)
        if self.vault is None or not stored:
            return self.credentials
        return self.vault.git_credentials(name, stored)

    async def config(self, name: str) -> SliceConfig:
        """The stored config of slice ``name``; its own credentials are read with it."""
        config = await self.store.config(name)
        if self.vault is not None:
            self._stored[name] = await self.vault.stored(name)
        return config

    async def fetch(
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

    @contextlib.asynccontextmanager
    async def run(
        self, config: SliceConfig, kind: RunKind, *, upstream_ref: str | None,
        slice_ref: str | None, delivery_id: int | None = None,
    ) -> AsyncIterator[int]:
        """Record a run of ``kind`` (its id is yielded); the block raising records it failed.
        The run records the job running it, if one is, and ``delivery_id``, the webhook
        delivery that queued that job (by default the one the job said it was queued by).

        Recording success is the caller's, after the block: it goes with what the run wrote.
        A push that fails with a GitSlice error publishes ``gitslice.push.refused`` with it.
        """
        run_id = await self.store.start_run(
            config.name, kind, upstream_ref=upstream_ref, slice_ref=slice_ref,
            cause=RunCause(job_id=current_job(), delivery_id=current_delivery()
                           if delivery_id is None else delivery_id))
        try:
            yield run_id
        except BaseException as exc:
            upstream, slice_remote = self.remotes(config)
            message = redact(str(exc) or type(exc).__name__,
                             upstream.secrets() + slice_remote.secrets())
            refused = None
            if kind is RunKind.PUSH and isinstance(exc, GitSliceError):
                refused = push_refused(config.name, branch=slice_ref, reason=message)
            await self.store.finish_run(run_id, RunEnd(state=RunState.FAILED, error=message),
                                        event=refused)
            raise

    async def init(self, config: SliceConfig, *, update: bool = False) -> None:
        """Store a slice and create its cache repository; both repositories must answer."""
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

    async def checkout(self, name: str, reporter: Reporter | None = None) -> dict[str, str | None]:
        """Fetch both repositories into the cache; returns both default heads."""
        config = await self.config(name)
        git, repo = self.cache(name)
        async with self.store.locked(name):
            await self.fetch(git, config, reporter or Silent())
        return {
            "upstream": ref(repo, UPSTREAM_NS, config.upstream_branch),
            "slice": ref(repo, SLICE_NS, config.slice_branch),
        }
