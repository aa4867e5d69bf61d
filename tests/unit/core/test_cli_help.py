"""``--help`` reads as a person reads it, the same way on every command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from crossdock.core.cli import app
from crossdock.core.clihelp import example_lines

# Typer's own spellings of a value's Python type, which a person should not have to read.
PYTHON_TYPES = re.compile(r"<(bool|str|int|float|path|file|list\[[^>]*\]|[a-z]+ range)>")


def _commands() -> Iterator[tuple[list[str], Any]]:
    root = typer.main.get_command(app)

    def walk(command: Any, path: list[str], ctx: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name in getattr(command, "list_commands", lambda _: [])(ctx):
            sub = command.get_command(ctx, name)
            yield from walk(sub, [*path, name], typer.Context(sub, info_name=name, parent=ctx))

    yield from walk(root, [], typer.Context(root, info_name="crossdock"))


COMMANDS = [path for path, _ in _commands()]


def _help(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crossdock")
def test_help_shows_values_in_words_and_arguments_in_capitals(path: list[str]) -> None:
    text = _help(path)
    assert not PYTHON_TYPES.search(text), text
    assert not re.search(r"x[<>]=|[<>]=x", text), text  # bounds read "0 to 65535", "at least 1"
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage


def test_a_repeatable_option_and_a_flag_read_as_such() -> None:
    text = _help(["worker"])
    assert re.search(r"--queue\s+TEXT\s+A queue to take jobs from\. Repeatable\.", text), text
    assert re.search(r"--help\s+Show this message", text), text
    plan = _help(["gateway", "plan"])
    assert "Usage: crossdock gateway plan [OPTIONS] QUERY" in plan
    assert re.search(r"--port\s+INTEGER \[0 to 65535\]", _help(["gateway", "serve"]))
    assert re.search(r"IDS\s+INTEGER \[at least 1\]", _help(["webhooks", "replay"]))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "crossdock")
def test_every_command_shows_an_example_and_defaults_one_way(
        path: list[str]) -> None:
    command = {tuple(p): c for p, c in _commands()}[tuple(path)]
    examples = example_lines(command.epilog)
    assert examples, f"crossdock {' '.join(path)} has no example"
    assert all(line.startswith("crossdock") for line in examples)
    assert "$ " + examples[0] in _help(path)
    for param in command.params:
        # A default is shown by "[default: ...]" alone, never again in the help text.
        assert "default" not in (param.help or "").lower(), param.help
        assert not re.search(r"\[[^\]]*\]\.?$", param.help or ""), param.help


def test_gateway_defaults_come_from_its_settings() -> None:
    text = _help(["gateway", "serve"])
    assert "[default: 127.0.0.1]" in text
    assert "[default: 4000]" in text
    assert "(4000)" not in text


def test_shell_completion_is_offered_once_for_crossdock_not_per_service() -> None:
    assert "--install-completion" in _help([])
    for service in ("gateway", "webhooks", "slice"):
        assert "--install-completion" not in _help([service])
