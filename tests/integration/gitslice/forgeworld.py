"""A slice whose two repositories live on the in-package forge, served over HTTP, with a
syncer that talks to it through the GitHub adapter and git's smart HTTP protocol.

The forge's API exchanges are checked against GitHub's published description when the test
ends, as in ``forge/conftest.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crossdock.core.database import Database
from crossdock.gitslice.config import Credentials, ForgeConfig, SliceConfig
from crossdock.gitslice.forge.fake import FakeForge, serve
from crossdock.gitslice.forge.fake.state import Issue, Repo, User
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

from .forge.conftest import ALICE, BOB, exchange_errors
from .forge.seed import commit

#: The token of ``dev``, the upstream user GitSlice acts as (a collaborator with write access).
DEV = "ghp_dev_0123456789abcdef"


@dataclasses.dataclass
class ForgeWorld:
    """alice's upstream ``alice/app``, bob's slice ``bob/app-slice``, and a syncer acting as
    ``dev`` upstream and as bob on the slice."""

    forge: FakeForge
    upstream: Repo
    slice: Repo
    store: SliceStore
    syncer: Syncer

    def git_url(self, repo: Repo) -> str:
        """The repository over git's smart HTTP protocol, without a token."""
        return f"{self.forge.origin}/{repo.full_name}.git"

    def config(self, **forge: object) -> SliceConfig:
        """The slice ``demo`` on these repositories (``forge`` changes its forge config)."""
        values: dict[str, object] = {
            "api_url": f"{self.forge.origin}/api/v3", "upstream_repo": self.upstream.full_name,
            "slice_repo": self.slice.full_name, "pr_labels": ("gitstart",),
        }
        values.update(forge)
        return SliceConfig(name="demo", upstream_url=self.git_url(self.upstream),
                           slice_url=self.git_url(self.slice),
                           push_branch_template="dev/<branch_name>",
                           forge=ForgeConfig(**values))  # type: ignore[arg-type]

    def user(self, login: str) -> User:
        return self.forge.state.user(login)

    def pulls(self, repo: Repo) -> list[Issue]:
        """The repository's pull requests, open or not, oldest first."""
        return [issue for issue in repo.issues.values() if issue.pull is not None]

    async def synced(self, **forge: object) -> None:
        """Upstream has a commit on main; the slice is made and pulled."""
        commit(self.upstream.path, "main", {"README.md": "hello\n", "app.py": "print(1)\n"},
               message="base")
        await self.syncer.init(self.config(**forge))
        await self.syncer.pull("demo")

    def slice_branch(self, branch: str, files: dict[str, str], message: str) -> str:
        """A slice developer's branch from the slice's main, pushed to the slice."""
        return commit(self.slice.path, branch, files, start="main", message=message)

    def slice_pull(self, branch: str, title: str, body: str) -> Issue:
        """bob opens a slice pull request from ``branch`` into main."""
        return self.forge.state.open_pull(self.slice, self.user("bob"), title=title,
                                          head=branch, base="main", body=body, draft=False)


@pytest.fixture
async def forge_world(database: Database, tmp_path: Path) -> AsyncIterator[ForgeWorld]:
    """A :class:`ForgeWorld` on a forge of its own; its API exchanges checked at the end."""
    async with serve(tmp_path / "forge") as forge:
        state = forge.state
        state.add_user("alice", ALICE)
        state.add_user("bob", BOB)
        state.add_user("dev", DEV)
        upstream = state.create_repo(state.user("alice"), "app", private=True)
        upstream.collaborators["dev"] = "write"
        slice_repo = state.create_repo(state.user("bob"), "app-slice", private=True)
        store = SliceStore(database)
        syncer = Syncer(store, data_dir=tmp_path / "data", credentials=Credentials(
            upstream_token=DEV, upstream_username="dev", slice_token=BOB))
        yield ForgeWorld(forge=forge, upstream=upstream, slice=slice_repo, store=store,
                         syncer=syncer)
        errors = exchange_errors(forge)
    assert not errors, "\n".join(errors[:20])
