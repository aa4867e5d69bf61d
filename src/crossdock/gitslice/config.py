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
from crossdock.gitslice.forge.errors import ForgeRejected
from crossdock.gitslice.forge.port import Permission, RepoRef
from crossdock.gitslice.remote import Remote, redact

#: The REST API a GitHub slice talks to unless told otherwise.
GITHUB_API = "https://api.github.com"
#: The shortest periodic pull interval, in seconds (events pull at once anyway).
MIN_PULL_INTERVAL = 60
#: GitHub's longest label name.
MAX_LABEL = 50


class Mode(StrEnum):
    """How a pull writes the slice: one commit per upstream commit, or one per pull."""

    HISTORY = "history"
    SQUASH = "squash"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ForgeConfig:
    """The forge repositories a slice is, and how it raises pull requests there."""

    #: The forge's kind: ``github`` (GitHub, GitHub Enterprise Server, the in-package forge).
    kind: str = "github"
    #: The REST API's base URL (``https://host/api/v3`` for a GitHub Enterprise Server).
    api_url: str = GITHUB_API
    #: ``owner/name`` of the upstream repository and of the slice repository.
    upstream_repo: str
    slice_repo: str
    #: git-slice-tools' ``GIT_SLICE_PR_DRAFT`` and ``GIT_SLICE_PR_LABELS``.
    pr_draft: bool = True
    pr_labels: tuple[str, ...] = ()
    #: The least role on the slice repository that may run ``/git-slice`` comment commands.
    command_permission: Permission = Permission.WRITE
    #: Close the slice pull request when its upstream pull request is merged.
    close_on_merge: bool = True

    @property
    def upstream(self) -> RepoRef:
        """The upstream repository."""
        return RepoRef.parse(self.upstream_repo)

    @property
    def slice(self) -> RepoRef:
        """The slice repository."""
        return RepoRef.parse(self.slice_repo)


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
    #: The forge repositories (none: no pull requests, reviews, issues or comment commands).
    forge: ForgeConfig | None = None
    #: Pull every so many seconds, besides on events (none: no periodic pull).
    pull_interval: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SliceConfig:
        """From a ``gitslice_slices`` row."""
        forge = None
        if row.get("forge"):
            forge = ForgeConfig(
                kind=row["forge"], api_url=row["forge_api_url"] or GITHUB_API,
                upstream_repo=row["upstream_repo"], slice_repo=row["slice_repo"],
                pr_draft=row["pr_draft"], pr_labels=tuple(row["pr_labels"]),
                command_permission=Permission(row["command_permission"]),
                close_on_merge=row["close_on_merge"],
            )
        return cls(
            name=row["name"], upstream_url=row["upstream_url"],
            upstream_branch=row["upstream_branch"], slice_url=row["slice_url"],
            slice_branch=row["slice_branch"], mode=Mode(row["mode"]),
            ignores=tuple(row["ignores"]), folders=tuple(row["folders"]),
            push_branch_template=row["push_branch_template"],
            push_commit_msg_regex=row["push_commit_msg_regex"],
            command_users=tuple(row["command_users"]), forge=forge,
            pull_interval=row.get("pull_interval_seconds"),
        )

    def as_row(self) -> dict[str, Any]:
        """The query parameters of this config."""
        forge = self.forge
        return {
            "name": self.name, "upstream_url": self.upstream_url,
            "upstream_branch": self.upstream_branch, "slice_url": self.slice_url,
            "slice_branch": self.slice_branch, "mode": self.mode.value,
            "ignores": list(self.ignores), "folders": list(self.folders),
            "push_branch_template": self.push_branch_template,
            "push_commit_msg_regex": self.push_commit_msg_regex,
            "command_users": list(self.command_users),
            "forge": forge.kind if forge else None,
            "forge_api_url": forge.api_url if forge else None,
            "upstream_repo": forge.upstream_repo if forge else None,
            "slice_repo": forge.slice_repo if forge else None,
            "pr_draft": forge.pr_draft if forge else True,
            "pr_labels": list(forge.pr_labels) if forge else [],
            "command_permission": (forge.command_permission if forge else Permission.WRITE).value,
            "close_on_merge": forge.close_on_merge if forge else True,
            "pull_interval_seconds": self.pull_interval,
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
    if config.forge is not None:
        _check_forge(config.forge)
    if config.pull_interval is not None and config.pull_interval < MIN_PULL_INTERVAL:
        raise SliceConfigError(f"the pull interval {config.pull_interval} s is too short: give "
                               f"{MIN_PULL_INTERVAL} seconds or more (events pull at once anyway)")
    base = cwd or Path.cwd()
    return dataclasses.replace(
        config,
        upstream_url=repository_address(config.upstream_url, "upstream", base),
        slice_url=repository_address(config.slice_url, "slice", base),
    )


#: What a forge repository may be named (GitHub's rules: letters, digits, ``-``, ``_``, ``.``).
_REPO_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


def _check_forge(forge: ForgeConfig) -> None:
    if forge.kind != "github":
        raise SliceConfigError(f"unknown forge {forge.kind!r}: crossdock speaks to github")
    for side, full_name in (("upstream", forge.upstream_repo), ("slice", forge.slice_repo)):
        try:
            repo = RepoRef.parse(full_name)
        except ForgeRejected as exc:
            raise SliceConfigError(f"the {side} forge repository: {exc}") from exc
        if not all(_REPO_PART.match(part) for part in (*repo.owner.split("/"), repo.name)):
            raise SliceConfigError(f"the {side} forge repository {full_name!r} is not a valid "
                                   "owner/name")
    parts = urlsplit(forge.api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SliceConfigError(f"the forge API URL {forge.api_url!r} is not an http(s) URL")
    for label in forge.pr_labels:
        if not label.strip() or len(label) > MAX_LABEL:
            raise SliceConfigError(f"the pull request label {label!r} is empty or longer than "
                                   f"{MAX_LABEL} characters")


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
    upstream_repo, slice_repo = github_repo(upstream), github_repo(slice_url)
    if upstream_repo and slice_repo:
        draft = (get("PR_DRAFT") or "true").strip().lower()
        if draft not in {"true", "false", "1", "0", "yes", "no"}:
            raise SliceConfigError(f"GIT_SLICE_PR_DRAFT: {draft!r} is not true or false")
        config = dataclasses.replace(config, forge=ForgeConfig(
            upstream_repo=upstream_repo, slice_repo=slice_repo,
            pr_draft=draft in {"true", "1", "yes"},
            pr_labels=_list(get("PR_LABELS"), "GIT_SLICE_PR_LABELS")))
    return config, credentials


def github_repo(url: str) -> str | None:
    """``owner/name`` of a github.com repository URL (https, ssh or scp-like), else None."""
    match = re.match(r"^(?:https?://(?:[^@/]*@)?|ssh://git@|git@)github\.com[:/]"
                     r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", url.strip())
    return f"{match[1]}/{match[2]}" if match else None


def merge_credentials(first: Credentials, fallback: Credentials) -> Credentials:
    """``first``'s values, with ``fallback`` filling the gaps."""
    values = {
        field.name: getattr(first, field.name) or getattr(fallback, field.name)
        for field in dataclasses.fields(Credentials)
    }
    return Credentials(**values)
