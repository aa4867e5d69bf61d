"""A slice's configuration, its credentials, and git-slice-tools' variables.

git-slice-tools configures one slice with ``GIT_SLICE_*`` variables (or a ``--env`` file of
them). :func:`from_git_slice_env` reads those into a :class:`SliceConfig` and
:class:`Credentials`, so a team can point crossdock at the ``.env`` it already has.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pygit2

from crossdock.gitslice.errors import SliceConfigError
from crossdock.gitslice.remote import Remote, redact


class Mode(StrEnum):
    """How a pull writes the slice: one commit per upstream commit, or one per pull."""

    HISTORY = "history"
    SQUASH = "squash"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SliceConfig:
    """What a slice is: which upstream branch, which slice branch, minus what."""

    name: str
    upstream_url: str
    upstream_branch: str = "main"
    slice_url: str
    slice_branch: str = "main"
    mode: Mode = Mode.HISTORY
    ignores: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    push_branch_template: str = "<branch_name>"
    push_commit_msg_regex: str | None = None
    #: Forge logins whose ``/git-slice`` comments are obeyed; none (the default) turns comment
    #: commands off. Until the forge's permission checks exist, anyone who can comment on
    #: the slice could otherwise push upstream.
    command_users: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SliceConfig:
        """From a ``gitslice_slices`` row."""
        return cls(
            name=row["name"], upstream_url=row["upstream_url"],
            upstream_branch=row["upstream_branch"], slice_url=row["slice_url"],
            slice_branch=row["slice_branch"], mode=Mode(row["mode"]),
            ignores=tuple(row["ignores"]), folders=tuple(row["folders"]),
            push_branch_template=row["push_branch_template"],
            push_commit_msg_regex=row["push_commit_msg_regex"],
            command_users=tuple(row["command_users"]),
        )

    def as_row(self) -> dict[str, Any]:
        """The query parameters of this config."""
        return {
            "name": self.name, "upstream_url": self.upstream_url,
            "upstream_branch": self.upstream_branch, "slice_url": self.slice_url,
            "slice_branch": self.slice_branch, "mode": self.mode.value,
            "ignores": list(self.ignores), "folders": list(self.folders),
            "push_branch_template": self.push_branch_template,
            "push_commit_msg_regex": self.push_commit_msg_regex,
            "command_users": list(self.command_users),
        }

    def obeys(self, login: str) -> bool:
        """Whether a comment command from ``login`` is run (logins ignore case, as forges do)."""
        return login.casefold() in {user.casefold() for user in self.command_users}


#: URL schemes git reaches without a helper of its own; anything else is a typo or a helper.
_SCHEMES = frozenset({"http", "https", "ssh", "git", "file"})
#: scp-like ssh addresses: ``git@github.com:owner/repo.git``.
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:[^\s]+$")


def checked(config: SliceConfig, *, cwd: Path | None = None) -> SliceConfig:
    """``config`` with local repository paths made absolute (against ``cwd``, default the
    current folder), or a :class:`SliceConfigError` for a value that would only fail later,
    at the first pull or push: a bad regex, branch name, folder or repository address.
    """
    regex = config.push_commit_msg_regex
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise SliceConfigError(
                f"the commit message regex {regex!r} is not a valid regex: {exc}") from exc
    _check_branch("upstream branch", config.upstream_branch)
    _check_branch("slice branch", config.slice_branch)
    template = config.push_branch_template
    if not _valid_branch(template.replace("<branch_name>", "topic")):
        raise SliceConfigError(f"the push branch template {template!r} does not make a valid "
                               "branch name (it may use <branch_name>)")
    for folder in config.folders:
        parts = PurePosixPath(folder).parts
        if not parts or folder.startswith("/") or ".." in parts:
            raise SliceConfigError(f"folder {folder!r}: give a path inside the repository, "
                                   "relative to its root")
    base = cwd or Path.cwd()
    return dataclasses.replace(
        config,
        upstream_url=repository_address(config.upstream_url, "upstream", base),
        slice_url=repository_address(config.slice_url, "slice", base),
    )


def _valid_branch(name: str) -> bool:
    return bool(name) and pygit2.reference_is_valid_name(f"refs/heads/{name}")


def _check_branch(what: str, name: str) -> None:
    if not _valid_branch(name):
        raise SliceConfigError(f"the {what} {name!r} is not a valid branch name")


def repository_address(url: str, side: str, cwd: Path) -> str:
    """A repository URL as given, or a local path made absolute; a malformed one refused."""
    shown = redact(url)
    if not url or url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        raise SliceConfigError(f"the {side} repository {shown!r} is not a URL or a path")
    if "://" in url:
        try:
            parts = urlsplit(url)
            host, _ = parts.hostname, parts.port  # a port that is not a number raises
        except ValueError as exc:
            raise SliceConfigError(f"the {side} repository {shown!r} is not a valid URL") \
                from exc
        if parts.scheme.lower() not in _SCHEMES:
            raise SliceConfigError(
                f"the {side} repository {shown!r} has an unknown scheme {parts.scheme!r} "
                "(use https://, ssh://, git://, file:// or a path)")
        if parts.scheme.lower() != "file" and not host:
            raise SliceConfigError(f"the {side} repository {shown!r} has no host")
        return url
    if _SCP.match(url):
        return url
    return str((cwd / Path(url).expanduser()).resolve())


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """Tokens and identities for both sides; never stored in the database."""

    upstream_token: str | None = dataclasses.field(default=None, repr=False)
    upstream_username: str | None = None
    upstream_email: str | None = None
    slice_token: str | None = dataclasses.field(default=None, repr=False)
    slice_username: str | None = None
    slice_email: str | None = None

    def upstream(self, url: str) -> Remote:
        """The upstream remote with its token."""
        return Remote.parse(url, token=self.upstream_token, username=self.upstream_username)

    def slice(self, url: str) -> Remote:
        """The slice remote with its token."""
        return Remote.parse(url, token=self.slice_token, username=self.slice_username)

    def slice_identity(self) -> tuple[str, str]:
        """Who signs squash commits on the slice (git-slice-tools uses the slice user)."""
        return (self.slice_username or "crossdock", self.slice_email or "gitslice@crossdock")

    def upstream_identity(self) -> tuple[str, str] | None:
        """Who authors pushed commits upstream, when set; else the slice commit's author."""
        if self.upstream_username and self.upstream_email:
            return (self.upstream_username, self.upstream_email)
        return None


def _list(value: str | None, variable: str) -> tuple[str, ...]:
    """A JSON array (git-slice-tools' form) or a comma-separated list."""
    if not value or not value.strip():
        return ()
    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text.replace("'", '"'))
        except json.JSONDecodeError as exc:
            raise SliceConfigError(f"{variable}: not a JSON array of strings: {exc}") from exc
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise SliceConfigError(f"{variable}: expected a JSON array of strings")
        return tuple(items)
    return tuple(item.strip() for item in text.split(",") if item.strip())


def from_git_slice_env(name: str, env: Mapping[str, str]) -> tuple[SliceConfig | None, Credentials]:
    """A slice config and credentials from git-slice-tools' ``GIT_SLICE_*`` variables."""

    def get(key: str) -> str | None:
        value = env.get(f"GIT_SLICE_{key}")
        return value if value not in (None, "") else None

    credentials = Credentials(
        upstream_token=get("UPSTREAM_REPO_PASSWORD"),
        upstream_username=get("UPSTREAM_REPO_USERNAME"),
        upstream_email=get("UPSTREAM_REPO_EMAIL"), slice_token=get("SLICE_REPO_PASSWORD"),
        slice_username=get("SLICE_REPO_USERNAME"), slice_email=get("SLICE_REPO_EMAIL"),
    )
    upstream = get("UPSTREAM_REPO_URL") or get("UPSTREAM_REPO_DIR")
    slice_url = get("SLICE_REPO_URL") or get("SLICE_REPO_DIR")
    if not upstream or not slice_url:
        return None, credentials
    config = SliceConfig(
        name=name, upstream_url=upstream,
        upstream_branch=get("UPSTREAM_REPO_DEFAULT_BRANCH") or "main",
        slice_url=slice_url, slice_branch=get("SLICE_REPO_DEFAULT_BRANCH") or "main",
        ignores=_list(get("SLICE_IGNORES"), "GIT_SLICE_SLICE_IGNORES"),
        push_branch_template=get("PUSH_BRANCH_NAME_TEMPLATE") or "<branch_name>",
        push_commit_msg_regex=get("PUSH_COMMIT_MSG_REGEX"),
    )
    return config, credentials


def merge_credentials(first: Credentials, fallback: Credentials) -> Credentials:
    """``first``'s values, with ``fallback`` filling the gaps."""
    values = {
        field.name: getattr(first, field.name) or getattr(fallback, field.name)
        for field in dataclasses.fields(Credentials)
    }
    return Credentials(**values)
