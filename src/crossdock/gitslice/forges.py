"""A slice's two forge sides, built from its forge config and its stored credentials.

The jobs that talk to a forge (raise-pr, pull-review, pull-issue, comment commands) ask a
:class:`ForgeProvider` for a slice's :class:`SliceForges`; production uses
:class:`GitHubForges` (the GitHub adapter, pointed at github.com, a GitHub Enterprise Server or
the in-package forge), tests may give any object with the same method.

A side's credential is the slice's own (``crossdock slice credentials``), else the service's
(``CROSSDOCK_GITSLICE_*_TOKEN`` or git-slice-tools' ``GIT_SLICE_*_REPO_PASSWORD``). The same
token serves git over HTTPS and the REST API, as it does for git-slice-tools.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from crossdock.gitslice.config import Credentials, ForgeConfig, SliceConfig
from crossdock.gitslice.credentials import SecretBox, Side, StoredCredential
from crossdock.gitslice.errors import NoForge, SliceConfigError
from crossdock.gitslice.forge.failures import RetryPolicy
from crossdock.gitslice.forge.github import AppAuth, GitHubForge, TokenAuth
from crossdock.gitslice.forge.port import Forge, RepoRef

__all__ = ["CredentialStore", "CredentialVault", "ForgeProvider", "GitHubForges", "NoForge",
           "SliceForges", "require_forge"]


class CredentialStore(Protocol):
    """The store, as credentials are read from it."""

    async def credentials(self, name: str) -> dict[Side, StoredCredential]: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SliceForges:
    """Both sides of a slice on its forge: the adapters and the repositories."""

    config: ForgeConfig
    upstream: Forge
    slice: Forge

    @property
    def upstream_repo(self) -> RepoRef:
        """The upstream repository."""
        return self.config.upstream

    @property
    def slice_repo(self) -> RepoRef:
        """The slice repository."""
        return self.config.slice


class ForgeProvider(Protocol):
    """Gives a slice's forge sides."""

    async def sides(self, config: SliceConfig) -> SliceForges: ...


def require_forge(config: SliceConfig) -> ForgeConfig:
    """The slice's forge config, or :class:`NoForge` saying how to add one."""
    if config.forge is None:
        raise NoForge(f"slice {config.name!r} has no forge repositories: add them with "
                      f"`crossdock slice init {config.name} --update --forge github "
                      "--upstream-repo OWNER/NAME --slice-repo OWNER/NAME ...`")
    return config.forge


class CredentialVault:
    """Resolves a slice's credentials: its own, stored encrypted or as references, else the
    service's."""

    def __init__(self, store: CredentialStore, box: SecretBox, fallback: Credentials) -> None:
        self.store = store
        self.box = box
        self.fallback = fallback

    async def stored(self, name: str) -> dict[Side, StoredCredential]:
        """The slice's own credentials as stored (references, not values)."""
        return await self.store.credentials(name)

    def git_credentials(self, name: str, stored: dict[Side, StoredCredential]) -> Credentials:
        """Tokens and identities for git: the slice's token credentials, else the service's.

        A side authenticated as a GitHub App has no token for git; its git remote uses the
        service's token, if any. A reference that cannot be read is :class:`SliceConfigError`
        here, where git needs it, not where the config was read.
        """
        values = dataclasses.asdict(self.fallback)
        for side, credential in stored.items():
            if credential.kind == "token":
                values[f"{side.value}_token"] = self.box.reveal(
                    credential.secret, f"slice {name!r}: the {side.value} token")
            for field in ("username", "email"):
                if getattr(credential, field):
                    values[f"{side.value}_{field}"] = getattr(credential, field)
        return Credentials(**values)

    async def auths(self, name: str) -> dict[Side, TokenAuth | AppAuth]:
        """Each side's forge auth; a side with none is :class:`SliceConfigError`."""
        stored = await self.store.credentials(name)
        found: dict[Side, TokenAuth | AppAuth] = {}
        for side in Side:
            credential = stored.get(side)
            token = getattr(self.fallback, f"{side.value}_token")
            if credential is not None:
                found[side] = self.box.auth(credential, f"slice {name!r}: the {side.value} "
                                            "credential")
            elif token:
                found[side] = TokenAuth(token=token)
            else:
                raise SliceConfigError(
                    f"slice {name!r} has no {side.value} credential for its forge: store one "
                    f"with `crossdock slice credentials {name} --{side.value}-token env:NAME` or "
                    f"set CROSSDOCK_GITSLICE_{side.value.upper()}_TOKEN")
        return found


class GitHubForges:
    """Builds GitHub adapters for a slice's two sides."""

    def __init__(self, vault: CredentialVault, *, retry: RetryPolicy | None = None,
                 timeout: float = 30.0) -> None:
        self.vault = vault
        self.retry = retry
        self.timeout = timeout

    async def sides(self, config: SliceConfig) -> SliceForges:
        """Both sides' adapters, each with its own credential."""
        forge = require_forge(config)
        auths = await self.vault.auths(config.name)
        return SliceForges(
            config=forge,
            upstream=GitHubForge(auths[Side.UPSTREAM], base_url=forge.api_url, retry=self.retry,
                                 timeout=self.timeout),
            slice=GitHubForge(auths[Side.SLICE], base_url=forge.api_url, retry=self.retry,
                              timeout=self.timeout),
        )
