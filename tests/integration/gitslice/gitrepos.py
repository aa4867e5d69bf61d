"""Real git repositories in temporary folders, driven through the git CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pygit2

from crossdock.gitslice.ignore import IgnoreRules, decode_path
from crossdock.gitslice.messages import upstream_sha

ENV = {
    "GIT_AUTHOR_NAME": "Ada Upstream", "GIT_AUTHOR_EMAIL": "ada@upstream.test",
    "GIT_COMMITTER_NAME": "Ada Upstream", "GIT_COMMITTER_EMAIL": "ada@upstream.test",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str | bytes, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **ENV, **(env or {})},
        capture_output=True, check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {args!r} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace").strip()


def bare(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
    return path


class WorkRepo:
    """A working clone of a bare remote where tests author commits."""

    def __init__(self, path: Path, remote: Path, branch: str = "main") -> None:
        self.path = path
        self.remote = remote
        self.branch = branch
        path.mkdir(parents=True)
        git(path, "init", "--quiet", f"--initial-branch={branch}")
        git(path, "remote", "add", "origin", str(remote))

    def write(self, files: dict[str | bytes, str | bytes | None]) -> None:
        for name, content in files.items():
            target = Path(os.fsdecode(name)) if isinstance(name, bytes) else Path(name)
            full = self.path / target
            if content is None:
                if full.is_symlink() or full.is_file():
                    full.unlink()
                continue
            full.parent.mkdir(parents=True, exist_ok=True)
            if full.is_symlink():
                full.unlink()
            full.write_bytes(content.encode() if isinstance(content, str) else content)

    def symlink(self, name: str, target: str) -> None:
        full = self.path / name
        if full.is_symlink() or full.exists():
            full.unlink()
        full.symlink_to(target)

    def chmod(self, name: str, mode: int) -> None:
        (self.path / name).chmod(mode)

    def commit(self, message: str, files: dict[str | bytes, str | bytes | None] | None = None,
               *, when: int | None = None, author: str | None = None,
               stage: bool = True) -> str:
        if files:
            self.write(files)
        if stage:
            git(self.path, "add", "-A")
        env = {}
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when} +0200"
        if author is not None:
            name, _, email = author.partition(" <")
            env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = name, email.rstrip(">")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message, env=env)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def push(self, branch: str | None = None, *, force: bool = False) -> None:
        ref = branch or self.branch
        git(self.path, "push", "--quiet", *(["--force"] if force else []), "origin",
            f"HEAD:refs/heads/{ref}")

    def checkout(self, branch: str, *, create: bool = False, start: str | None = None) -> None:
        args = ["checkout", "--quiet"] + (["-b"] if create else []) + [branch]
        git(self.path, *args, *([start] if start else []))

    def fetch(self) -> None:
        git(self.path, "fetch", "--quiet", "origin")


def tree_files(
    repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""
) -> dict[str, tuple[int, str]]:
    """path -> (mode, blob sha) of every non-tree entry."""
    found: dict[str, tuple[int, str]] = {}
    for entry in tree:
        path = prefix + decode_path(entry.raw_name)
        if entry.filemode == 0o040000:
            found.update(tree_files(repo, repo[entry.id], path + "/"))  # type: ignore[arg-type]
        else:
            found[path] = (entry.filemode, str(entry.id))
    return found


def assert_no_leaks(
    slice_path: Path, upstream_path: Path, *, patterns: tuple[str, ...] = (),
    folders: tuple[str, ...] = (),
) -> int:
    """The invariant: no slice commit reachable from any ref has a path its rules exclude,
    and every included upstream path is there with the same mode and content. Returns the
    number of commits checked."""
    slice_repo = pygit2.Repository(str(slice_path))
    upstream = pygit2.Repository(str(upstream_path))
    checked = 0
    seen: set[str] = set()
    for ref in slice_repo.references:
        for commit in slice_repo.walk(slice_repo.references[ref].target):
            if str(commit.id) in seen:
                continue
            seen.add(str(commit.id))
            source = upstream_sha(commit.raw_message)
            if source is None:
                continue  # a slice user's own commit: push tests check those
            up = upstream[source]
            rules = IgnoreRules.for_tree(upstream, up.tree, patterns=patterns, folders=folders)
            expected = {p: v for p, v in tree_files(upstream, up.tree).items()
                        if not rules.excluded(p)}
            actual = tree_files(slice_repo, commit.tree)
            leaked = [p for p in actual if rules.excluded(p)]
            assert not leaked, f"{commit.id} leaks {leaked}"
            assert actual == expected, f"{commit.id}: slice tree differs from upstream"
            checked += 1
    return checked


def all_blob_contents(path: Path) -> list[bytes]:
    """Every blob object stored in a repository, reachable or not."""
    repo = pygit2.Repository(str(path))
    out = []
    for oid in repo.odb:
        obj = repo.odb.read(oid)
        if obj[0] == pygit2.GIT_OBJECT_BLOB:
            out.append(obj[1])
    return out
