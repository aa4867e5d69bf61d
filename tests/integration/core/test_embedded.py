"""The embedded PostgreSQL's leftovers: what a killed process leaves is never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crossdock.core.embedded import forget_stale_state, is_our_postgres


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_dead_pids_are_dropped_from_the_list_of_users(tmp_path: Path) -> None:
    dead = _dead_pid()
    (tmp_path / ".handle_pids.json").write_text(json.dumps([dead, os.getpid()]))
    forget_stale_state(tmp_path)
    assert json.loads((tmp_path / ".handle_pids.json").read_text()) == [os.getpid()]


def test_a_postmaster_pid_of_a_process_that_is_not_this_postgres_is_removed(
    tmp_path: Path,
) -> None:
    # After a reboot the pid in postmaster.pid may be any process: here, this test's own.
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path}\n")
    assert not is_our_postgres(os.getpid(), tmp_path)
    forget_stale_state(tmp_path)
    assert not (tmp_path / "postmaster.pid").exists()


def test_a_postmaster_pid_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    (tmp_path / "postmaster.pid").write_text(f"{_dead_pid()}\n{tmp_path}\n")
    forget_stale_state(tmp_path)
    assert not (tmp_path / "postmaster.pid").exists()
