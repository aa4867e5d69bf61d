"""Secrets at rest: keys from a setting (several while rotating) or a key file made once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from crossdock.core.errors import ConfigError, SecretUndecryptable
from crossdock.core.secretbox import KEY_FILE, SecretBox
from crossdock.webhooks.outbound.store.keys import secret_box, use_secret_box

SETTING = "CROSSDOCK_EXAMPLE_SECRET_KEY"
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _box(keys: str | None, data_dir: Path) -> SecretBox:
    return SecretBox.from_settings(keys, data_dir, setting=SETTING)


def test_a_key_from_the_setting_encrypts_and_decrypts_without_a_key_file(tmp_path: Path
                                                                         ) -> None:
    box = _box(OLD, tmp_path)
    stored = box.encrypt("whsec_plain-value")
    assert stored.startswith("fernet:")
    assert "plain-value" not in stored
    assert box.decrypt(stored) == "whsec_plain-value"
    assert not (tmp_path / KEY_FILE).exists()


def test_without_a_setting_a_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stored = _box(None, data_dir).encrypt("value")
    key_file = data_dir / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    made = key_file.read_bytes()
    assert _box(None, data_dir).decrypt(stored) == "value"
    assert key_file.read_bytes() == made


def test_a_bad_key_is_refused_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    for bad in ("not-a-key", f"{NEW},short"):
        with pytest.raises(ConfigError, match=rf"^{SETTING}: key \d is not a Fernet key") as info:
            _box(bad, tmp_path)
        assert "\n" not in str(info.value)
        assert "generate_key" in str(info.value)
    (tmp_path / KEY_FILE).write_text("garbage")
    with pytest.raises(ConfigError, match="does not hold a Fernet key"):
        _box(None, tmp_path).encrypt("value")


def test_several_keys_decrypt_and_the_first_encrypts_so_reencrypt_moves_rows_to_it(
    tmp_path: Path,
) -> None:
    old_stored = _box(OLD, tmp_path).encrypt("value")
    both = _box(f" {NEW} , {OLD} ", tmp_path)
    assert both.decrypt(old_stored) == "value"
    assert not both.is_current(old_stored)
    moved = both.reencrypt(old_stored)
    assert both.is_current(moved)
    assert both.reencrypt(moved) == moved  # idempotent
    assert _box(NEW, tmp_path).decrypt(moved) == "value"
    with pytest.raises(SecretUndecryptable):
        _box(OLD, tmp_path).decrypt(moved)


def test_a_plain_text_is_read_as_is_and_encrypted_by_reencrypt(tmp_path: Path) -> None:
    box = _box(NEW, tmp_path)
    assert box.decrypt("whsec_legacy") == "whsec_legacy"
    assert not box.is_current("whsec_legacy")
    assert box.decrypt(box.reencrypt("whsec_legacy")) == "whsec_legacy"


def test_a_wrong_key_says_which_setting_in_one_line_without_the_secret(tmp_path: Path) -> None:
    stored = _box(OLD, tmp_path).encrypt("whsec_topsecret")
    with pytest.raises(SecretUndecryptable, match=SETTING) as info:
        _box(NEW, tmp_path).decrypt(stored)
    assert "\n" not in str(info.value)
    assert "topsecret" not in str(info.value)
    with pytest.raises(SecretUndecryptable, match=rf"unset: the key file {tmp_path}"):
        _box(None, tmp_path).decrypt(stored)


def test_the_outbound_keys_come_from_their_setting_else_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSDOCK_WEBHOOKS_SECRET_KEY", f"{NEW},{OLD}")
    use_secret_box(None)
    try:
        stored = secret_box().encrypt("value")
        assert secret_box() is secret_box()  # resolved once
        assert _box(NEW, tmp_path).decrypt(stored) == "value"
        monkeypatch.delenv("CROSSDOCK_WEBHOOKS_SECRET_KEY")
        monkeypatch.setenv("CROSSDOCK_DATA_DIR", str(tmp_path))
        use_secret_box(None)
        secret_box().encrypt("value")
        assert stat.S_IMODE((tmp_path / "webhooks" / KEY_FILE).stat().st_mode) == 0o600
        monkeypatch.setenv("CROSSDOCK_WEBHOOKS_SECRET_KEY", "nonsense")
        use_secret_box(None)
        with pytest.raises(ConfigError, match=r"^CROSSDOCK_WEBHOOKS_SECRET_KEY: key 1 is not"):
            secret_box()
    finally:
        use_secret_box(None)
