"""Which paths a slice leaves out: settings globs plus upstream's ``.gitsliceignore``.

Both are in gitignore syntax, settings first, so the upstream file can re-include with ``!``.
Every answer is git's for the same lines (:mod:`wildmatch` reads and matches them as git
does). Directories follow git's rule: once a directory is excluded nothing under it comes back,
which lets the slicer drop a whole subtree without reading it; ``dir/**`` excludes what is
inside ``dir`` but not ``dir`` itself, so a later ``!dir/file`` brings that file back. A slice
may also be limited to chosen folders; everything outside them is left out.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib

import pygit2

from crossdock.gitslice.wildmatch import Pattern, compile_patterns, pattern_lines

#: The upstream-controlled ignore file, at the root of the upstream tree.
IGNORE_FILE = ".gitsliceignore"


def decode_path(raw: bytes) -> str:
    """A git path as text; bytes that are not UTF-8 survive as surrogates (PEP 383)."""
    return raw.decode("utf-8", "surrogateescape")


#: Bumped when the same lines start to mean something else, so that a slice made under the old
#: meaning is sliced again in full at its next pull (v1 pruned ``dir/**``'s directory itself).
_RULES_VERSION = "v2"


# No slots: the compiled patterns and the directory answers are cached on the instance.
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
                text = decode_path(repo[entry.id].peel(pygit2.Blob).data)
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
            [_RULES_VERSION, *self.patterns, "\1", self.ignore_file, "\1", *self.folders]
        )
        return hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    @functools.cached_property
    def _patterns(self) -> tuple[Pattern, ...]:
        lines = [line for pattern in self.patterns
                 for line in pattern_lines(pattern.encode("utf-8", "surrogateescape"))]
        lines += pattern_lines(self.ignore_file.encode("utf-8", "surrogateescape"))
        return compile_patterns(lines)

    def _last_match(self, path: str, *, is_dir: bool) -> bool:
        """git's answer for ``path`` alone: the last pattern that matches it decides."""
        raw = path.encode("utf-8", "surrogateescape")
        name = raw.rpartition(b"/")[2]
        for pattern in reversed(self._patterns):
            if pattern.matches(raw, name, is_dir=is_dir):
                return not pattern.negative
        return False

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
        return self._last_match(path, is_dir=True)

    def excluded(self, path: str) -> bool:
        """True when the file (or symlink, or submodule) at ``path`` is left out.

        A submodule is matched as a file, as ``git ls-files --ignored`` matches it.
        """
        parent, _, _ = path.rpartition("/")
        if parent and self.dir_excluded(parent):
            return True
        if self.folders and not any(path.startswith(folder + "/") for folder in self.folders):
            return True
        return self._last_match(path, is_dir=False)

    def upstream_only(self, path: str) -> bool:
        """True when a slice may not change ``path``: it is ignored, or it is the ignore file."""
        return path == IGNORE_FILE or self.excluded(path)
