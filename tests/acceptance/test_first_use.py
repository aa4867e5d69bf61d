"""A newcomer's first commands: the schema is made current or the command says how."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import Run
from tests.conftest import embedded_data_dir


@pytest.fixture
def user_data_home() -> Iterator[Path]:
    """A stand-in for the user's data folder (``XDG_DATA_HOME``), never the real one."""
    folder = embedded_data_dir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_commands_in_any_folder_share_one_migrated_embedded_database_per_user(
    crossdock: Run, tmp_path: Path, user_data_home: Path
) -> None:
    env = {"XDG_DATA_HOME": str(user_data_home)}
    first = tmp_path / "first"
    first.mkdir()
    added = crossdock("webhooks", "source", "add", "gh", "--provider", "github",
                      "--secret", "a-secret-of-16-bytes-or-more", env=env, cwd=first)
    assert added.returncode == 0, added.stderr
    pgdata = user_data_home / "crossdock" / "postgres"
    assert added.stderr.splitlines()[0] == f"crossdock: using the embedded PostgreSQL in {pgdata}"
    assert not (first / ".crossdock").exists()

    second = tmp_path / "second"
    second.mkdir()
    listed = crossdock("webhooks", "source", "list", "--json", env=env, cwd=second)
    assert listed.returncode == 0, listed.stderr
    assert [source["name"] for source in json.loads(listed.stdout)] == ["gh"]
    slices = crossdock("slice", "list", env=env, cwd=second)
    assert slices.returncode == 0, slices.stderr
    assert listed.stderr.count("using the embedded PostgreSQL") == 1


def test_a_command_on_an_unmigrated_database_url_names_the_migrations_and_exits_2(
    crossdock: Run, empty_database_url: str
) -> None:
    for command in (["webhooks", "source", "list"], ["slice", "list"], ["worker"]):
        result = crossdock(*command, env={"DATABASE_URL": empty_database_url})
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "core/0001_procrastinate" in lines[0]
        assert "crossdock db upgrade" in lines[0]


def test_auto_migrate_applies_the_migrations_on_a_database_url(
    crossdock: Run, empty_database_url: str
) -> None:
    env = {"DATABASE_URL": empty_database_url, "CROSSDOCK_AUTO_MIGRATE": "1"}
    result = crossdock("slice", "list", env=env)
    assert result.returncode == 0, result.stderr
    assert crossdock("db", "check", env=env).returncode == 0
