"""Whatever a person gives the ``crossdock`` command, an error is one line and an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crossdock import __version__
from tests.acceptance.conftest import Run

DEMO = Path(__file__).parents[2] / "src" / "crossdock" / "gateway" / "demo" / "supergraph.graphql"


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def test_a_malformed_database_url_is_one_line_naming_the_variable_not_the_password(
        crossdock: Run) -> None:
    result = crossdock("db", "current", env={"DATABASE_URL": "postgresql://u:my secret@h/db"})
    assert result.returncode == 2
    line = _one_line(result)
    assert line.startswith("error: DATABASE_URL: not a PostgreSQL connection URL")
    assert "secret" not in line


@pytest.mark.parametrize(("args", "env", "expected"), [
    (("db", "current"), {"CROSSDOCK_ADMIN_JWT_JWKS": "ldap://idp/keys"},
     "error: CROSSDOCK_ADMIN_JWT_JWKS: 'ldap://idp/keys' is not an http(s):// or file:// URL"),
    (("webhooks", "serve"), {"CROSSDOCK_ADMIN_JWT_JWKS": "https://idp/jwks.json",
                             "CROSSDOCK_ADMIN_JWT_ROLE_CLAIM": "my role"},
     "error: CROSSDOCK_ADMIN_JWT_ROLE_CLAIM: 'my role' is not a claim name"),
], ids=["jwks-scheme", "role-claim"])
def test_an_admin_jwt_setting_that_cannot_work_refuses_to_start(
        crossdock: Run, args: tuple[str, ...], env: dict[str, str], expected: str) -> None:
    result = crossdock(*args, env=env, timeout=30)
    assert result.returncode == 2
    assert _one_line(result).startswith(expected)


@pytest.mark.parametrize("args", [
    ("up", "--port", "70000"),
    ("gateway", "serve", "--supergraph", str(DEMO), "--port", "70000"),
    ("gateway", "--supergraph", str(DEMO), "--port", "-1"),
])
def test_a_port_out_of_range_is_refused_before_anything_starts(
        crossdock: Run, args: tuple[str, ...]) -> None:
    result = crossdock(*args, timeout=30)
    assert result.returncode == 2
    line = _one_line(result)
    assert "'--port'" in line
    assert "--help" in line


def test_a_port_out_of_range_in_a_setting_names_the_setting(crossdock: Run) -> None:
    result = crossdock("gateway", "serve", "--supergraph", str(DEMO),
                       env={"CROSSDOCK_GATEWAY_PORT": "65536"}, timeout=30)
    assert result.returncode == 2
    assert "CROSSDOCK_GATEWAY_PORT" in _one_line(result)


def test_a_missing_query_file_for_gateway_plan_names_the_file(crossdock: Run) -> None:
    result = crossdock("gateway", "plan", "--supergraph", str(DEMO), "nothere.graphql")
    assert result.returncode == 2
    line = _one_line(result)
    assert "nothere.graphql" in line
    assert "does not exist" in line


def test_a_negative_pool_size_names_the_setting(crossdock: Run) -> None:
    result = crossdock("db", "current", env={"CROSSDOCK_POOL_MAX_SIZE": "-3"})
    assert result.returncode == 2
    assert _one_line(result) == (
        "error: CROSSDOCK_POOL_MAX_SIZE: invalid value -3: expected at least 1")


def test_an_unknown_config_table_names_the_table(crossdock: Run, tmp_path: Path) -> None:
    (tmp_path / "crossdock.toml").write_text("[webhook]\nport = 8080\n", encoding="utf-8")
    result = crossdock("db", "current")
    assert result.returncode == 2
    line = _one_line(result)
    assert "crossdock.toml:1: unknown table [webhook]" in line
    assert "webhooks" in line


def test_an_invalid_log_level_is_refused(crossdock: Run) -> None:
    result = crossdock("db", "current", env={"CROSSDOCK_LOG_LEVEL": "chatty"})
    assert result.returncode == 2
    assert "CROSSDOCK_LOG_LEVEL" in _one_line(result)


def test_debug_adds_the_traceback_to_the_line(crossdock: Run) -> None:
    env = {"CROSSDOCK_POOL_MAX_SIZE": "-3"}
    for result in (crossdock("--debug", "db", "current", env=env),
                   crossdock("db", "current", env={**env, "CROSSDOCK_DEBUG": "1"})):
        assert result.returncode == 2
        assert "Traceback" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(
            "error: CROSSDOCK_POOL_MAX_SIZE")


def test_a_usage_error_is_one_line_pointing_at_help(crossdock: Run) -> None:
    result = crossdock("db", "upgrade", "--bogus")
    assert result.returncode == 2
    assert _one_line(result) == (
        "error: No such option: --bogus (see 'crossdock db upgrade --help')")


def test_an_unexpected_exception_is_one_line_saying_it_is_a_bug(tmp_path: Path) -> None:
    # A command that fails the way no input should make ours fail: through the real entry point.
    script = (
        "from crossdock.core.cli import app, main\n"
        "@app.command('explode')\n"
        "def explode() -> None:\n"
        "    raise KeyError('nobody expected this')\n"
        "main()\n"
    )
    quiet = subprocess.run([sys.executable, "-c", script, "explode"], capture_output=True,
                           text=True, timeout=60, check=False, cwd=tmp_path)
    assert quiet.returncode == 1
    line = _one_line(quiet)
    assert "crossdock hit a bug" in line
    assert "KeyError" in line
    assert "--debug" in line
    loud = subprocess.run([sys.executable, "-c", script, "--debug", "explode"],
                          capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr
    assert "in explode" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == (
        "error: crossdock hit a bug (KeyError: 'nobody expected this'); please report it")


def test_version_is_a_root_option(crossdock: Run) -> None:
    result = crossdock("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == __version__


def test_plan_without_a_supergraph_is_a_usage_error(crossdock: Run, tmp_path: Path) -> None:
    query = tmp_path / "q.graphql"
    query.write_text("{ __typename }", encoding="utf-8")
    result = crossdock("gateway", "plan", str(query))
    assert result.returncode == 2
    assert "--supergraph" in _one_line(result)


def test_a_query_file_that_is_not_text_is_one_line(crossdock: Run, tmp_path: Path) -> None:
    query = tmp_path / "q.graphql"
    query.write_bytes(b"\xff\xfe\x00garbage")
    result = crossdock("gateway", "plan", "--supergraph", str(DEMO), str(query))
    assert result.returncode == 2
    assert "cannot read the query file" in _one_line(result)
