"""The demo slice ``crossdock up`` makes: a small upstream with a secret, sliced once."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import pygit2

from crossdock.core.services import Served
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.syncer import Syncer

_FILES = {
    "README.md": b"# Demo upstream\n\nThe slice has everything but the internal folder.\n",
    "src/app.py": b"print('hello from upstream')\n",
    "internal/roadmap.md": b"Internal only: never in the slice.\n",
    ".gitsliceignore": b"internal/\n",
}


def _make_repositories(folder: Path) -> tuple[Path, Path]:
    slice_repo = folder / "slice.git"
    if not slice_repo.exists():
        # A clone checks out HEAD: let it name the branch the slice is written to.
        pygit2.init_repository(str(slice_repo), bare=True, initial_head="main")
    upstream = folder / "upstream.git"
    if upstream.exists():
        return upstream, slice_repo
    repo = pygit2.init_repository(str(upstream), bare=True, initial_head="main")
    index = pygit2.Index()
    for path, data in _FILES.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(data), pygit2.enums.FileMode.BLOB))
    sig = pygit2.Signature("Demo Upstream", "demo@crossdock.test")
    repo.create_commit("refs/heads/main", sig, sig, "Demo upstream\n", index.write_tree(repo), [])
    return upstream, slice_repo


async def create_demo(syncer: Syncer, folder: Path) -> None:
    """Create (once) the demo upstream and slice, store the slice ``demo``, pull it."""
    upstream, slice_repo = await asyncio.to_thread(_make_repositories, folder)
    await syncer.init(SliceConfig(name="demo", upstream_url=str(upstream),
                                  slice_url=str(slice_repo), ignores=("*.secret",)), update=True)
    await syncer.pull("demo")


def demo_note(folder: Path, served: Served) -> list[str]:  # noqa: ARG001 (serves no port)
    """The demo slice, its two repositories, and commands that show what the slice holds."""
    upstream, slice_repo = folder / "upstream.git", folder / "slice.git"
    clone = f"git clone -q -b main {shlex.quote(str(slice_repo))} demo-slice"
    return [
        "gitslice demo: slice 'demo' of the upstream repository, without internal/",
        f"  upstream {upstream}",
        f"  slice    {slice_repo}",
        "  try: crossdock slice list",
        f"       {clone} && ls -A demo-slice",
    ]
