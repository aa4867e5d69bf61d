"""GitSlice's settings (prefix ``CROSSDOCK_GITSLICE_``, table ``[gitslice]``).

git-slice-tools' ``GIT_SLICE_*`` variables describe one slice and its credentials; the CLI reads
them beside these (see :func:`crossdock.gitslice.config.from_git_slice_env`), and these win.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from crossdock.core.errors import ConfigError
from crossdock.core.settings import load
from crossdock.gitslice.config import Credentials

PREFIX = "CROSSDOCK_GITSLICE_"
#: Seconds a new slice's repositories have to answer ``git ls-remote``.
DEFAULT_PROBE_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GitSliceSettings:
    """Where cache repositories live, the tokens and identities of both sides, and timeouts."""

    #: Where cache repositories live; default ``<core data dir>/gitslice``.
    data_dir: Path | None = None
    upstream_token: str | None = dataclasses.field(default=None, repr=False)
    upstream_username: str | None = None
    upstream_email: str | None = None
    slice_token: str | None = dataclasses.field(default=None, repr=False)
    slice_username: str | None = None
    slice_email: str | None = None
    #: Seconds a new slice's repositories have to answer ``git ls-remote`` at ``slice init``.
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    #: The Fernet key that encrypts stored forge credentials; default: a key file made once
    #: in the cache folder (mode 0600). Set it wherever several machines share the database.
    secret_key: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitSliceSettings:
        """Read ``CROSSDOCK_GITSLICE_*`` and ``[gitslice]``."""
        settings = load(cls, PREFIX, environ=environ, section="gitslice")
        if not settings.probe_timeout > 0:
            raise ConfigError(f"{PREFIX}PROBE_TIMEOUT: invalid value {settings.probe_timeout!r}:"
                              " give a number of seconds above 0")
        return settings

    def cache_dir(self, core_data_dir: Path) -> Path:
        """Where cache repositories live, given the core's data folder."""
        return self.data_dir or core_data_dir / "gitslice"

    def credentials(self) -> Credentials:
        """The tokens and identities of these settings."""
        return Credentials(
            upstream_token=self.upstream_token, upstream_username=self.upstream_username,
            upstream_email=self.upstream_email, slice_token=self.slice_token,
            slice_username=self.slice_username, slice_email=self.slice_email,
        )
