"""``docs/reference/cli.md`` is what the commands say about themselves."""

from __future__ import annotations

from pathlib import Path

from crossdock.core.clidocs import REGENERATE, reference

COMMITTED = Path(__file__).parents[3] / "docs" / "reference" / "cli.md"


def test_the_committed_cli_reference_matches_the_commands() -> None:
    generated = reference()
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == generated, (
        f"docs/reference/cli.md is out of date with the commands; regenerate it with\n\n"
        f"    {REGENERATE}\n\nand commit the result."
    )


def test_the_reference_covers_every_command_with_its_options_and_variables() -> None:
    text = reference()
    for command in ("crossdock up", "crossdock worker", "crossdock db upgrade",
                    "crossdock gateway plan", "crossdock slice init", "crossdock slice reindex",
                    "crossdock webhooks source add", "crossdock webhooks replay"):
        assert f"## `{command}`" in text, command
    assert "`--operation-name` | `TEXT` | `CROSSDOCK_GATEWAY_OPERATION_NAME`" in text
    assert "| `--port` | `INTEGER` (0 to 65535) | `CROSSDOCK_PORT` | `8400` |" in text
    assert "$ crossdock db upgrade" in text
