"""The network, through the git CLI: fetch into and push from a bare cache repository.

Credentials never touch disk: a token goes to git as an ``http.extraHeader`` through the
``GIT_CONFIG_COUNT`` environment of that one git process, never on its command line (where
``ps`` shows it), never in a remote written to ``.git/config``. Every message that leaves this
module has URLs' user info and the token itself replaced by ``***``.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import signal
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from crossdock.gitslice.errors import GitAuthError, GitCommandError

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Remote:
    """A repository URL (or local path) and the token to reach it, kept apart."""

    url: str
    token: str | None = dataclasses.field(default=None, repr=False)
    username: str = "x-access-token"

    @classmethod
    def parse(cls, url: str, *, token: str | None = None, username: str | None = None) -> Remote:
        """Split any ``user:token@`` out of ``url``; an explicit ``token`` wins."""
        parts = urlsplit(url)
        if parts.scheme in {"http", "https"} and (parts.username or parts.password):
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
            return cls(
                url=clean,
                token=token or parts.password or None,
                username=username or (parts.username if parts.password else None)
                or "x-access-token",
            )
        return cls(url=url, token=token or None, username=username or "x-access-token")

    @property
    def is_http(self) -> bool:
        """True for ``http://`` and ``https://`` remotes."""
        return self.url.startswith(("http://", "https://"))

    def secrets(self) -> list[str]:
        """Strings that must never be shown: the token and its Basic-auth form."""
        if not self.token:
            return []
        return [self.token, self._basic()]

    def _basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.token}".encode()).decode()

    def environment(self) -> dict[str, str]:
        """Variables that hand the token to one git process."""
        if not self.token or not self.is_http:
            return {}
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {self._basic()}",
        }


def _refspecs(namespace: str, branches: Iterable[str]) -> list[str]:
    return [f"+refs/heads/{branch}:refs/{namespace}/heads/{branch}" for branch in branches]


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with URL user info and each of ``secrets`` replaced by ``***``."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _git_environment(remote: Remote | None) -> dict[str, str]:
    """The environment of a git process: never prompting, in English, with ``remote``'s token."""
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "LC_ALL": "C",
    }
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS"):
        env.pop(name, None)
    if remote is not None:
        env.update(remote.environment())
    return env


def probe(remote: Remote, *, timeout: float) -> None:
    """Check that ``remote`` answers as a git repository (``git ls-remote``) within ``timeout``.

    git runs in a session of its own, so it has no terminal to prompt on (ssh's host key or
    password questions fail instead of waiting), and a timeout kills its helpers with it.
    """
    command = ["git", "ls-remote", "--heads", remote.url]
    with subprocess.Popen(  # noqa: S603
        command, env=_git_environment(remote), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    ) as process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise GitCommandError(f"no answer within {timeout:g} s") from None
    if process.returncode != 0:
        lines = stderr.decode(errors="replace").strip().splitlines()
        reason = lines[0].removeprefix("fatal: ") if lines else f"exit {process.returncode}"
        raise GitCommandError(redact(reason, remote.secrets()))


#: What git prints when a server wants credentials it was not given (prompts are disabled).
_ASKED_FOR_CREDENTIALS = re.compile(
    r"could not read (Username|Password)|Authentication failed|returned error: 40[13]")


class Git:
    """Runs git on one bare repository."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def run(self, *args: str, remote: Remote | None = None, check: bool = True) -> str:
        """Run ``git args...``; a failure raises :class:`GitCommandError` (or
        :class:`GitAuthError` when the server refused the credentials), redacted."""
        env = _git_environment(remote)
        command = ["git", "--git-dir", str(self.git_dir), *args]
        done = subprocess.run(command, env=env, capture_output=True, check=False)  # noqa: S603
        if check and done.returncode != 0:
            secrets = remote.secrets() if remote is not None else []
            reason = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
            verb = args[2] if args[0] == "-c" else args[0]
            if _ASKED_FOR_CREDENTIALS.search(reason) and remote is not None:
                raise GitAuthError(redact(
                    f"git {verb} failed: {redact(remote.url)} refused the credentials (a token "
                    f"that is missing, wrong or revoked?); git said: {reason}", secrets))
            raise GitCommandError(redact(f"git {verb} failed: {reason}", secrets))
        return done.stdout.decode(errors="replace")

    def init(self) -> None:
        """Create the bare repository if it is not there yet."""
        if (self.git_dir / "HEAD").exists():
            return
        self.git_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603
            ["git", "init", "--quiet", "--bare", str(self.git_dir)],  # noqa: S607
            check=True, capture_output=True,
        )
        # Objects are written by libgit2 and packed by git; keep git from pruning in between.
        self.run("config", "gc.auto", "0")

    def fetch(self, remote: Remote, namespace: str, branches: Sequence[str] | None = None
              ) -> None:
        """Mirror ``remote``'s branches, or only ``branches``, into ``refs/<namespace>/heads/``;
        a branch gone from the remote is gone here too.

        A pull names its branches: the remote then advertises and sends only those, so the
        cost does not grow with the other branches of a busy repository, nor with their work.
        """
        if branches is None:
            self._fetch(remote, [f"+refs/heads/*:refs/{namespace}/heads/*"], prune=True)
            return
        try:
            self._fetch(remote, _refspecs(namespace, branches))
        except GitCommandError as failure:
            # Asking for a branch the remote does not have fails the whole fetch: find out
            # which, forget them, and fetch the others. Any other failure is the fetch's.
            try:
                present = self.list_heads(remote)
            except GitCommandError:
                raise failure from None
            missing = [branch for branch in branches if branch not in present]
            if not missing:
                raise
            for branch in missing:
                self.run("update-ref", "-d", f"refs/{namespace}/heads/{branch}")
            kept = [branch for branch in branches if branch in present]
            if kept:
                self._fetch(remote, _refspecs(namespace, kept))

    def _fetch(self, remote: Remote, refspecs: list[str], *, prune: bool = False) -> None:
        self.run(
            # No `git maintenance run --auto` after each fetch: a process per pull for nothing
            # (the cache's objects are packed by crossdock).
            "-c", "maintenance.auto=false", "fetch", "--quiet", "--no-tags",
            *(["--prune"] if prune else []), "--no-write-fetch-head", remote.url, *refspecs,
            remote=remote,
        )

    def push(self, remote: Remote, sha: str, branch: str, *, expect: str | None) -> None:
        """Set ``branch`` on ``remote`` to ``sha`` if it still is at ``expect`` (None: absent)."""
        self.run(
            "push", "--quiet", "--no-verify", remote.url,
            f"--force-with-lease=refs/heads/{branch}:{expect or ''}",
            f"{sha}:refs/heads/{branch}", remote=remote,
        )

    def list_heads(self, remote: Remote) -> dict[str, str]:
        """``branch -> sha`` on ``remote`` (ls-remote; no objects fetched)."""
        out = self.run("ls-remote", "--heads", remote.url, remote=remote)
        heads = {}
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            heads[ref.removeprefix("refs/heads/")] = sha
        return heads
