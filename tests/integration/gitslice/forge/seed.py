"""Commits in the forge's bare repositories, made through a scratch clone by path."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.integration.gitslice.gitrepos import git


def commit(bare: Path, branch: str, files: dict[str, str], *, start: str | None = None,
           message: str = "change") -> str:
    """Commit ``files`` on ``branch`` (made from ``start`` if new) and push; the new sha."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        git(work, "clone", "--quiet", str(bare), ".")
        known = git(work, "branch", "-r").split()
        if start is not None:
            git(work, "checkout", "--quiet", "-b", branch, f"origin/{start}")
        elif f"origin/{branch}" in known:
            git(work, "checkout", "--quiet", "-B", branch, f"origin/{branch}")
        else:
            git(work, "checkout", "--quiet", "--orphan", branch)
        for name, content in files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(content)
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", message)
        git(work, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        return git(work, "rev-parse", "HEAD")
