"""What each upstream commit changed against its first parent, from one ``git diff-tree``.

Finding a commit's changes in Python means reading and parsing both commits' trees at every
level where they differ: a 200-entry root tree per commit, most of an initial slice's time.
``git diff-tree --stdin`` does the same in C, in a process of its own that runs beside the
slicer (on another core when there is one), and hands over only the changed paths. The slicer
then edits its parent's slice tree along those paths and never reads the upstream trees.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from crossdock.gitslice.errors import GitCommandError
from crossdock.gitslice.objects import Entry

#: A changed path and its new entry, or None when the path was deleted.
Change = tuple[bytes, Entry | None]

_CHUNK = 1 << 16


def _tokens(stream: IO[bytes]) -> Iterator[bytes]:
    """The NUL-separated fields of ``diff-tree -z`` output, read as it comes."""
    rest = b""
    while chunk := stream.read(_CHUNK):
        fields = (rest + chunk).split(b"\0")
        rest = fields.pop()
        yield from fields
    if rest:
        yield rest


def _records(stream: IO[bytes]) -> Iterator[tuple[str, list[Change]]]:
    """(commit sha, its changes) for each input line, in input order."""
    sha: str | None = None
    changes: list[Change] = []
    tokens = _tokens(stream)
    for token in tokens:
        if not token.startswith(b":"):
            if sha is not None:
                yield sha, changes
            sha, changes = token.decode(), []
            continue
        # ":<old mode> <new mode> <old sha> <new sha> <status>", then the path.
        _, mode, _, oid, status = token[1:].split(b" ")
        path = next(tokens)
        changes.append((path, None if status == b"D" else (int(mode, 8), bytes.fromhex(
            oid.decode()))))
    if sha is not None:
        yield sha, changes


class CommitChanges:
    """Streams the changes of ``(commit, parent)`` pairs, asked for in the order given.

    Use as a context manager: leaving it stops git if the caller did not read everything.
    """

    def __init__(self, git_dir: Path, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._commits = {commit for commit, _ in pairs}
        self._git_dir = git_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None
        self._records: Iterator[tuple[str, list[Change]]] = iter(())

    def __enter__(self) -> Self:
        if not self._pairs:
            return self
        with tempfile.TemporaryFile() as lines:
            lines.write(b"".join(f"{commit} {parent}\n".encode() for commit, parent in self._pairs))
            lines.seek(0)
            self._errors = tempfile.TemporaryFile()  # closed in __exit__
            self._process = subprocess.Popen(  # noqa: S603
                # -r: files, not trees; -z: raw path bytes; --always: one record per pair, even
                # for an empty commit, so records and pairs line up.
                ["git", "--git-dir", str(self._git_dir), "diff-tree", "--stdin",  # noqa: S607
                 "-r", "-z", "--no-renames", "--always"],
                stdin=lines, stdout=subprocess.PIPE, stderr=self._errors,
            )
        assert self._process.stdout is not None
        self._records = _records(self._process.stdout)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            assert self._process.stdout is not None
            self._process.stdout.close()
        if self._errors is not None:
            self._errors.close()

    def covers(self, commit: str) -> bool:
        """True when ``commit`` is one of the pairs' commits."""
        return commit in self._commits

    def of(self, commit: str) -> list[Change]:
        """The changes of ``commit``, the next pair's commit."""
        found = next(self._records, None)
        if found is None or found[0] != commit:
            raise GitCommandError(f"git diff-tree failed: {self._failure()}")
        return found[1]

    def _failure(self) -> str:
        if self._process is None or self._errors is None:
            return "no changes were asked for"
        code = self._process.wait()
        self._errors.seek(0)
        reason = self._errors.read().decode(errors="replace").strip()
        return reason or f"exit {code}, output out of step with the commits"
