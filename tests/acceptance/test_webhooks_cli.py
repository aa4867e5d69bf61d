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
                      "--secret", "env:GH_SECRET", "--secret", "s3cret-literal-0123", env=env)
    assert added.returncode == 0, added.stderr
    listed = crossdock("webhooks", "source", "list", "--json", env=env)
    sources = json.loads(listed.stdout)
    assert [(s["name"], s["provider"], s["secrets"]) for s in sources] == [
        ("gh-main", "github", ["env:GH_SECRET", "literal:***"])]
    assert "s3cret-literal-0123" not in listed.stdout

    again = crossdock("webhooks", "source", "add", "gh-main", "--provider", "github",
                      "--secret", "another-secret-0123", env=env)
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


def test_a_secret_rotates_and_sources_and_routes_are_removed_through_the_cli(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github",
              "--secret", "old-secret-0123456", env=env)
    route = json.loads(crossdock("webhooks", "route", "add", "gh", "--handler", "log",
                                 "--json", env=env).stdout)

    added = crossdock("webhooks", "source", "update", "gh", "--add-secret", "env:NEW_SECRET",
                      "--retry-max-tries", "3", "--json", env=env)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["secrets"] == ["literal:***", "env:NEW_SECRET"]
    assert json.loads(added.stdout)["retry"]["max_tries"] == 3
    removed = crossdock("webhooks", "source", "update", "gh",
                        "--remove-secret", "old-secret-0123456", "--json", env=env)
    assert json.loads(removed.stdout)["secrets"] == ["env:NEW_SECRET"]

    last = crossdock("webhooks", "source", "update", "gh", "--remove-secret",
                     "env:NEW_SECRET", env=env)
    assert last.returncode == 1
    assert "no secret left" in last.stderr
    unknown = crossdock("webhooks", "source", "update", "gh", "--remove-secret", "nope",
                        env=env)
    assert unknown.returncode == 1
    assert "has no secret literal:*** with that value" in unknown.stderr
    assert "nope" not in unknown.stderr

    gone_route = crossdock("webhooks", "route", "remove", str(route["id"]), env=env)
    assert gone_route.returncode == 0, gone_route.stderr
    assert crossdock("webhooks", "route", "remove", str(route["id"]), env=env).returncode == 1
    gone = crossdock("webhooks", "source", "remove", "gh", "--json", env=env)
    assert json.loads(gone.stdout) == {"removed": "gh", "deliveries": 0}
    assert json.loads(crossdock("webhooks", "source", "list", "--json", env=env).stdout) == []


def test_prune_deletes_finished_deliveries_past_an_age(crossdock: Run, database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github",
              "--secret", "test-secret-0123456", env=env)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, status, "
            "body, received_at) VALUES ('gh', 'github', 'old', 'dead', '{}', "
            "now() - interval '3 days'), ('gh', 'github', 'waiting', 'failed', '{}', "
            "now() - interval '3 days')")
    off = crossdock("webhooks", "prune", env={**env, "CROSSDOCK_WEBHOOKS_RETENTION_DAYS": "0"})
    assert off.returncode == 1
    assert "retention is off" in off.stderr
    pruned = crossdock("webhooks", "prune", "--older-than-days", "2", "--json", env=env)
    assert json.loads(pruned.stdout) == {"pruned": 1, "older_than_days": 2.0}
    left = json.loads(crossdock("webhooks", "deliveries", "--json", env=env).stdout)
    assert [d["provider_delivery_id"] for d in left] == ["waiting"]

