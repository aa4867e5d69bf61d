"""GitSlice benchmark: crossdock's history slice against git filter-repo and git-slice-tools.

    uv run --group bench python bench/gitslice/run.py [--commits 20000] [--files 20000]
        [--sizes 2000,20000] [--repo PATH [--repo-ignore GLOB]...]

Measures, in one run and on the same machine:
- the initial history slice (3 ignore globs) with ``crossdock slice pull`` (fetch, slice,
  push, commit map) against ``git filter-repo`` with the same paths on a fresh clone;
- incremental pulls of 1 and of 100 new upstream commits;
- the git-slice-tools approach (a checkout of each repository, copy the tree over, compare,
  commit, push) for the same pulls;
- the 1-commit pull at each of ``--sizes`` (it should stay flat as the repository grows).

After the initial slice it checks that crossdock's slice and filter-repo's result have the same
final tree. ``--repo`` runs the same on a copy of a real repository, with ``--repo-ignore``
globs (``/folder/`` or ``*.suffix``, which filter-repo is given as ``--path`` and
``--path-glob``).

Each crossdock run is split into phases (fetch, rewrite, push, map) with wall time and CPU time
(this process plus its git children), so a busy machine's noise can be told from real cost.

PostgreSQL: DATABASE_URL (a scratch database is created and dropped), else the embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import filecmp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pathspec
import psycopg

from crossdock.core.database import Database, connect
from crossdock.core.entry import database_url
from crossdock.core.logging import configure_logging
from crossdock.core.migrations import Migrator
from crossdock.core.services import components
from crossdock.core.settings import CoreSettings
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

IGNORES = ("*.secret", "internal/", "d00*/")
#: The same paths for filter-repo: in the generated repository those folders are at the root.
FILTER_PATHS = ("--path-glob", "*.secret", "--path", "internal/",
                *(arg for d in range(10) for arg in ("--path", f"d{d:03d}/")))
#: Ignores for ``--repo`` (``--repo-ignore`` replaces them): common kinds of paths a client
#: keeps out of a slice.
REPO_IGNORES = ("/docs/", "/examples/", "*.png")


def filter_repo_paths(ignores: tuple[str, ...]) -> tuple[str, ...]:
    """filter-repo's arguments for ignores of two forms: ``/folder/`` and ``*.suffix``."""
    args: list[str] = []
    for ignore in ignores:
        if ignore.startswith("/") and ignore.endswith("/") and "*" not in ignore:
            args += ["--path", ignore[1:]]
        elif ignore.startswith("*.") and "/" not in ignore:
            args += ["--path-glob", ignore]
        else:
            raise SystemExit(f"--repo-ignore {ignore!r}: use /folder/ or *.suffix, which "
                             "filter-repo can be given the same way")
    return tuple(args)
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@x",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@x"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True,
                          capture_output=True).stdout.decode().strip()


def _path(i: int) -> str:
    per_dir = 100
    d = i // per_dir
    if i % 50 == 7:
        return f"d{d:03d}/f{i:05d}.secret"
    if i % 97 == 3:
        return f"internal/i{i:05d}.md"
    return f"d{d:03d}/f{i:05d}.txt"


def generate(repo: Path, *, commits: int, files: int, start: int = 0,
             parent: str | None = None) -> None:
    """Append ``commits`` commits to ``repo``'s main with git fast-import (the first one of a
    fresh repository adds ``files`` files; the others change 1-3 files each)."""
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--force"], cwd=repo,
                            stdin=subprocess.PIPE, env=ENV)
    assert proc.stdin is not None
    out = proc.stdin
    when = 1_600_000_000 + start * 60
    for n in range(start, start + commits):
        out.write(b"commit refs/heads/main\n")
        out.write(f"committer Bench <bench@x> {when + (n - start) * 60} +0000\n".encode())
        message = f"commit {n}\n".encode()
        out.write(b"data %d\n%s" % (len(message), message))
        if n == start and parent is not None:
            out.write(f"from {parent}\n".encode())
        if n == 0:
            for i in range(files):
                data = f"file {i} v0\n".encode()
                out.write(f"M 100644 inline {_path(i)}\n".encode())
                out.write(b"data %d\n%s\n" % (len(data), data))
        else:
            for k in range(1 + n % 3):
                i = (n * 7919 + k * 104729) % files
                data = f"file {i} v{n}\n".encode()
                out.write(f"M 100644 inline {_path(i)}\n".encode())
                out.write(b"data %d\n%s\n" % (len(data), data))
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "main")


def make_upstream(folder: Path, commits: int, files: int) -> Path:
    repo = folder / "upstream.git"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--bare", "--initial-branch=main")
    generate(repo, commits=commits, files=files)
    return repo


def add_commits(upstream: Path, count: int, files: int) -> None:
    total = int(git(upstream, "rev-list", "--count", "main"))
    generate(upstream, commits=count, files=files, start=total, parent=head(upstream))


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    with database_url(CoreSettings.from_env()) as admin:
        name = f"crossdock_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        params = psycopg.conninfo.conninfo_to_dict(admin)
        params["dbname"] = name
        url = psycopg.conninfo.make_conninfo(**params)
        try:
            yield url
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate(url: str) -> None:
    conn = await connect(url)
    try:
        await Migrator(components()).upgrade(conn)
    finally:
        await conn.close()


class GitSliceToolsPeer:
    """git-slice-tools' pull: checkouts of both repositories, copy the upstream tree over the
    slice's (minus ignored files), compare, commit, push."""

    def __init__(self, folder: Path, upstream: Path, slice_repo: Path,
                 ignores: tuple[str, ...]) -> None:
        self.up = folder / "gst-upstream"
        self.sl = folder / "gst-slice"
        git(folder, "clone", "--quiet", str(upstream), str(self.up))
        git(folder, "clone", "--quiet", str(slice_repo), str(self.sl))
        self.spec = pathspec.GitIgnoreSpec.from_lines(ignores)

    def _files(self, root: Path) -> set[str]:
        found = set()
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            rel = os.path.relpath(dirpath, root)
            for name in filenames:
                found.add(name if rel == "." else f"{rel}/{name}")
        return found

    def pull(self) -> None:
        git(self.up, "pull", "--quiet", "--ff-only")
        upstream_files = {p for p in self._files(self.up) if not self.spec.match_file(p)}
        slice_files = self._files(self.sl)
        for path in slice_files - upstream_files:
            (self.sl / path).unlink()
        for path in upstream_files:
            source, target = self.up / path, self.sl / path
            if path in slice_files and filecmp.cmp(source, target, shallow=False):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        git(self.sl, "add", "-A")
        git(self.sl, "commit", "--quiet", "--allow-empty", "-m", f"git-slice:{head(self.up)}")
        git(self.sl, "push", "--quiet", "origin", "HEAD:refs/heads/gst")


#: The syncer's step descriptions, by first word, to the phase they start.
PHASES = {"fetching": "fetch", "finding": "rewrite", "slicing": "rewrite", "pushing": "push",
          "recording": "map"}


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (git)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class PhaseClock:
    """A syncer reporter that adds up wall and CPU seconds per phase."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._phase = "start"
        self._since = (time.perf_counter(), cpu_seconds())

    def step(self, description: str) -> None:
        self._close()
        self._phase = PHASES.get(description.partition(" ")[0], "other")

    def progress(self, done: int, total: int) -> None:
        pass

    def _close(self) -> None:
        now = (time.perf_counter(), cpu_seconds())
        self.wall[self._phase] = self.wall.get(self._phase, 0.0) + now[0] - self._since[0]
        self.cpu[self._phase] = self.cpu.get(self._phase, 0.0) + now[1] - self._since[1]
        self._since = now

    def stop(self) -> None:
        """End the last phase (call when the pull returns)."""
        self._close()
        self._phase = "after"

    def summary(self) -> str:
        return ", ".join(f"{phase} {self.wall[phase]:.2f} s (cpu {self.cpu[phase]:.2f})"
                         for phase in ("fetch", "rewrite", "push", "map") if phase in self.wall)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


async def _measure(database: Database, folder: Path, upstream: Path, slice_repo: Path,
                   results: dict[str, float], *, files: int, label: str, peers: bool,
                   ignores: tuple[str, ...], filter_paths: tuple[str, ...]) -> None:
    syncer = Syncer(SliceStore(database), data_dir=folder / "data")
    await syncer.init(SliceConfig(name="bench", upstream_url=str(upstream),
                                  slice_url=str(slice_repo), ignores=ignores))
    clock = PhaseClock()
    start, cpu = time.perf_counter(), cpu_seconds()
    outcome = await syncer.pull("bench", clock)
    clock.stop()
    results["initial"] = time.perf_counter() - start
    results["initial_cpu"] = cpu_seconds() - cpu
    print(f"[{label}] crossdock initial history slice: {outcome.commits} commits in "
          f"{results['initial']:.2f} s (cpu {results['initial_cpu']:.2f} s; {clock.summary()})")
    if peers:
        clone = folder / "filter-repo.git"
        clone_s, _ = timed(git, folder, "clone", "--quiet", "--bare", "--no-local",
                           str(upstream), str(clone))
        args = [sys.executable, "-m", "git_filter_repo", "--force", "--quiet",
                "--invert-paths", *filter_paths]
        cpu = cpu_seconds()
        filter_s, _ = timed(lambda: subprocess.run(args, cwd=clone, check=True, env=ENV,
                                                   capture_output=True))
        results["filter_repo"] = filter_s
        results["filter_repo_cpu"] = cpu_seconds() - cpu
        results["filter_repo_with_clone"] = filter_s + clone_s
        print(f"[{label}] git filter-repo: {filter_s:.2f} s (cpu {results['filter_repo_cpu']:.2f} "
              f"s; + clone {clone_s:.2f} s)")
        same = git(slice_repo, "rev-parse", "main^{tree}") == git(clone, "rev-parse", "main^{tree}")
        print(f"[{label}] same final tree as filter-repo's: {'yes' if same else 'NO'}")
        gst = GitSliceToolsPeer(folder, upstream, slice_repo, ignores)
    for count in (1, 100):
        samples = []
        gst_samples = []
        clocks = []
        for _ in range(3 if count == 1 else 1):
            add_commits(upstream, count, files)
            clocks.append(PhaseClock())
            start = time.perf_counter()
            outcome = await syncer.pull("bench", clocks[-1])
            clocks[-1].stop()
            samples.append(time.perf_counter() - start)
            assert outcome.commits == count, outcome
            if peers:
                gst_samples.append(timed(gst.pull)[0])
        results[f"pull_{count}"] = statistics.median(samples)
        pulled = results[f"pull_{count}"]
        median_clock = clocks[samples.index(pulled)] if pulled in samples else clocks[0]
        line = (f"[{label}] crossdock pull of {count} commit(s): {pulled:.3f} s "
                f"({median_clock.summary()})")
        if peers:
            results[f"gst_{count}"] = statistics.median(gst_samples)
            line += (f"; git-slice-tools approach: {results[f'gst_{count}']:.3f} s "
                     f"(x{results[f'gst_{count}'] / results[f'pull_{count}']:.1f})")
        print(line)


async def bench(folder: Path, upstream: Path, url: str, *, files: int, label: str,
                peers: bool, ignores: tuple[str, ...] = IGNORES,
                filter_paths: tuple[str, ...] = FILTER_PATHS) -> dict[str, float]:
    results: dict[str, float] = {}
    slice_repo = folder / "slice.git"
    slice_repo.mkdir()
    git(slice_repo, "init", "--quiet", "--bare", "--initial-branch=main")
    commits = int(git(upstream, "rev-list", "--count", "main"))
    database = Database(url, min_size=1, max_size=4)
    await database.open(within=120)  # a busy machine can be slow to hand out connections
    try:
        await _measure(database, folder, upstream, slice_repo, results, files=files,
                       label=label, peers=peers, ignores=ignores, filter_paths=filter_paths)
    finally:
        await database.close()
    print(f"[{label}] {commits} commits, {files} files")
    return results


async def main() -> None:
    configure_logging("warning", "console")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--sizes", default="2000,20000",
                        help="Repository sizes (commits = files) for the flatness check.")
    parser.add_argument("--repo", type=Path, help="Also run on a copy of this real repository.")
    parser.add_argument("--repo-ignore", action="append", metavar="GLOB",
                        help="An ignore for --repo, /folder/ or *.suffix (repeat it); "
                             f"default: {' '.join(REPO_IGNORES)}.")
    parser.add_argument("--keep", type=Path, help="Work here instead of a temporary folder.")
    options = parser.parse_args()
    base = options.keep or Path(tempfile.mkdtemp(prefix="gitslice-bench-"))
    try:
        with scratch_database() as url:
            await migrate(url)
            folder = base / "main"
            folder.mkdir(parents=True)
            print(f"generating {options.commits} commits, {options.files} files ...")
            gen_s, upstream = timed(make_upstream, folder, options.commits, options.files)
            print(f"generated in {gen_s:.1f} s")
            main_results = await bench(folder, upstream, url, files=options.files,
                                       label="generated", peers=True)
            initial = main_results["initial"]
            print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            print(f"ratio initial crossdock / filter-repo: "
                  f"{initial / main_results['filter_repo']:.2f} "
                  f"(with its clone: {initial / main_results['filter_repo_with_clone']:.2f}; "
                  f"cpu: {main_results['initial_cpu'] / main_results['filter_repo_cpu']:.2f})")
            flat = {}
            for size in [int(s) for s in options.sizes.split(",") if s]:
                if size == options.commits and size == options.files:
                    flat[size] = main_results["pull_1"]
                    continue
                sized = base / f"size-{size}"
                sized.mkdir()
                up = make_upstream(sized, size, size)
                with scratch_database() as sized_url:
                    await migrate(sized_url)
                    flat[size] = (await bench(sized, up, sized_url, files=size,
                                              label=f"size {size}", peers=False))["pull_1"]
            print("1-commit pull by repository size: " + ", ".join(
                f"{size}: {seconds:.3f} s" for size, seconds in sorted(flat.items())))
            if options.repo:
                real = base / "real"
                real.mkdir()
                git(real, "clone", "--quiet", "--bare", "--no-local", str(options.repo),
                    str(real / "upstream.git"))
                branch = git(real / "upstream.git", "symbolic-ref", "--short", "HEAD")
                if branch != "main":
                    git(real / "upstream.git", "branch", "-m", branch, "main")
                count = int(git(real / "upstream.git", "ls-tree", "-r", "--name-only",
                                "main").count("\n")) + 1
                with scratch_database() as real_url:
                    await migrate(real_url)
                    ignores = tuple(options.repo_ignore or REPO_IGNORES)
                    real_results = await bench(
                        real, real / "upstream.git", real_url, files=count, label="real repo",
                        peers=True, ignores=ignores, filter_paths=filter_repo_paths(ignores))
                print(f"ratio initial crossdock / filter-repo on the real repository: "
                      f"{real_results['initial'] / real_results['filter_repo']:.2f} (cpu: "
                      f"{real_results['initial_cpu'] / real_results['filter_repo_cpu']:.2f})")
    finally:
        if not options.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
