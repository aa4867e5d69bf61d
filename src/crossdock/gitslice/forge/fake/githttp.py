"""The forge's repositories over git's smart HTTP protocol, served by ``git http-backend``.

Auth is GitHub's: HTTP Basic with a token as the password (any user name). A public
repository can be fetched by anyone; a push, or any access to a private repository, needs a
token of a user with the right role. A push that moves refs sends ``push`` events, and a push
to the head branch of an open pull request updates it and sends ``synchronize``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.state import Repo, User, now, refs

if TYPE_CHECKING:
    from crossdock.gitslice.forge.fake.forge import FakeForge

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="GitHub"'}


def _basic_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def _pusher(forge: FakeForge, request: Request) -> User | None:
    """The user of the request's token; ``None`` without one; 401 for a wrong one."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    token = _basic_token(header)
    if token is None:
        raise ForgeFault(401, "Invalid username or token.")
    return forge.auth.viewer(f"token {token}")


def _access(forge: FakeForge, request: Request, pushing: bool) -> tuple[Repo, User | None]:
    """The repository and user of a git request; a ForgeFault with git's answer if refused."""
    user = _pusher(forge, request)
    owner, name = request.path_params["owner"], request.path_params["repo"]
    try:
        repo = forge.state.repo(owner, name.removesuffix(".git"), viewer=user)
    except ForgeFault as exc:
        raise ForgeFault(401 if user is None else 404, "Repository not found.") from exc
    if user is None and (pushing or repo.private):
        raise ForgeFault(401, "Authentication required.")
    if user is not None and pushing:
        try:
            forge.state.require(repo, user, "write")
        except ForgeFault as exc:
            raise ForgeFault(403, f"Permission to {repo.full_name}.git denied to "
                             f"{user.login}.") from exc
    return repo, user


async def git_http(request: Request) -> Response:
    """One request of git's smart HTTP protocol for ``/{owner}/{repo}.git/...``."""
    forge: FakeForge = request.app.state.forge
    if not request.path_params["repo"].endswith(".git"):
        return Response("Not Found\n", 404)
    rest = request.path_params["rest"]
    pushing = rest == "git-receive-pack" or \
        request.query_params.get("service") == "git-receive-pack"
    try:
        repo, user = _access(forge, request, pushing)
    except ForgeFault as fault:
        return Response(f"{fault}\n", fault.status, _CHALLENGE if fault.status == 401 else None)  # noqa: PLR2004
    body = await request.body()
    if rest != "git-receive-pack" or user is None:
        return await _backend(request, repo, rest, body)
    async with forge.push_lock(repo):
        before = refs(repo.path)
        response = await _backend(request, repo, rest, body)
        after = refs(repo.path)
    _announce(forge, repo, user, before, after)
    return response


async def _backend(request: Request, repo: Repo, rest: str, body: bytes) -> Response:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo.path.parent),
        "GIT_PROJECT_ROOT": str(repo.path.parent), "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1", "REQUEST_METHOD": request.method,
        "PATH_INFO": f"/{repo.path.name}/{rest}", "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": "git", "REMOTE_ADDR": "127.0.0.1",
    }
    if "content-encoding" in request.headers:
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    # A request without a body gets no stdin pipe: git may answer and exit before an empty
    # write reaches it, and uvloop raises on a write to a pipe already closed.
    process = await asyncio.create_subprocess_exec(
        "git", "http-backend", env=env,
        stdin=asyncio.subprocess.PIPE if body else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _ = await process.communicate(body or None)
    head, _, payload = out.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers[key] = value.strip()
    return Response(payload, status, headers)


def _announce(forge: FakeForge, repo: Repo, user: User, before: dict[str, str],
              after: dict[str, str]) -> None:
    zero = "0" * 40
    moved = sorted(name for name in before.keys() | after.keys()
                   if before.get(name) != after.get(name))
    if moved:
        repo.pushed_at = now()
    for name in moved:
        forge.events.push(repo, user, name, before.get(name, zero), after.get(name, zero))
        branch = name.removeprefix("refs/heads/")
        for issue in repo.issues.values():
            pull = issue.pull
            if pull is None or issue.state != "open" or name not in after:
                continue
            if pull.head_ref == branch:
                previous, pull.head_sha = pull.head_sha, after[name]
                issue.updated_at = now()
                forge.events.pull_request("synchronize", repo, issue, user,
                                          before=previous, after=pull.head_sha)
            elif pull.base_ref == branch:
                pull.base_sha = after[name]
