"""A slice's forge credentials, stored per side without a readable token.

A central service holds slices of many clients, each with its own tokens or GitHub App. A side's
credential is stored as a *reference*: ``env:NAME`` (the value is read from the service's
environment when it is used) or ``fernet:...`` (the value encrypted with the service's key,
``CROSSDOCK_GITSLICE_SECRET_KEY``, or a key file made once in the data folder with mode 0600:
see ``core/secretbox.py``).
The plain value is never stored, logged or shown: :class:`Revealed` hides it from ``repr``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from crossdock.core import secretbox
from crossdock.core.errors import ConfigError
from crossdock.core.secretbox import ENCRYPTED
from crossdock.gitslice.errors import SliceConfigError
from crossdock.gitslice.forge.github import AppAuth, TokenAuth

ENV = "env:"
FILE = "file:"
#: The setting of the keys credentials are encrypted with.
KEY_SETTING = "CROSSDOCK_GITSLICE_SECRET_KEY"


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
    """Stores credentials encrypted with the core's :class:`crossdock.core.secretbox.SecretBox`
    and reads references back."""

    def __init__(self, box: secretbox.SecretBox, environ: Mapping[str, str] | None = None
                 ) -> None:
        self._box = box
        self._environ = environ if environ is not None else os.environ

    @classmethod
    def from_settings(cls, key: str | None, data_dir: Path,
                      environ: Mapping[str, str] | None = None) -> SecretBox:
        """The key from settings (several, comma-separated, newest first, while rotating),
        else the data folder's key file (made on first use)."""
        try:
            box = secretbox.SecretBox.from_settings(key, data_dir, setting=KEY_SETTING)
        except ConfigError as exc:
            raise SliceConfigError(str(exc)) from None
        return cls(box, environ)

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
        try:
            return self._box.encrypt(value)
        except ConfigError as exc:
            raise SliceConfigError(str(exc)) from None

    def reveal(self, stored: str, what: str) -> str:
        """The value a stored reference stands for."""
        if stored.startswith(ENV):
            name = stored.removeprefix(ENV)
            value = self._environ.get(name, "")
            if not value.strip():
                raise SliceConfigError(f"{what}: the variable {name} is not set")
            return value.strip()
        if stored.startswith(ENCRYPTED):
            try:
                return self._box.decrypt(stored)
            except ConfigError:
                pass
        raise SliceConfigError(f"{what}: the stored credential cannot be decrypted with this "
                               f"service's key ({KEY_SETTING} changed?); store "
                               "it again with `crossdock slice credentials`")

    def auth(self, credential: StoredCredential, what: str) -> TokenAuth | AppAuth:
        """The forge adapter's auth for a stored credential."""
        secret = self.reveal(credential.secret, what)
        if credential.kind == "app":
            assert credential.app_id is not None
            return AppAuth(app_id=credential.app_id, private_key=secret,
                           installation_id=credential.installation_id)
        return TokenAuth(token=secret)

