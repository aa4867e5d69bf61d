"""Stored credentials are references or ciphertext, never the token itself."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from crossdock.gitslice.config import ForgeConfig, SliceConfig, checked, github_repo
from crossdock.gitslice.credentials import SecretBox, Side, StoredCredential
from crossdock.gitslice.errors import SliceConfigError
from crossdock.gitslice.forge.github import AppAuth, TokenAuth
from crossdock.gitslice.forge.port import Permission


def test_a_value_is_stored_encrypted_and_read_back_with_the_same_key(tmp_path: Path) -> None:
    box = SecretBox.from_settings(None, tmp_path / "data", environ={})
    stored = box.store("ghp_secret_token_value")
    assert stored.startswith("fernet:")
    assert "ghp_secret_token_value" not in stored
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = SecretBox.from_settings(None, tmp_path / "data", environ={})
    assert again.reveal(stored, "the token") == "ghp_secret_token_value"
    other = SecretBox.from_settings(Fernet.generate_key().decode(), tmp_path, environ={})
    with pytest.raises(SliceConfigError, match="cannot be decrypted"):
        other.reveal(stored, "the token")


def test_an_env_reference_is_stored_as_is_and_read_when_used(tmp_path: Path) -> None:
    environ = {"CLIENT_TOKEN": "ghp_from_the_environment"}
    box = SecretBox.from_settings(None, tmp_path, environ=environ)
    assert box.store("env:CLIENT_TOKEN") == "env:CLIENT_TOKEN"
    assert not (tmp_path / "secret.key").exists()  # no key made when none is needed
    credential = StoredCredential(side=Side.UPSTREAM, kind="token", secret="env:CLIENT_TOKEN")
    assert box.auth(credential, "t") == TokenAuth(token="ghp_from_the_environment")
    environ.clear()
    with pytest.raises(SliceConfigError, match="CLIENT_TOKEN is not set"):
        box.reveal("env:CLIENT_TOKEN", "the upstream token")


def test_a_file_is_read_now_and_an_app_key_becomes_app_auth(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    box = SecretBox.from_settings(None, tmp_path, environ={})
    credential = StoredCredential(side=Side.SLICE, kind="app", secret=box.store(f"file:{pem}"),
                                  app_id=7, installation_id=9)
    auth = box.auth(credential, "k")
    assert isinstance(auth, AppAuth)
    assert (auth.app_id, auth.installation_id) == (7, 9)
    assert auth.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert "secret" not in repr(credential)
    assert "abc" not in repr(auth)
    with pytest.raises(SliceConfigError, match="cannot read"):
        box.store(f"file:{tmp_path / 'missing.pem'}")
    for bad in ("", "   ", "env:", "env:NOT-A-NAME"):
        with pytest.raises(SliceConfigError):
            box.store(bad)


def test_a_bad_service_key_is_refused_with_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SliceConfigError, match=r"Fernet\.generate_key"):
        SecretBox.from_settings("not-a-key", tmp_path)


def test_github_urls_name_their_repository() -> None:
    assert github_repo("https://github.com/acme/app.git") == "acme/app"
    assert github_repo("git@github.com:acme/app.git") == "acme/app"
    assert github_repo("https://gitlab.com/acme/app") is None
    assert github_repo("/tmp/app") is None


def _config(**forge: object) -> SliceConfig:
    values: dict[str, object] = {"upstream_repo": "acme/app", "slice_repo": "acme/app-slice"}
    values.update(forge)
    return SliceConfig(name="web", upstream_url="https://github.com/acme/app",
                       slice_url="https://github.com/acme/app-slice",
                       forge=ForgeConfig(**values))  # type: ignore[arg-type]


def test_a_forge_config_survives_its_row_and_bad_values_are_refused() -> None:
    config = _config(pr_labels=("client",), pr_draft=False,
                     command_permission=Permission.MAINTAIN)
    assert SliceConfig.from_row({**config.as_row(), "last_upstream_sha": None}) == config
    assert checked(config).forge == config.forge
    for bad, match in (({"upstream_repo": "acme"}, "owner/name"),
                       ({"slice_repo": "acme/app slice"}, "owner/name"),
                       ({"api_url": "ftp://x"}, "http"),
                       ({"kind": "gitea"}, "unknown forge"),
                       ({"pr_labels": ("",)}, "label")):
        with pytest.raises(SliceConfigError, match=match):
            checked(_config(**bad))
