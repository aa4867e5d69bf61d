"""``crossdock webhooks app|endpoint|event-type|send|attempts|resend|recover`` in a
subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg

from crossdock.core.secretbox import SecretBox
from tests.acceptance.conftest import Run


def _one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """The command refused its input with exit code 2, in one line, without a traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_a_message_is_published_to_the_endpoints_and_its_state_shown(
    crossdock: Run, database_url: str,
) -> None:
    env = {"DATABASE_URL": database_url}
    assert crossdock("webhooks", "app", "add", "acme", env=env).returncode == 0
    added = crossdock("webhooks", "endpoint", "add", "acme", "http://127.0.0.1:9/hook",
                      "--event-type", "invoice.paid", "--header", "X-Team: billing",
                      "--json", env=env)
    assert added.returncode == 0, added.stderr
    endpoint = json.loads(added.stdout)
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["headers"] == {"X-Team": "billing"}
    listed = crossdock("webhooks", "endpoint", "list", "acme", "--json", env=env)
    assert [e["id"] for e in json.loads(listed.stdout)] == [endpoint["id"]]
    assert endpoint["secret"] not in listed.stdout

    schema = '{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}'
    assert crossdock("webhooks", "event-type", "add", "invoice.paid", "--schema", schema,
                     env=env).returncode == 0
    sent = crossdock("webhooks", "send", "acme", "invoice.paid", "--data", '{"id": 7}',
                     "--key", "inv-7", "--json", env=env)
    assert sent.returncode == 0, sent.stderr
    message = json.loads(sent.stdout)
    assert (message["created"], message["destinations"]) == (True, 1)
    again = crossdock("webhooks", "send", "acme", "invoice.paid", "--data", '{"id": 7}',
                      "--key", "inv-7", env=env)
    assert "was sent already" in again.stdout
    _one_line(crossdock("webhooks", "app", "add", "acme", env=env), "exists already")

    shown = json.loads(crossdock("webhooks", "attempts", str(message["id"]), "--json",
                                 env=env).stdout)
    assert [(d["endpoint_id"], d["status"]) for d in shown["destinations"]] == [
        (endpoint["id"], "pending")]
    assert shown["attempts"] == []

    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE webhooks_out_destinations SET status = 'exhausted'")
    recovered = crossdock("webhooks", "recover", str(endpoint["id"]), "--since", "1h",
                          "--json", env=env)
    assert json.loads(recovered.stdout)["recovered"] == 1
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE webhooks_out_destinations SET status = 'succeeded'")
    resent = crossdock("webhooks", "resend", str(message["id"]), "--endpoint",
                       str(endpoint["id"]), env=env)
    assert resent.returncode == 0, resent.stderr
    assert f"queued message {message['id']} again for endpoint {endpoint['id']}" in resent.stdout
    nothing = crossdock("webhooks", "resend", str(message["id"]), "--json", env=env)
    assert json.loads(nothing.stdout) == {"resent": 0}
    _one_line(crossdock("webhooks", "resend", "999999", env=env), "no message with id 999999")

    rotated = json.loads(crossdock("webhooks", "endpoint", "rotate-secret", str(endpoint["id"]),
                                   "--json", env=env).stdout)
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    disabled = crossdock("webhooks", "endpoint", "update", str(endpoint["id"]), "--disable",
                         "maintenance", env=env)
    assert "disabled: maintenance" in disabled.stdout


def test_bad_input_is_one_line_and_exit_code_2(crossdock: Run, database_url: str) -> None:
    env = {"DATABASE_URL": database_url}
    crossdock("webhooks", "app", "add", "acme", env=env)
    crossdock("webhooks", "event-type", "add", "invoice.paid", "--schema",
              '{"type": "object", "required": ["id"]}', env=env)
    _one_line(crossdock("webhooks", "send", "acme", "invoice.paid", "--data", "{}", env=env),
              "$", "'id' is a required property")
    _one_line(crossdock("webhooks", "send", "acme", "nope", "--data", "{}", env=env),
              "no event type named 'nope'")
    _one_line(crossdock("webhooks", "send", "acme", "invoice.paid", "--data", "{not json",
                        env=env), "--data is not JSON")
    _one_line(crossdock("webhooks", "endpoint", "add", "acme", "ftp://example.com", env=env),
              "http:// or https://")
    _one_line(crossdock("webhooks", "event-type", "add", "t", "--schema", '{"type": 5}',
                        env=env), "invalid JSON Schema")
    _one_line(crossdock("webhooks", "attempts", "999", env=env), "no message with id 999")


def test_an_ed25519_endpoint_shows_only_its_public_key_and_event_types_in_use_stay(
    crossdock: Run, database_url: str, tmp_path: Path,
) -> None:
    from crossdock.webhooks.signatures import public_key

    env = {"DATABASE_URL": database_url}
    assert crossdock("webhooks", "app", "add", "acme", env=env).returncode == 0
    added = crossdock("webhooks", "endpoint", "add", "acme", "https://hooks.acme.example/h",
                      "--signing", "ed25519", "--event-type", "invoice.paid", env=env)
    assert added.returncode == 0, added.stderr
    assert "the receiver needs only this to verify v1a signatures" in added.stdout
    shown = added.stdout.split()[-1]
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT secret FROM webhooks_out_endpoints").fetchone()
    assert row is not None
    # Stored encrypted with the key file the commands made in their data folder.
    box = SecretBox.from_settings(None, tmp_path / "user-data" / "crossdock" / "webhooks",
                                  setting="CROSSDOCK_WEBHOOKS_SECRET_KEY")
    private_key = box.decrypt(row[0])
    assert private_key.startswith("whsk_")
    assert private_key not in row[0]
    assert shown == public_key(private_key)
    assert private_key not in added.stdout
    by_env = json.loads(crossdock("webhooks", "endpoint", "add", "acme", "https://x.example/h",
                                  "--json", env={**env, "CROSSDOCK_WEBHOOKS_SIGNING": "ed25519"}
                                  ).stdout)
    assert (by_env["signing"], by_env["secret"]) == ("ed25519", None)
    rotated = json.loads(crossdock("webhooks", "endpoint", "rotate-secret", str(by_env["id"]),
                                   "--signing", "hmac", "--json", env=env).stdout)
    assert (rotated["signing"], rotated["public_key"]) == ("hmac", None)
    assert rotated["secret"].startswith("whsec_")
    refused = crossdock("webhooks", "endpoint", "add", "acme", "https://x.example/h",
                        "--signing", "rsa", env=env)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr

    assert crossdock("webhooks", "event-type", "add", "invoice.paid", env=env).returncode == 0
    _one_line(crossdock("webhooks", "event-type", "remove", "invoice.paid", env=env),
              "still used by 1 endpoint(s) and 0 undelivered message(s)")
    assert crossdock("webhooks", "endpoint", "update", "1", "--every-event-type",
                     env=env).returncode == 0
    removed = crossdock("webhooks", "event-type", "remove", "invoice.paid", env=env)
    assert (removed.returncode, removed.stdout.strip()) == (0, "removed event type invoice.paid")
    _one_line(crossdock("webhooks", "event-type", "remove", "invoice.paid", env=env),
              "no event type named 'invoice.paid'")
