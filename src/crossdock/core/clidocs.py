"""``docs/reference/cli.md``, written from the commands themselves.

Run ``python -m crossdock.core.clidocs docs/reference/cli.md`` after changing a command; a
test fails while the committed file differs from what this writes. Every installed service's
commands are included, so the file is made with every service installed.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from crossdock.core.clihelp import (
    default_text,
    describe_range,
    example_lines,
    usage_name,
    value_word,
)

#: The command that rewrites the reference, as a contributor types it in the repository.
REGENERATE = "uv run python -m crossdock.core.clidocs docs/reference/cli.md"

_HIDDEN_OPTIONS = {"help", "install_completion", "show_completion"}

_INTRO = f"""\
# CLI reference

<!-- Written by `{REGENERATE}` from the commands themselves: edit the commands, not this file. -->

`crossdock --help` lists every command, and `crossdock COMMAND --help` shows what this page
shows for one command. Every option can also be set by the environment variable named beside
it; a setting in `crossdock.toml` is overridden by the variable, and both by the option.

Exit codes: 0 success; 1 a failed operation (for example `crossdock db check` with pending
migrations); 2 a problem with what was given: an unknown option, an invalid value or setting,
an unreachable database, a port in use. Each error is one line on stderr; `--debug` (or
`CROSSDOCK_DEBUG=1`) adds the traceback. An error that says crossdock hit a bug is one: please
report it with the output of `--debug`.
"""


def reference(root: Any | None = None) -> str:
    """The whole reference page, every command in the order ``--help`` lists them."""
    if root is None:
        from crossdock.core.cli import app

        root = typer.main.get_command(app)
    context = typer.Context(root, info_name="crossdock")
    sections = [_INTRO]
    sections.extend(_section(command, ctx) for command, ctx in _walk(root, context))
    return "\n".join(sections)


def _walk(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    yield command, ctx
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(sub, typer.Context(sub, info_name=name, parent=ctx))


def _section(command: Any, ctx: Any) -> str:
    lines = [f"## `{ctx.command_path}`", ""]
    help_text = _plain(command.help or command.short_help or "")
    if help_text:
        lines += [help_text, ""]
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines += ["```", usage, "```", ""]
    params = [p for p in command.get_params(ctx) if p.name not in _HIDDEN_OPTIONS]
    if params:
        lines += ["| argument or option | value | environment variable | default | meaning |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [_row(param) for param in params]
        lines.append("")
    subcommands = list(getattr(command, "list_commands", lambda _: [])(ctx))
    if subcommands:
        names = ", ".join(f"`{ctx.command_path} {name}`" for name in subcommands)
        lines += [f"Commands: {names}.", ""]
    examples = example_lines(command.epilog)
    if examples:
        lines += ["Examples:", "", "```console", *(f"$ {line}" for line in examples), "```", ""]
    return "\n".join(lines)


def _row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{usage_name(param)}`"
        word = value_word(param)
        value = f"`{word}`" if word != "TEXT" else ""
    else:
        name = " / ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
        value = f"`{param.metavar}`" if param.metavar else ""
    bounds = describe_range(getattr(param, "min", None), getattr(param, "max", None))
    value += f" ({bounds})" if bounds else ""
    envvar = param.envvar if isinstance(param.envvar, (list, tuple)) else [param.envvar]
    env = ", ".join(f"`{name}`" for name in envvar if name)
    default = default_text(param)
    meaning = _plain(param.help or "")
    meaning = " ".join(part for part in (meaning, "Required." if param.required else "") if part)
    cells = [name, value, env, f"`{default}`" if default else "", meaning]
    return "| " + " | ".join(" ".join(cell.split()).replace("|", "\\|") for cell in cells) + " |"


def _plain(text: str) -> str:
    """Help text as a person reads it: markup rendered, the part after ``\\f`` dropped."""
    text = inspect.cleandoc(text).partition("\f")[0].strip()
    return Text.from_markup(text).plain


def main(argv: list[str] | None = None) -> None:
    """Write the reference to the file named on the command line (stdout without one)."""
    args = sys.argv[1:] if argv is None else argv
    text = reference()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
