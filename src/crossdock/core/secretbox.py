"""Secrets a service must store and use again (forge tokens, webhook signing keys), encrypted
so that a database dump or a read-only SQL user does not give them away.

A stored secret is ``fernet:<token>`` (Fernet: AES-128-CBC with an HMAC-SHA256, from the
``cryptography`` package). The keys come from a setting (one or several, comma-separated,
newest first: the first encrypts, each decrypts, so a key can be rotated), else from a key
file in the service's data folder, made with mode 0600 the first time a key is needed. A
text without the prefix is a secret stored before encryption: read as it is, until
:meth:`SecretBox.reencrypt` encrypts it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from crossdock.core.errors import ConfigError, SecretUndecryptable

#: The prefix of an encrypted secret.
ENCRYPTED = "fernet:"
#: The key file's name in a service's data folder, when its setting gives no key.
KEY_FILE = "secret.key"
#: How to make a key, for the error that refuses a bad one.
_MAKE_ONE = ('32 url-safe base64 bytes; make one with `python -c "from cryptography.fernet '
             'import Fernet; print(Fernet.generate_key().decode())"`')


class SecretBox:
    """Encrypts with the newest key, decrypts with any; ``setting`` names where the keys come
    from, for the errors."""

    def __init__(self, keys: Sequence[bytes] = (), *, setting: str,
                 key_dir: Path | None = None) -> None:
        self._keys = list(keys)
        #: Where the key file is made, the first time a key is needed, when no key is given.
        self._key_dir = key_dir
        self.setting = setting

    @classmethod
    def from_settings(cls, keys: str | None, data_dir: Path, *, setting: str) -> SecretBox:
        """The keys of ``setting`` (comma-separated, newest first), else the data folder's key
        file (made on first use); a key that is not a Fernet key is a :class:`ConfigError`."""
        parsed = [key.strip().encode() for key in (keys or "").split(",") if key.strip()]
        for number, key in enumerate(parsed, start=1):
            try:
                Fernet(key)
            except ValueError:
                raise ConfigError(f"{setting}: key {number} is not a Fernet key ({_MAKE_ONE})"
                                  ) from None
        return cls(parsed, setting=setting, key_dir=None if parsed else data_dir)

    @property
    def where(self) -> str:
        """Where the keys come from, as the errors name it."""
        if self._key_dir is None:
            return self.setting
        return f"{self.setting} (unset: the key file {self._key_dir / KEY_FILE})"

    def _fernets(self) -> list[Fernet]:
        if not self._keys and self._key_dir is not None:
            self._keys = [key_file(self._key_dir)]
        return [Fernet(key) for key in self._keys]

    def encrypt(self, value: str) -> str:
        """The stored form of ``value``: ``fernet:`` and a token of the newest key."""
        fernets = self._fernets()
        if not fernets:
            raise ConfigError(f"{self.setting}: no key to encrypt secrets with")
        return ENCRYPTED + fernets[0].encrypt(value.encode()).decode()

    def decrypt(self, stored: str) -> str:
        """The secret ``stored`` stands for (a text without the prefix is read as it is);
        :class:`SecretUndecryptable` when no key decrypts it."""
        if not stored.startswith(ENCRYPTED):
            return stored
        try:
            return MultiFernet(self._fernets() or [_NO_KEY]).decrypt(
                stored.removeprefix(ENCRYPTED).encode()).decode()
        except InvalidToken:
            raise SecretUndecryptable(
                f"a stored secret cannot be decrypted with the keys of {self.where}") from None

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is encrypted with the newest key (nothing to re-encrypt)."""
        if not stored.startswith(ENCRYPTED):
            return False
        try:
            self._fernets()[0].decrypt(stored.removeprefix(ENCRYPTED).encode())
        except (InvalidToken, IndexError):
            return False
        return True

    def reencrypt(self, stored: str) -> str:
        """``stored`` encrypted with the newest key (as it is when it already is)."""
        return stored if self.is_current(stored) else self.encrypt(self.decrypt(stored))


#: Decrypts nothing: a box without keys still answers "cannot be decrypted".
_NO_KEY = Fernet(Fernet.generate_key())


def key_file(data_dir: Path) -> bytes:
    """The data folder's key, made with mode 0600 when there is none."""
    path = data_dir / KEY_FILE
    try:
        return _checked(path.read_bytes().strip(), path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process made it first
        return _checked(path.read_bytes().strip(), path)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


def _checked(key: bytes, path: Path) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(f"{path} does not hold a Fernet key ({_MAKE_ONE})") from None
    return key
