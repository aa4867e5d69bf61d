"""Every how-to runs as written: its shell blocks, in order, in a new folder, with the real CLI.

Each ```sh (or bash, shell) block of a guide runs, unless the line just before it says
``<!-- not run: the reason -->`` (a production host, a cluster, a command that serves until
stopped). One guide's blocks run in one shell, in order, in a fresh temporary folder, against a
fresh migrated database (``DATABASE_URL``), with the ``crossdock`` of this checkout first on
``PATH``. A command that exits non-zero, or a Python traceback anywhere in the output, fails
the guide, naming the line of the Markdown file.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOW_TOS = sorted((ROOT / "docs" / "how-to").glob("*.md"))
#: Guides besides docs/how-to whose shell blocks a reader is meant to run.
GUIDES = [ROOT / "README.md", ROOT / "docs" / "quickstart.md", ROOT / "docs" / "webhooks.md",
          ROOT / "docs" / "admin-graph.md", *HOW_TOS]
SHELLS = {"sh", "bash", "shell"}
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not run:(.*)-->\s*$")
TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    path: Path
    line: int  # of the block's first command, 1-based
    language: str
    commands: list[str]
    not_run: str | None  # the reason, when marked


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with the marker before each, if any."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    language = ""
    for number, line in enumerate(lines, start=1):
        fence = FENCE.match(line)
        if fence and start is None:
            start, language = number, fence[1]
        elif line.strip() == "```" and start is not None:
            before = next((prev for prev in reversed(lines[:start - 1]) if prev.strip()), "")
            marker = NOT_RUN.match(before.strip())
            found.append(Block(path=path, line=start + 1, language=language,
                               commands=lines[start:number - 1],
                               not_run=marker[1].strip() if marker else None))
            start = None
    return found


def runnable(path: Path) -> list[Block]:
    return [b for b in blocks(path) if b.language in SHELLS and b.not_run is None]


def script(path: Path) -> tuple[str, dict[int, int]]:
    """A bash script of the guide's runnable blocks, and each script line's Markdown line."""
    lines = ["set -eo pipefail",
             "trap 'echo \"doc-test: line $LINENO failed: $BASH_COMMAND\" >&2' ERR",
             # What a guide starts in the background (`serve &`) stops when it ends, as on
             # Ctrl-C: with SIGTERM, and the guide waits for it to shut down.
             ("trap 'status=$?; trap - ERR; set +e; kill $(jobs -p) 2>/dev/null; wait; "
              "exit $status' EXIT")]
    origin: dict[int, int] = {}
    for block in runnable(path):
        for offset, command in enumerate(block.commands):
            lines.append(command)
            origin[len(lines)] = block.line + offset
    return "\n".join(lines) + "\n", origin


def markdown_line(stderr: str, origin: dict[int, int]) -> str:
    failed = re.search(r"doc-test: line (\d+) failed: (.*)", stderr)
    if not failed:
        return "?"
    return f"{origin.get(int(failed[1]), '?')} ({failed[2]})"


def follow(path: Path, tmp_path: Path, database_url: str, *, timeout: float = 360) -> str | None:
    """Run the guide as a reader would; what went wrong, or None.

    The longest guide (docs/webhooks.md: receiving, then sending) runs some 40 commands, each
    a new process: about 4 minutes on 2 busy cores."""
    home = tmp_path / "home"
    home.mkdir()
    folder = tmp_path / "work"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CROSSDOCK_", "GIT_", "VIRTUAL_ENV"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "HOME": str(home),
        "DATABASE_URL": database_url,
        # A reader's git knows who they are; this one is new.
        "GIT_AUTHOR_NAME": "Reader", "GIT_AUTHOR_EMAIL": "reader@example.com",
        "GIT_COMMITTER_NAME": "Reader", "GIT_COMMITTER_EMAIL": "reader@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    text, origin = script(path)
    process = subprocess.Popen(["bash", "-c", text], cwd=folder, env=env, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        return (f"still ran after {timeout:.0f} s (a command that serves until stopped needs "
                f"`&` or a not-run marker):\n{stderr[-3000:]}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.returncode != 0:
        return (f"line {markdown_line(stderr, origin)} exited {process.returncode}:\n"
                f"{stderr[-3000:]}")
    if TRACEBACK in stdout + stderr:
        return f"printed a traceback:\n{(stdout + stderr)[-3000:]}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in GUIDES if runnable(p)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_guide_runs_as_written_in_a_new_folder(
        path: Path, tmp_path: Path, database_url: str) -> None:
    problem = follow(path, tmp_path, database_url)
    assert problem is None, f"{path.relative_to(ROOT)}: {problem}"


def guide(tmp_path: Path, *commands: str) -> Path:
    path = tmp_path / "guide.md"
    path.write_text("# A guide\n\n```sh\n" + "\n".join(commands) + "\n```\n", encoding="utf-8")
    return path


def test_a_failing_command_fails_the_guide_naming_its_line(tmp_path: Path) -> None:
    path = guide(tmp_path, "echo fine", "false", "echo never")
    problem = follow(path, tmp_path, "postgresql://unused")
    assert problem is not None
    assert problem.startswith("line 5 (false) exited 1")
    assert "never" not in problem


def test_a_traceback_fails_the_guide_even_when_the_command_exits_0(tmp_path: Path) -> None:
    path = guide(tmp_path, "echo 'Traceback (most recent call last):' >&2")
    problem = follow(path, tmp_path, "postgresql://unused")
    assert problem is not None
    assert problem.startswith("printed a traceback")


def test_a_server_started_in_the_background_is_stopped_when_the_guide_ends(
        tmp_path: Path) -> None:
    # A guide's server is waited for before the guide goes on (a readiness poll); here a
    # moment stands in for it: the guide's SIGTERM, sent before the shell's child has become
    # `sleep`, can be lost, and the guide then waits for it (seen once in CI).
    path = guide(tmp_path, "sleep 600 &", "sleep 0.5", "echo started")
    assert follow(path, tmp_path, "postgresql://unused", timeout=30) is None


def test_a_command_that_never_returns_fails_the_guide(tmp_path: Path) -> None:
    path = guide(tmp_path, "sleep 600")
    problem = follow(path, tmp_path, "postgresql://unused", timeout=2)
    assert problem is not None
    assert problem.startswith("still ran after 2 s")


def test_every_how_to_has_commands_a_test_runs() -> None:
    assert HOW_TOS
    for path in HOW_TOS:
        assert runnable(path), f"{path.relative_to(ROOT)} has no block this test runs"


def test_a_block_left_out_says_why() -> None:
    for path in GUIDES:
        for block in blocks(path):
            if block.not_run is not None:
                assert block.not_run, f"{path.relative_to(ROOT)}:{block.line}: no reason"


def test_blocks_are_read_with_their_markers(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("# Guide\n\n```sh\necho one\n```\n\n<!-- not run: serves forever -->\n"
                     "```sh\ncrossdock up\n```\n\n```graphql\n{ a }\n```\n", encoding="utf-8")
    found = blocks(guide)
    assert [(b.line, b.language, b.commands, b.not_run) for b in found] == [
        (4, "sh", ["echo one"], None),
        (9, "sh", ["crossdock up"], "serves forever"),
        (13, "graphql", ["{ a }"], None),
    ]
    assert runnable(guide) == found[:1]


def tracked(*suffixes: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    return [ROOT / name for name in listed if name.endswith(suffixes) and (ROOT / name).is_file()]


def test_every_link_of_the_docs_leads_to_a_file_of_the_repository() -> None:
    broken = []
    for path in tracked(".md"):
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (path.parent / target.split("#")[0]).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


def test_nothing_refers_to_files_a_clone_does_not_have() -> None:
    outside = re.compile(r"\b(STYLE|DESIGN)\.md\b|\.\./shared\b|/work/shared")
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in tracked(".md", ".toml", ".py", ".yaml", ".tpl", ".sql", ".sh", "run")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if outside.search(line) and path != Path(__file__)]
    assert found == []
