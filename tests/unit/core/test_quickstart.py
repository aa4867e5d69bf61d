"""docs/quickstart.md shows the very lines ``crossdock up`` prints to try the demos."""

from __future__ import annotations

from pathlib import Path

from crossdock.core.services import Served
from crossdock.gateway.service import demo_note as gateway_note
from crossdock.webhooks.service import demo_note as webhooks_note

#: ``crossdock up``'s listeners on their default ports.
DEFAULTS = Served(urls={"webhooks": "http://127.0.0.1:8080",
                        "gateway": "http://127.0.0.1:4000"})


def test_the_quickstart_has_the_signed_delivery_and_the_query_that_up_prints(
    repo_root: Path,
) -> None:
    doc = repo_root.joinpath("docs", "quickstart.md").read_text(encoding="utf-8")
    commands = [line.strip() for note in (webhooks_note, gateway_note)
                for line in note(DEFAULTS) if "curl " in line]
    assert len(commands) == 2
    for command in commands:
        assert command in doc.splitlines()
