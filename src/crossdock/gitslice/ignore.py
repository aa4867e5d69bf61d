"""Which paths a slice leaves out: settings globs plus upstream's ``.gitsliceignore``.

Both are in gitignore syntax, settings first, so the upstream file can re-include with ``!``.
Directories follow git's rule: once a directory is excluded nothing under it comes back, which
lets the slicer drop a whole subtree without reading it. A slice may also be limited to chosen
folders; everything outside them is left out.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import pathspec
import pygit2

#: The upstream-controlled ignore file, at the root of the upstream tree.
IGNORE_FILE = ".gitsliceignore"


def decode_path(raw: bytes) -> str:
    """A git path as text; bytes that are not UTF-8 survive as surrogates (PEP 383)."""
    return raw.decode("utf-8", "surrogateescape")


# No slots: the compiled spec and the directory answers are cached on the instance.
@dataclasses.dataclass(frozen=True, kw_only=True)
class IgnoreRules:
    """The exclusion rules in force for one upstream tree."""

    patterns: tuple[str, ...] = ()
    ignore_file: str = ""
    folders: tuple[str, ...] = ()
    _dirs: dict[str, bool] = dataclasses.field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @classmethod
    def for_tree(
        cls,
        repo: pygit2.Repository,
        tree: pygit2.Tree,
        *,
        patterns: tuple[str, ...] = (),
        folders: tuple[str, ...] = (),
    ) -> IgnoreRules:
        """The rules of ``tree``: ``patterns`` plus its own ``.gitsliceignore``, if any."""
        text = ""
        for entry in tree:
            if entry.raw_name == IGNORE_FILE.encode() and entry.type_str == "blob":
                text = repo[entry.id].peel(pygit2.Blob).data.decode("utf-8", "replace")
                break
        return cls(
            patterns=patterns,
            ignore_file=text,
            folders=tuple(folder.strip("/") for folder in folders if folder.strip("/")),
        )

    @functools.cached_property
    def digest(self) -> str:
        """Identifies the rules: equal digests slice every tree the same way."""
        data = "\0".join(
            ["v1", *self.patterns, "\1", self.ignore_file, "\1", *self.folders]
        )
        return hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    @functools.cached_property
    def _spec(self) -> pathspec.GitIgnoreSpec:
        lines = [*self.patterns, *self.ignore_file.splitlines()]
        return pathspec.GitIgnoreSpec.from_lines(line for line in lines if line.strip())

    def dir_excluded(self, path: str) -> bool:
        """True when directory ``path`` (no trailing slash) and all below it are left out."""
        known = self._dirs.get(path)
        if known is None:
            known = self._dirs[path] = self._dir_excluded(path)
        return known

    def _dir_excluded(self, path: str) -> bool:
        parent, _, _ = path.rpartition("/")
        if parent and self.dir_excluded(parent):
            return True
        if self.folders and not any(
            path == folder or path.startswith(folder + "/") or folder.startswith(path + "/")
            for folder in self.folders
        ):
            return True
        return bool(self._spec.match_file(path + "/"))

    def excluded(self, path: str) -> bool:
        """True when the file (or symlink, or submodule) at ``path`` is left out."""
        parent, _, _ = path.rpartition("/")
        if parent and self.dir_excluded(parent):
            return True
        if self.folders and not any(path.startswith(folder + "/") for folder in self.folders):
            return True
        return bool(self._spec.match_file(path))

    def upstream_only(self, path: str) -> bool:
        """True when a slice may not change ``path``: it is ignored, or it is the ignore file."""
        return path == IGNORE_FILE or self.excluded(path)
