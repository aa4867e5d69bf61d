"""Ignore rules: crossdock's matcher against git itself and against the ``pathspec`` library.

    uv run --group bench python bench/gitslice/ignore_rules.py [--repo PATH] [--rounds 5]

For each of several ignore files, on every path of a real repository (``git ls-files`` of
``--repo``, this repository by default) plus the tree of git-slice-tools' ignore fixture under
a few folders, it asks three judges which paths are ignored:

- git: ``git ls-files --ignored --cached --exclude-from=FILE`` (the referee);
- crossdock: :class:`crossdock.gitslice.ignore.IgnoreRules` (a fresh instance per round, so no
  directory answer is cached between rounds);
- pathspec: ``GitIgnoreSpec`` with the same directory pruning (what crossdock used before).

It prints, per ignore file, the paths on which each judge disagrees with git, and the time per
path of crossdock and pathspec (the best of ``--rounds``), with their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pathspec

from crossdock.gitslice.ignore import IgnoreRules

#: Ignore files of the kinds slices use: folders, suffixes, re-includes, deep globs.
IGNORE_FILES = {
    "folders": "docs/\n/bench/\ndeploy/\n",
    "suffixes": "*.md\n*.sql\n!README.md\n*.yaml\n",
    "reinclude": "src/**\n!src/crossdock/core/**\n!src/crossdock/core/\n",
    "deep": "**/tests/**\n!**/tests/unit/**\n**/__init__.py\n",
    "fixture": "ignore-dir-1\nignore-sub-dir-1\nignore-dir-2/**\n"
               "!ignore-dir-2/ignore-dir-2-keep-file.md\n**/ignore-sub-dir-2/**\n"
               "!**/ignore-sub-dir-2/ignore-sub-dir-2-keep-file.md\nignore-file.md\n",
    "brackets": "*.[ch]\n[Dd]ocs/\n**/[a-m]*.py\n!**/[!b]*s.py\n",
}


#: The files of git-slice-tools' ignore fixture (an upstream tree its own test slices).
FIXTURE = [
    ".gitsliceignore", "ignore-file.md", "file-1.md",
    "ignore-dir-1/file-1.md", "ignore-dir-1/file-2.md",
    "ignore-dir-2/file-1.md", "ignore-dir-2/file-2.md", "ignore-dir-2/ignore-dir-2-keep-file.md",
    "dir-1/ignore-sub-dir-1/file-1.md", "dir-1/ignore-sub-dir-1/file-2.md", "dir-1/file-1.md",
    "dir-2/ignore-sub-dir-2/file-1.md", "dir-2/ignore-sub-dir-2/file-2.md",
    "dir-2/ignore-sub-dir-2/ignore-sub-dir-2-keep-file.md", "dir-2/file-1.md",
]


def scratch_index(root: Path, paths: list[str]) -> None:
    """A repository at ``root`` whose index holds ``paths`` (empty blobs)."""
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=root, input=b"",
                          capture_output=True, check=True).stdout.decode().strip()
    listing = b"".join(f"100644 {blob}\t{path}".encode() + b"\0" for path in paths)
    subprocess.run(["git", "update-index", "-z", "--add", "--index-info"], cwd=root,
                   input=listing, check=True)


def git_ignored(repo: Path, text: str) -> set[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".ignore") as rules:
        rules.write(text)
        rules.flush()
        out = subprocess.run(
            ["git", "-c", "core.quotePath=false", "ls-files", "-z", "--ignored", "--cached",
             f"--exclude-from={rules.name}"],
            cwd=repo, capture_output=True, check=True,
        ).stdout
    return {p.decode() for p in out.split(b"\0") if p}


def pathspec_judge(text: str) -> Callable[[str], bool]:
    spec = pathspec.GitIgnoreSpec.from_lines(line for line in text.splitlines() if line.strip())
    dirs: dict[str, bool] = {}

    def dir_excluded(path: str) -> bool:
        if path not in dirs:
            parent = path.rpartition("/")[0]
            dirs[path] = bool(parent and dir_excluded(parent)) or spec.match_file(path + "/")
        return dirs[path]

    def excluded(path: str) -> bool:
        parent = path.rpartition("/")[0]
        return bool(parent and dir_excluded(parent)) or spec.match_file(path)

    return excluded


def best_time(make: Callable[[], Callable[[str], bool]], paths: list[str], rounds: int
              ) -> tuple[float, set[str]]:
    best = float("inf")
    found: set[str] = set()
    for _ in range(rounds):
        judge = make()
        start = time.perf_counter()
        found = {path for path in paths if judge(path)}
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    paths = subprocess.run(["git", "-c", "core.quotePath=false", "ls-files", "-z"],
                           cwd=args.repo, capture_output=True, check=True
                           ).stdout.decode().split("\0")
    paths = [p for p in paths if p]
    paths += [f"{folder}{path}" for folder in ("", "web/", "packages/a/") for path in FIXTURE]
    print(f"{len(paths)} paths: {args.repo} and the fixture tree")
    print(f"{'ignore file':<10} {'git':>6} {'ours !=':>8} {'pathspec !=':>12} "
          f"{'ours us/path':>13} {'pathspec us/path':>17} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as folder:
        scratch_index(Path(folder), paths)
        for name, text in IGNORE_FILES.items():
            compare(name, git_ignored(Path(folder), text), text, paths, args.rounds)


def compare(name: str, expected: set[str], text: str, paths: list[str], rounds: int) -> None:
    """One row: how many paths each judge gets wrong, and what each costs per path."""
    ours_s, ours = best_time(lambda: IgnoreRules(ignore_file=text).excluded, paths, rounds)
    spec_s, theirs = best_time(lambda: pathspec_judge(text), paths, rounds)
    per = 1e6 / len(paths)
    print(f"{name:<10} {len(expected):>6} {len(ours ^ expected):>8} "
          f"{len(theirs ^ expected):>12} {ours_s * per:>13.2f} {spec_s * per:>17.2f} "
          f"{spec_s / ours_s:>6.2f}")


if __name__ == "__main__":
    main()
