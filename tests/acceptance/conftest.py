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
    """Run ``crossdock ARGS`` in ``tmp_path`` with ``env`` added to a clean environment."""

    def run(*args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CROSSDOCK_", "DATABASE_URL"))}
        full_env.update(env or {})
        return subprocess.run(
            [*CROSSDOCK, *args], cwd=tmp_path, env=full_env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )

    return run
