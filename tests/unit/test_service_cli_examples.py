"""Every ``crossdock webhooks`` and ``crossdock slice`` command's help ends with examples of
real commands and options."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer

from crossdock.core.clihelp import example_lines
from crossdock.gitslice.cli import app as slice_app
from crossdock.webhooks.cli import build_cli

SERVICES = {"webhooks": typer.main.get_command(build_cli()),
            "slice": typer.main.get_command(slice_app)}


def _is_group(command: Any) -> bool:
    # typer carries its own copy of click, so its groups are not click.Group instances.
    return hasattr(command, "commands")


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    if _is_group(command):
        for name, sub in command.commands.items():
            found += _commands(sub, (*path, name))
    return found


def _resolve(root: Any, words: list[str]) -> tuple[Any, list[str]]:
    """The command an example runs, and the words after its name."""
    command: Any = root
    while _is_group(command) and words and words[0] in command.commands:
        command, words = command.commands[words[0]], words[1:]
    return command, words


COMMANDS = [((service, *path), command) for service, root in SERVICES.items()
            for path, command in _commands(root)]


@pytest.mark.parametrize(("path", "command"), COMMANDS,
                         ids=[" ".join(path) for path, _ in COMMANDS])
def test_the_help_shows_examples_of_real_commands_and_options(
    path: tuple[str, ...], command: Any
) -> None:
    lines = example_lines(command.epilog)
    assert lines, f"crossdock {' '.join(path)} shows no example"
    for line in lines:
        words = shlex.split(line)
        assert words[:2] == ["crossdock", path[0]], line
        target, rest = _resolve(SERVICES[path[0]], words[2:])
        assert not _is_group(target), line
        assert words[1:1 + len(path)] == list(path), line
        options = {opt for param in target.params for opt in param.opts}
        for word in rest:
            if word.startswith("-"):
                assert word.partition("=")[0] in options, (line, word)
