"""``crossdock webhooks`` in a subprocess: sources, deliveries as JSON, replay, clear errors."""

from __future__ import annotations

import json

import psycopg

from tests.acceptance.conftest import Run


def test_sources_deliveries_show_and_replay_through_the_cli(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    added = crossdock("webhooks", "source", "add", "gh-main", "--provider", "github",
                      "--secret", "env:GH_SECRET", "--secret", "s3cret-literal", env=env)
    assert added.returncode == 0, added.stderr
    listed = crossdock("webhooks", "source", "list", "--json", env=env)
    sources = json.loads(listed.stdout)
    assert [(s["name"], s["provider"], s["secrets"]) for s in sources] == [
        ("gh-main", "github", ["env:GH_SECRET", "literal:***"])]
    assert "s3cret-literal" not in listed.stdout

    again = crossdock("webhooks", "source", "add", "gh-main", "--provider", "github",
                      "--secret", "x", env=env)
    assert again.returncode == 1
    assert "exists already" in again.stderr

    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
            "event_type, status, body, last_error, tries) VALUES "
            "('gh-main', 'github', 'd-1', 'push', 'dead', '{}', 'boom', 8)")
    dead = json.loads(crossdock("webhooks", "deliveries", "--status", "dead", "--json",
                                env=env).stdout)
    assert [(d["provider_delivery_id"], d["status"], d["last_error"]) for d in dead] == [
        ("d-1", "dead", "boom")]
    replayed = crossdock("webhooks", "replay", str(dead[0]["id"]), "--json", env=env)
    assert json.loads(replayed.stdout) == {"replayed": [dead[0]["id"]]}
    shown = json.loads(crossdock("webhooks", "show", str(dead[0]["id"]), env=env).stdout)
    assert (shown["status"], shown["tries"], shown["attempts"]) == ("received", 0, [])

    missing = crossdock("webhooks", "replay", "999999", env=env)
    assert missing.returncode == 1
    assert "no delivery with id 999999" in missing.stderr
