"""Acceptance tests drive the real ``crossdock`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

CROSSDOCK = [sys.executable, "-m", "crossdock"]

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def crossdock(tmp_path: Path) -> Run:
    """Run ``crossdock ARGS`` in ``tmp_path`` (or ``cwd``) with ``env`` added to a clean
    environment; the user's data folder is one under ``tmp_path`` unless ``env`` names one."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CROSSDOCK_", "DATABASE_URL"))}
        full_env["XDG_DATA_HOME"] = str(tmp_path / "user-data")
        full_env.update(env or {})
        return subprocess.run(
            [*CROSSDOCK, *args], cwd=cwd or tmp_path, env=full_env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )

    return run
