"""``crossdock webhooks`` in a subprocess: sources, deliveries as JSON, replay, clear errors."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.acceptance.conftest import CROSSDOCK, Run

SECRET = "test-webhook-secret"


def _one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The command failed with ``code`` and said why in one line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def _insert(database_url: str, *rows: tuple[str, str]) -> None:
    """Deliveries of source ``gh``: (provider delivery id, status), in this order."""
    with psycopg.connect(database_url) as conn:
        for delivery_id, status in rows:
            body = None if status == "rejected" else "{}"
            reason = "bad_signature" if status == "rejected" else None
            conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
                "status, reason, body) VALUES ('gh', 'github', %s, %s, %s, %s)",
                (delivery_id, status, reason, body))


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
    gone = crossdock("webhooks", "source", "remove", "gh", "--yes", "--json", env=env)
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
    assert off.returncode == 2
    assert "retention is off" in off.stderr
    pruned = crossdock("webhooks", "prune", "--older-than-days", "2", "--json", env=env)
    assert json.loads(pruned.stdout) == {"pruned": 1, "messages": 0,
                                           "older_than_days": 2.0}
    left = json.loads(crossdock("webhooks", "deliveries", "--json", env=env).stdout)
    assert [d["provider_delivery_id"] for d in left] == ["waiting"]



def test_a_source_name_the_database_would_refuse_is_one_line_and_exit_2(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    result = crossdock("webhooks", "source", "add", "team/gh", "--provider", "github",
                       "--secret", SECRET, env=env)
    _one_line(result, 2, "invalid source name 'team/gh'")
    assert json.loads(crossdock("webhooks", "source", "list", "--json", env=env).stdout) == []


@pytest.mark.parametrize("args", [
    ("--retry-max-tries", "0"),
    ("--retry-max-tries", "-1"),
    ("--retry-base-seconds", "0"),
    ("--retry-base-seconds", "nan"),
    ("--retry-max-seconds", "1"),
    ("--max-body-bytes", "99999999999"),
])
def test_a_source_with_nonsensical_limits_is_refused_at_add(
    crossdock: Run, database_url: str, args: tuple[str, str]
) -> None:
    result = crossdock("webhooks", "source", "add", "gh", "--provider", "github",
                       "--secret", SECRET, *args, env={"DATABASE_URL": database_url})
    _one_line(result, 2, "error:")


@pytest.mark.parametrize(("provider", "secret", "words"), [
    ("github", "fifteen-bytes!!", "at least 16 bytes"),
    ("standard", "a-plain-secret-of-many-bytes", "whsec_"),
    ("github", "env:NOT A NAME", "environment variable"),
])
def test_a_secret_that_would_be_refused_later_is_a_usage_error_at_add(
    crossdock: Run, database_url: str, provider: str, secret: str, words: str
) -> None:
    """A secret too short, or not a Standard Webhooks key, is what the user typed: exit 2."""
    result = crossdock("webhooks", "source", "add", "gh", "--provider", provider,
                       "--secret", secret, env={"DATABASE_URL": database_url})
    _one_line(result, 2, words)


def test_route_add_refuses_a_handler_no_installed_service_registers(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github", "--secret", SECRET,
              env=env)
    result = crossdock("webhooks", "route", "add", "gh", "--handler", "slack", env=env)
    _one_line(result, 2, "no handler named 'slack'", "register bus, forward, log")
    assert json.loads(crossdock("webhooks", "route", "list", "gh", "--json",
                                env=env).stdout) == []


def test_per_invocation_options_are_not_read_from_the_environment(
    crossdock: Run, database_url: str
) -> None:
    """Exported variables that look like option names choose nothing a command acts on."""
    env = {"DATABASE_URL": database_url, "CROSSDOCK_WEBHOOKS_SECRET": SECRET,
           "CROSSDOCK_WEBHOOKS_PROVIDER": "github", "CROSSDOCK_WEBHOOKS_HANDLER": "log",
           "CROSSDOCK_WEBHOOKS_STATUS": "dead", "CROSSDOCK_WEBHOOKS_SOURCE": "other"}
    no_secret = crossdock("webhooks", "source", "add", "gh", "--provider", "github", env=env)
    assert no_secret.returncode == 2
    assert "Missing option '--secret'" in no_secret.stderr
    crossdock("webhooks", "source", "add", "gh", "--provider", "github", "--secret", SECRET,
              env=env)
    no_handler = crossdock("webhooks", "route", "add", "gh", env=env)
    assert no_handler.returncode == 2
    assert "Missing option '--handler'" in no_handler.stderr
    _insert(database_url, ("d-1", "received"))
    listed = json.loads(crossdock("webhooks", "deliveries", "--json", env=env).stdout)
    assert [d["provider_delivery_id"] for d in listed] == ["d-1"]


def test_deliveries_are_listed_newest_first_unless_asked_otherwise(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github", "--secret", SECRET,
              env=env)
    _insert(database_url, ("d-1", "processed"), ("d-2", "dead"), ("d-3", "received"))

    def listed(*args: str) -> list[str]:
        result = crossdock("webhooks", "deliveries", "--json", *args, env=env)
        return [d["provider_delivery_id"] for d in json.loads(result.stdout)]

    assert listed() == ["d-3", "d-2", "d-1"]
    assert listed("--limit", "2") == ["d-3", "d-2"]
    assert listed("--order", "oldest", "--limit", "2") == ["d-1", "d-2"]


def test_replay_of_a_delivery_it_will_not_replay_says_why(
    crossdock: Run, database_url: str
) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github", "--secret", SECRET,
              env=env)
    _insert(database_url, ("d-1", "dead"), ("forged", "rejected"))
    found = json.loads(crossdock("webhooks", "deliveries", "--json", env=env).stdout)
    ids = {d["provider_delivery_id"]: d["id"] for d in found}
    result = crossdock("webhooks", "replay", str(ids["d-1"]), str(ids["forged"]), env=env)
    _one_line(result, 1, f"delivery {ids['forged']} was rejected (bad_signature)",
              "nothing to replay")
    shown = json.loads(crossdock("webhooks", "show", str(ids["d-1"]), env=env).stdout)
    assert shown["status"] == "dead"  # nothing was replayed


def _on_a_terminal(args: list[str], answer: str, env: dict[str, str],
                   cwd: Path) -> tuple[int, str]:
    """Run crossdock with a terminal as stdin, answer its question, return (code, output)."""
    controller, terminal = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
    with subprocess.Popen([*CROSSDOCK, *args], stdin=terminal, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env={**full_env, **env}, cwd=cwd,
                          text=True) as process:
        os.close(terminal)
        os.write(controller, answer.encode())
        output, _ = process.communicate(timeout=60)
    os.close(controller)
    return process.returncode, output


def test_source_remove_asks_first_and_refuses_without_a_terminal_or_yes(
    crossdock: Run, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "source", "add", "gh", "--provider", "github", "--secret", SECRET,
              env=env)

    def sources() -> list[str]:
        listed = crossdock("webhooks", "source", "list", "--json", env=env).stdout
        return [s["name"] for s in json.loads(listed)]

    refused = crossdock("webhooks", "source", "remove", "gh", env=env)
    _one_line(refused, 2, "give --yes to confirm")
    assert sources() == ["gh"]

    code, output = _on_a_terminal(["webhooks", "source", "remove", "gh"], "n\n", env,
                                  tmp_path)
    assert (code, sources()) == (1, ["gh"]), output
    assert "Remove source 'gh'" in output
    code, output = _on_a_terminal(["webhooks", "source", "remove", "gh"], "y\n", env,
                                  tmp_path)
    assert (code, sources()) == (0, []), output
    assert "removed source gh" in output
