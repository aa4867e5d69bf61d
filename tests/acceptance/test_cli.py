"""The ``crossdock`` command's core commands, good input and bad."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.acceptance.conftest import Run


def test_help_lists_every_command(crossdock: Run) -> None:
    result = crossdock("--help")
    assert result.returncode == 0
    for command in ("up", "worker", "db", "services", "version"):
        assert command in result.stdout


def test_every_option_shows_its_environment_variable(crossdock: Run) -> None:
    for command in (("up",), ("worker",)):
        result = crossdock(*command, "--help", env={"COLUMNS": "200"})
        assert result.returncode == 0
        assert "CROSSDOCK_" in result.stdout, result.stdout


def test_db_check_fails_until_upgrade_then_passes(crossdock: Run, empty_database_url: str) -> None:
    env = {"DATABASE_URL": empty_database_url}
    pending = crossdock("db", "check", env=env)
    assert pending.returncode == 1
    assert "pending: core/0001_procrastinate" in pending.stderr
    upgraded = crossdock("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied core/0002_events" in upgraded.stdout
    assert crossdock("db", "check", env=env).returncode == 0
    current = crossdock("db", "current", "--json", env=env)
    rows = json.loads(current.stdout)
    assert {row["state"] for row in rows} == {"applied"}
    assert {"component": "core", "version": 2, "name": "events", "state": "applied"} in rows


def test_an_unreachable_database_is_one_clear_line_and_exit_2(crossdock: Run) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = crossdock("db", "current",
                       env={"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}/x" in lines[0]
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_broken_config_file_names_the_file_and_line(crossdock: Run, tmp_path: Path) -> None:
    (tmp_path / "crossdock.toml").write_text('[core]\nlog_level = "info"\nbroken = = 1\n')
    result = crossdock("db", "current")
    assert result.returncode == 2
    assert "crossdock.toml" in result.stderr
    assert "line 3" in result.stderr


def test_an_unknown_config_key_names_the_key_and_line(crossdock: Run, tmp_path: Path) -> None:
    (tmp_path / "crossdock.toml").write_text('[core]\n\nlog_levle = "debug"\n')
    result = crossdock("db", "current")
    assert result.returncode == 2
    assert "crossdock.toml:3" in result.stderr
    assert "log_levle" in result.stderr


def test_an_invalid_variable_names_the_variable(crossdock: Run) -> None:
    result = crossdock("db", "current", env={"CROSSDOCK_POOL_MAX_SIZE": "lots"})
    assert result.returncode == 2
    assert "CROSSDOCK_POOL_MAX_SIZE" in result.stderr


def test_up_names_a_port_in_use_and_the_option(crossdock: Run, database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = crossdock("up", "--port", str(port), env={"DATABASE_URL": database_url})
    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "--port" in result.stderr


def test_a_usage_error_is_explained_without_a_traceback(crossdock: Run) -> None:
    result = crossdock("db", "--bogus")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_root_help_lists_services_without_importing_their_commands() -> None:
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from crossdock.core.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'], env={'COLUMNS': '200'})\n"
        "print(result.exit_code, [m for m in ('crossdock.gateway.cli', 'crossdock.webhooks.cli',"
        " 'crossdock.gitslice.cli') if m in sys.modules])\n"
        "print(result.output)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    first, _, rest = result.stdout.partition("\n")
    assert first == "0 []"
    for service in ("gateway", "webhooks", "slice"):
        assert service in rest
