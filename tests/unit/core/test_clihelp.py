"""Examples in ``--help``: written once, shown as typed, found again for the reference."""

from __future__ import annotations

import pytest
from rich.text import Text

from crossdock.core.clihelp import example_lines, examples


def test_examples_render_each_command_line_as_typed_even_with_brackets() -> None:
    epilog = examples("crossdock db upgrade", "crossdock webhooks replay --status [dead]")
    assert Text.from_markup(epilog).plain.splitlines() == [
        "Examples:",
        "$ crossdock db upgrade",
        "$ crossdock webhooks replay --status [dead]",
    ]


def test_example_lines_finds_the_command_lines_again() -> None:
    lines = ["crossdock up", "crossdock x --filter '[a]'"]
    assert example_lines(examples(*lines)) == lines
    assert example_lines("Some other epilog.") == []
    assert example_lines(None) == []


def test_examples_need_a_command() -> None:
    with pytest.raises(ValueError, match="at least one"):
        examples()
