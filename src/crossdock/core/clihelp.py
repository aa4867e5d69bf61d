"""How a command's ``--help`` reads: the examples every command shows.

Every command ends its help with at least one example, written once with :func:`examples`
and passed as the command's ``epilog``::

    @app.command(epilog=examples("crossdock db upgrade"))

The same text feeds ``docs/reference/cli.md``, where :func:`example_lines` finds the commands
again.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperArgument, TyperOption

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


# Each value's kind, as a person reads it in ``--help`` and in the reference.
_WORDS: dict[object, str] = {
    str: "TEXT", int: "INTEGER", float: "NUMBER", bool: "BOOLEAN", Path: "PATH",
    dt.datetime: "DATETIME",
}


def value_word(param: Any) -> str:
    """What a parameter takes, in words: ``TEXT``, ``INTEGER``, ``PATH``, ``[a|b]``."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None:  # a plain click parameter
        return str(param.type.name).upper()
    if descriptor.is_choice:
        return "[" + "|".join(_choice(c) for c in descriptor.choices or ()) + "]"
    annotation = _unwrap(descriptor.annotation)
    if descriptor.is_path:
        return "FILE" if descriptor.path_type == "file" else "PATH"
    return _WORDS.get(annotation, getattr(annotation, "__name__", "VALUE").upper())


def _unwrap(annotation: Any) -> Any:
    """The element of ``list[X]``, ``X | None`` and their mixes."""
    while True:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        origin = typing.get_origin(annotation)
        if origin in (list, tuple, types.UnionType, typing.Union) and args:
            annotation = args[0]
            continue
        return annotation


def _choice(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def usage_name(param: Any) -> str:
    """How an argument appears in a Usage line: ``NAME``, ``[NAME]``, ``NAME...``."""
    name = param.metavar or param.name.upper()
    name = name if param.required else f"[{name}]"
    return f"{name}..." if param.nargs != 1 else name


class _Argument(TyperArgument):
    """An argument shown as ``NAME`` (not ``{name}``), its kind only when it is not text."""

    def _usage_display_name(self) -> str:
        return usage_name(self)

    def display_type_rich(self, ctx: Any) -> str | None:  # noqa: ARG002 - typer's signature
        word = value_word(self)
        return None if word == "TEXT" else word

    def _get_number_range_help_str(self) -> str | None:
        return describe_range(getattr(self, "min", None), getattr(self, "max", None))


def describe_range(low: float | None, high: float | None) -> str | None:
    """A number option's bounds in words: ``0 to 65535``, ``at least 1``, ``at most 10``."""
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    if high is not None:
        return f"at most {high}"
    return None


def default_text(param: Any) -> str | None:
    """The default a parameter shows, or None: a ``show_default`` text as it is written."""
    if isinstance(param.show_default, str):
        return param.show_default
    if not param.show_default or param.default is None or param.required:
        return None
    if getattr(param, "is_flag", False):
        if not param.default:
            return None
        return param.opts[0].lstrip("-") if param.secondary_opts else "on"
    if isinstance(param.default, (list, tuple)):
        return ", ".join(_choice(v) for v in param.default) or None
    return _choice(param.default)


class _Option(TyperOption):
    """An option whose default and bounds read the same way everywhere."""

    def _get_default_string(self, *, ctx: Any, show_default_is_str: bool,
                            default_value: Any) -> str:
        if show_default_is_str:  # typer would put it in parentheses
            return str(self.show_default)
        return super()._get_default_string(ctx=ctx, show_default_is_str=show_default_is_str,
                                           default_value=default_value)

    def _get_number_range_help_str(self) -> str | None:
        if self.count:
            return None
        return describe_range(self.min, self.max)


def humanize(command: Any) -> Any:
    """Make the help of ``command`` and every command under it read as a person reads it.

    Typer shows Python types (``<bool>``, ``<list[str]>``) and ``{name}`` for an argument;
    this gives every parameter a metavar in words, no kind at all for a flag, and marks an
    option that may be repeated. Parameters with a metavar of their own keep it.
    """
    humanize_params(command.params)
    # The --help option is made on first use; make it now, so it is shown as a flag too.
    context = typer.Context(command, info_name=command.name, **command.context_settings)
    help_option = command.get_help_option(context)
    if help_option is not None:
        humanize_params([help_option])
    for sub in getattr(command, "commands", {}).values():
        humanize(sub)
    return command


def humanize_params(params: list[Any]) -> None:
    """Give each parameter of a command a metavar in words (see :func:`humanize`)."""
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument
            if param.metavar is None:
                param.metavar = param.name.upper()
        elif isinstance(param, TyperOption) and not isinstance(param, _Option):
            param.__class__ = _Option
            if param.metavar is None:
                param.metavar = "" if param.is_flag else value_word(param)
            if param.multiple and "repeat" not in (param.help or ""):
                param.help = f"{param.help or ''} Repeatable.".strip()
