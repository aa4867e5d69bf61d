"""``crossdock webhooks endpoint add`` stores the signing secret encrypted, and ``endpoint
reencrypt`` moves every row to the newest key, in a subprocess."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from tests.acceptance.conftest import Run


def _secret(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT secret FROM webhooks_out_endpoints").fetchone()
    assert row is not None
    return str(row[0])


def _changed(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["changed"])


def test_an_added_secret_is_encrypted_and_reencrypt_follows_a_key_rotation(
    crossdock: Run, database_url: str, tmp_path: Path,
) -> None:
    env = {"DATABASE_URL": database_url}
    assert crossdock("webhooks", "app", "add", "acme", env=env).returncode == 0
    added = crossdock("webhooks", "endpoint", "add", "acme", "http://127.0.0.1:9/hook",
                      "--json", env=env)
    assert added.returncode == 0, added.stderr
    secret = json.loads(added.stdout)["secret"]
    stored = _secret(database_url)
    assert stored.startswith("fernet:")
    assert secret.removeprefix("whsec_") not in stored
    key_file = tmp_path / "user-data" / "crossdock" / "webhooks" / "secret.key"
    file_key = key_file.read_text().strip()
    reencrypt = ("webhooks", "endpoint", "reencrypt", "--json")
    assert _changed(crossdock(*reencrypt, env=env)) == 0  # already under the newest key

    new_key = Fernet.generate_key().decode()
    wrong = crossdock(*reencrypt[:-1], env={**env, "CROSSDOCK_WEBHOOKS_SECRET_KEY": new_key})
    assert wrong.returncode == 2, (wrong.stdout, wrong.stderr)
    assert wrong.stderr.count("\n") == 1, wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert "endpoint(s) 1 cannot be decrypted" in wrong.stderr
    assert "CROSSDOCK_WEBHOOKS_SECRET_KEY" in wrong.stderr
    assert _secret(database_url) == stored

    rotated = {**env, "CROSSDOCK_WEBHOOKS_SECRET_KEY": f"{new_key},{file_key}"}
    assert _changed(crossdock(*reencrypt, env=rotated)) == 1
    assert _changed(crossdock(*reencrypt, env=rotated)) == 0
    only_new = {**env, "CROSSDOCK_WEBHOOKS_SECRET_KEY": new_key}
    assert _changed(crossdock(*reencrypt, env=only_new)) == 0
    assert Fernet(new_key).decrypt(
        _secret(database_url).removeprefix("fernet:").encode()).decode() == secret

    with psycopg.connect(database_url) as conn:  # a row from before encryption
        conn.execute("UPDATE webhooks_out_endpoints SET secret = %s", (secret,))
    assert _changed(crossdock(*reencrypt, env=only_new)) == 1
    assert secret.removeprefix("whsec_") not in _secret(database_url)
