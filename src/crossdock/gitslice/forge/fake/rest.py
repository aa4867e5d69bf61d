"""What every REST endpoint of the forge shares: who asks, reading bodies as GitHub does,
paging, GitHub's error bodies and rate limit headers."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.state import Issue, Repo, User

if TYPE_CHECKING:
    from crossdock.gitslice.forge.fake.forge import FakeForge

DOCS = "https://docs.github.com/rest"


def forge_of(request: Request) -> FakeForge:
    forge: FakeForge = request.app.state.forge
    return forge


def viewer(request: Request) -> User:
    return forge_of(request).auth.viewer(request.headers.get("authorization", ""))


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers,
                    media_type="application/json; charset=utf-8")


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ForgeFault(400, "Problems parsing JSON") from exc
    if not isinstance(data, dict):
        raise ForgeFault(400, "Problems parsing JSON")
    return data


def field(data: dict[str, Any], name: str, kind: type, *, default: Any = None,
          required: bool = False) -> Any:
    """A body field of the right JSON type, or a 422 naming it."""
    if name not in data or data[name] is None:
        if required:
            raise ForgeFault(422, "Validation Failed",
                             [{"resource": "Request", "code": "missing_field", "field": name}])
        return default
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ForgeFault(422, f"Invalid request. For '{name}', {value!r} is not a "
                         f"{kind.__name__}.")
    return value


def strings(data: dict[str, Any], name: str) -> list[str]:
    values = field(data, name, list, default=[])
    if not all(isinstance(value, str) for value in values):
        raise ForgeFault(422, f"Invalid request. For '{name}', items must be strings.")
    return list(values)


def repo_of(request: Request, user: User | None = None) -> Repo:
    params = request.path_params
    return forge_of(request).state.repo(params["owner"], params["repo"], viewer=user)


def number_of(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except ValueError as exc:
        raise ForgeFault(404, "Not Found") from exc


def page(request: Request, items: list[Any]) -> Response:
    """One page of ``items`` by ``per_page`` (at most 100) and ``page``, with a Link header."""
    try:
        per_page = max(1, min(100, int(request.query_params.get("per_page", "30"))))
        number = max(1, int(request.query_params.get("page", "1")))
    except ValueError as exc:
        raise ForgeFault(422, "Invalid pagination parameters") from exc
    last = max(1, -(-len(items) // per_page))
    links = []
    for rel, target in (("prev", number - 1), ("next", number + 1), ("first", 1),
                        ("last", last)):
        if 1 <= target <= last and (rel in {"first", "last"} or target != number):
            url = request.url.include_query_params(page=target, per_page=per_page)
            links.append(f'<{url}>; rel="{rel}"')
    headers = {"Link": ", ".join(links)} if last > 1 else {}
    start = (number - 1) * per_page
    return json(items[start:start + per_page], headers=headers)


async def edit_and_announce(request: Request, repo: Repo, issue: Issue, user: User) -> None:
    """Apply a PATCH of title, body and state; send GitHub's events for what changed."""
    forge = forge_of(request)
    data = await body_of(request)
    changes, moved = forge.state.edit(repo, issue, user, title=field(data, "title", str),
                                      body=field(data, "body", str),
                                      state=field(data, "state", str))
    send = forge.events.pull_request if issue.pull else forge.events.issues
    if changes:
        send("edited", repo, issue, user, changes=changes)
    if moved:
        send("closed" if moved == "closed" else "reopened", repo, issue, user)


def fault_response(fault: ForgeFault) -> Response:
    """GitHub's error body: a message, a documentation URL, the status, and field errors."""
    body: dict[str, Any] = {"message": fault.message, "documentation_url": DOCS,
                            "status": str(fault.status)}
    if fault.errors:
        body["errors"] = fault.errors
    return JSONResponse(body, fault.status)


async def on_fault(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ForgeFault)
    return fault_response(exc)


def rate_headers(remaining: int, reset: datetime.datetime) -> dict[str, str]:
    """GitHub's rate limit headers."""
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(5000 - remaining), "X-RateLimit-Resource": "core",
            "X-RateLimit-Reset": str(int(reset.timestamp()))}
