"""How a command's ``--help`` reads: the examples every command shows.

Every command ends its help with at least one example, written once with :func:`examples`
and passed as the command's ``epilog``::

    @app.command(epilog=examples("crossdock db upgrade"))

The same text feeds ``docs/reference/cli.md``, where :func:`example_lines` finds the commands
again.
"""

from __future__ import annotations

from rich.markup import escape

_HEADING = "Examples:"
_PROMPT = "$ "


def examples(*commands: str) -> str:
    """The epilog of a command's help: each command line as a person would type it."""
    if not commands:
        raise ValueError("examples() needs at least one command line")
    # Help text is rich markup: a literal "[...]" in a command line must not become a style.
    return "\n".join([_HEADING, *(escape(_PROMPT + command) for command in commands)])


def example_lines(epilog: str | None) -> list[str]:
    """The command lines of an epilog written by :func:`examples` (none for other text)."""
    lines = (epilog or "").splitlines()
    if not lines or lines[0] != _HEADING:
        return []
    return [line.removeprefix(_PROMPT).replace("\\[", "[") for line in lines[1:]]
