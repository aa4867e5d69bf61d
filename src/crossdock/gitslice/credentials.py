"""A slice's forge credentials, stored per side without a readable token.

A central service holds slices of many clients, each with its own tokens or GitHub App. A side's
credential is stored as a *reference*: ``env:NAME`` (the value is read from the service's
environment when it is used) or ``fernet:...`` (the value encrypted with the service's key,
``CROSSDOCK_GITSLICE_SECRET_KEY``, or a key file made once in the data folder with mode 0600).
The plain value is never stored, logged or shown: :class:`Revealed` hides it from ``repr``.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from crossdock.gitslice.errors import SliceConfigError
from crossdock.gitslice.forge.github import AppAuth, TokenAuth

ENV = "env:"
FILE = "file:"
ENCRYPTED = "fernet:"
#: Where the key lives when the environment gives none, under the service's data folder.
KEY_FILE = "secret.key"


class Side(StrEnum):
    """Which repository of a slice a credential is for."""

    UPSTREAM = "upstream"
    SLICE = "slice"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StoredCredential:
    """A side's credential as stored: ``secret`` is a reference, never a value."""

    side: Side
    kind: str  # "token" or "app"
    secret: str = dataclasses.field(repr=False)
    username: str | None = None
    email: str | None = None
    app_id: int | None = None
    installation_id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StoredCredential:
        """From a ``gitslice_credentials`` row."""
        return cls(side=Side(row["side"]), kind=row["kind"], secret=row["secret"],
                   username=row["username"], email=row["email"], app_id=row["app_id"],
                   installation_id=row["installation_id"])

    def as_row(self, slice_name: str) -> dict[str, Any]:
        """The query parameters of this credential."""
        return {"name": slice_name, "side": self.side.value, "kind": self.kind,
                "secret": self.secret, "username": self.username, "email": self.email,
                "app_id": self.app_id, "installation_id": self.installation_id}

    def describe(self) -> str:
        """What may be shown: the kind and where the secret comes from, not the secret."""
        source = self.secret if self.secret.startswith(ENV) else "encrypted"
        if self.kind == "app":
            return f"GitHub App {self.app_id} (private key: {source})"
        return f"token ({source})"


class SecretBox:
    """Encrypts credentials for storage and reads references back (Fernet: AES-128-CBC with
    an HMAC-SHA256, from the ``cryptography`` package)."""

    def __init__(self, key: bytes | None, environ: Mapping[str, str] | None = None, *,
                 key_dir: Path | None = None) -> None:
        self._key = key
        #: Where the key file is made, the first time a key is needed, when ``key`` is None.
        self._key_dir = key_dir
        self._environ = environ if environ is not None else os.environ

    @property
    def _fernet(self) -> Fernet | None:
        if self._key is None and self._key_dir is not None:
            self._key = _key_file(self._key_dir)
        return Fernet(self._key) if self._key else None

    @classmethod
    def from_settings(cls, key: str | None, data_dir: Path,
                      environ: Mapping[str, str] | None = None) -> SecretBox:
        """The key from settings, else the data folder's key file (made on first use)."""
        if key:
            try:
                Fernet(key.encode())
            except ValueError as exc:
                raise SliceConfigError(
                    "CROSSDOCK_GITSLICE_SECRET_KEY is not a Fernet key (32 url-safe base64 "
                    'bytes; make one with `python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"`)') from exc
            return cls(key.encode(), environ)
        return cls(None, environ, key_dir=data_dir)

    def store(self, value: str) -> str:
        """The stored form of ``value``: a reference as is, anything else encrypted."""
        if value.startswith(ENV):
            name = value.removeprefix(ENV)
            if not name or not name.replace("_", "").isalnum():
                raise SliceConfigError(f"{value!r}: give env:NAME with a variable's name")
            return value
        if value.startswith(FILE):
            path = Path(value.removeprefix(FILE)).expanduser()
            try:
                value = path.read_text("utf-8").strip()
            except OSError as exc:
                raise SliceConfigError(f"cannot read {path}: {exc.strerror}") from exc
        if not value.strip():
            raise SliceConfigError("a credential cannot be empty")
        fernet = self._fernet
        if fernet is None:
            raise SliceConfigError("no key to encrypt credentials with")
        return ENCRYPTED + fernet.encrypt(value.encode()).decode()

    def reveal(self, stored: str, what: str) -> str:
        """The value a stored reference stands for."""
        if stored.startswith(ENV):
            name = stored.removeprefix(ENV)
            value = self._environ.get(name, "")
            if not value.strip():
                raise SliceConfigError(f"{what}: the variable {name} is not set")
            return value.strip()
        fernet = self._fernet if stored.startswith(ENCRYPTED) else None
        if fernet is not None:
            try:
                return fernet.decrypt(stored.removeprefix(ENCRYPTED).encode()).decode()
            except InvalidToken:
                pass
        raise SliceConfigError(f"{what}: the stored credential cannot be decrypted with this "
                               "service's key (CROSSDOCK_GITSLICE_SECRET_KEY changed?); store "
                               "it again with `crossdock slice credentials`")

    def auth(self, credential: StoredCredential, what: str) -> TokenAuth | AppAuth:
        """The forge adapter's auth for a stored credential."""
        secret = self.reveal(credential.secret, what)
        if credential.kind == "app":
            assert credential.app_id is not None
            return AppAuth(app_id=credential.app_id, private_key=secret,
                           installation_id=credential.installation_id)
        return TokenAuth(token=secret)


def _key_file(data_dir: Path) -> bytes:
    """The data folder's key, made with mode 0600 when there is none."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key
