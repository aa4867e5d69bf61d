"""The REST endpoints, under ``/api/v3`` as on GitHub Enterprise Server.

Each endpoint is a module-level function; the forge itself is ``request.app.state.forge``.
Requests and responses follow GitHub's published description (the tests check both).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.hooks import Delivery
from crossdock.gitslice.forge.fake.render import stamp
from crossdock.gitslice.forge.fake.state import ROLES, Hook, Issue, Repo, User, now

if TYPE_CHECKING:
    from crossdock.gitslice.forge.fake.app import FakeForge

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


async def get_user(request: Request) -> Response:
    forge = forge_of(request)
    shown = forge.render.user(viewer(request))
    return json({**shown, "name": None, "company": None, "blog": "", "location": None,
                 "email": None, "hireable": None, "bio": None, "twitter_username": None,
                 "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                 "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"})


async def create_repo(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    data = await body_of(request)
    name = field(data, "name", str, required=True)
    repo = forge.state.create_repo(user, name, private=field(data, "private", bool,
                                                             default=False),
                                   description=field(data, "description", str))
    return json(forge.render.repo(repo), 201)


async def get_repo(request: Request) -> Response:
    return json(forge_of(request).render.repo(repo_of(request, viewer(request))))


async def get_installation(request: Request) -> Response:
    forge = forge_of(request)
    app = forge.auth.as_app(request.headers.get("authorization", ""))
    repo = repo_of(request)
    account = forge.render.user(repo.owner)
    api = forge.render.api
    return json({
        "id": app.installation_id, "app_id": app.id, "app_slug": app.slug,
        "target_id": repo.owner.id, "target_type": "User", "account": account,
        "single_file_name": None, "repository_selection": "all",
        "access_tokens_url": f"{api}/app/installations/{app.installation_id}/access_tokens",
        "html_url": f"{forge.render.origin}/settings/installations/{app.installation_id}",
        "repositories_url": f"{api}/installation/repositories", "events": [],
        "permissions": {"contents": "write", "issues": "write", "pull_requests": "write",
                        "metadata": "read"},
        "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
        "suspended_by": None, "suspended_at": None,
    })


async def create_installation_token(request: Request) -> Response:
    forge = forge_of(request)
    app = forge.auth.as_app(request.headers.get("authorization", ""))
    if number_of(request, "installation_id") != app.installation_id:
        raise ForgeFault(404, "Not Found")
    token, expires = forge.auth.mint(app)
    return json({"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "permissions": {"contents": "write", "issues": "write",
                                 "pull_requests": "write", "metadata": "read"},
                 "repository_selection": "all"}, 201)


async def create_hook(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    forge.state.require(repo, user, "admin")
    data = await body_of(request)
    config = field(data, "config", dict, default={})
    url = field(config, "url", str, required=True)
    hook = Hook(id=forge.state.next_id(), url=url, secret=field(config, "secret", str,
                                                                 default=""),
                events=tuple(strings(data, "events") or ["push"]),
                active=field(data, "active", bool, default=True))
    repo.hooks.append(hook)
    return json(forge.render.hook(repo, hook), 201)


def _hook_deliveries(request: Request) -> list[Delivery]:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    forge.state.require(repo, user, "admin")
    hook_id = number_of(request, "hook_id")
    if all(hook.id != hook_id for hook in repo.hooks):
        raise ForgeFault(404, "Not Found")
    return [delivery for delivery in forge.deliverer.deliveries
            if delivery.hook_id == hook_id]


async def list_hook_deliveries(request: Request) -> Response:
    rendered = [{
        "id": delivery.number, "guid": delivery.id,
        "delivered_at": stamp(delivery.delivered_at or now()),
        "redelivery": delivery.redelivery, "duration": round(delivery.duration, 3),
        "status": "OK" if delivery.status and delivery.status < 400 else  # noqa: PLR2004
        ("failed to connect" if delivery.error else "Invalid HTTP Response"),
        "status_code": delivery.status or 0, "event": delivery.event,
        "action": delivery.action, "installation_id": None,
        "repository_id": delivery.repository_id,
    } for delivery in reversed(_hook_deliveries(request))]
    return page(request, rendered)


async def redeliver(request: Request) -> Response:
    wanted = number_of(request, "delivery_id")
    for delivery in _hook_deliveries(request):
        if delivery.number == wanted:
            forge_of(request).deliverer.redeliver(delivery)
            return json({}, 202)
    raise ForgeFault(404, "Not Found")


async def add_collaborator(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    forge.state.require(repo, user, "admin")
    login = request.path_params["username"]
    forge.state.user(login)
    role = field(await body_of(request), "permission", str, default="push")
    role = {"push": "write", "pull": "read"}.get(role, role)
    if role not in ROLES:
        raise ForgeFault(422, f"Invalid request. permission {role!r} is not a role.")
    repo.collaborators[login] = role
    return Response(status_code=204)


async def get_permission(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    asked = forge.state.user(request.path_params["username"])
    return json(forge.render.permission(repo, asked, asked.login))


async def list_pulls(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    state = request.query_params.get("state", "open")
    head = request.query_params.get("head")
    pulls = [issue for issue in repo.issues.values() if issue.pull
             and state in {"all", issue.state}
             and head in {None, f"{repo.owner.login}:{issue.pull.head_ref}"}]
    pulls.sort(key=lambda issue: -issue.number)
    return page(request, [forge.render.pull(repo, issue) for issue in pulls])


async def create_pull(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    data = await body_of(request)
    issue = forge.state.open_pull(
        repo, user, title=field(data, "title", str, required=True),
        head=field(data, "head", str, required=True),
        base=field(data, "base", str, required=True), body=field(data, "body", str),
        draft=field(data, "draft", bool, default=False))
    forge.events.pull_request("opened", repo, issue, user)
    return json(forge.render.pull(repo, issue), 201)


def pull_of(request: Request, user: User) -> tuple[Repo, Issue]:
    repo = repo_of(request, user)
    return repo, repo.issue(number_of(request, "pull_number"), pull=True)


async def get_pull(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    return json(forge.render.pull(repo, issue))


async def _edit(request: Request, repo: Repo, issue: Issue, user: User) -> None:
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


async def update_pull(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    await _edit(request, repo, issue, user)
    return json(forge.render.pull(repo, issue))


async def merge_pull(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    data = await body_of(request)
    message = field(data, "commit_message", str)
    assert issue.pull is not None
    before = forge.state.branch_sha(repo, issue.pull.base_ref)
    sha = forge.state.merge(repo, issue, user, message)
    forge.events.push(repo, user, f"refs/heads/{issue.pull.base_ref}", before, sha)
    forge.events.pull_request("closed", repo, issue, user)
    return json({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


async def list_reviews(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    assert issue.pull is not None
    return page(request, [forge.render.review(repo, issue, review)
                          for review in issue.pull.reviews])


async def create_review(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    data = await body_of(request)
    comments = field(data, "comments", list, default=[])
    if not all(isinstance(comment, dict) for comment in comments):
        raise ForgeFault(422, "Invalid request. For 'comments', items must be objects.")
    review = forge.state.review(
        repo, issue, user, body=field(data, "body", str, default=""),
        event=field(data, "event", str, default="COMMENT"),
        commit_id=field(data, "commit_id", str), comments=comments)
    forge.events.pull_request_review(repo, issue, review)
    return json(forge.render.review(repo, issue, review))


def review_of(request: Request, user: User) -> tuple[Repo, Issue, int]:
    repo, issue = pull_of(request, user)
    review_id = number_of(request, "review_id")
    assert issue.pull is not None
    if not any(review.id == review_id for review in issue.pull.reviews):
        raise ForgeFault(404, "Not Found")
    return repo, issue, review_id


async def get_review(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue, review_id = review_of(request, user)
    assert issue.pull is not None
    found = next(review for review in issue.pull.reviews if review.id == review_id)
    return json(forge.render.review(repo, issue, found))


async def list_review_comments(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue, review_id = review_of(request, user)
    assert issue.pull is not None
    return page(request, [forge.render.review_comment(repo, issue, comment)
                          for comment in issue.pull.review_comments
                          if comment.review_id == review_id])


async def list_pull_comments(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    assert issue.pull is not None
    return page(request, [forge.render.review_comment(repo, issue, comment)
                          for comment in issue.pull.review_comments])


async def create_issue(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    data = await body_of(request)
    issue = forge.state.open_issue(
        repo, user, title=field(data, "title", str, required=True),
        body=field(data, "body", str), labels=strings(data, "labels"),
        assignees=strings(data, "assignees"))
    forge.events.issues("opened", repo, issue, user)
    return json(forge.render.issue(repo, issue), 201)


def issue_of(request: Request, user: User) -> tuple[Repo, Issue]:
    repo = repo_of(request, user)
    return repo, repo.issue(number_of(request, "issue_number"))


async def get_issue(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    return json(forge.render.issue(repo, issue))


async def update_issue(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    await _edit(request, repo, issue, user)
    return json(forge.render.issue(repo, issue))


async def list_comments(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    return page(request, [forge.render.comment(repo, issue, comment)
                          for comment in issue.comments])


async def create_comment(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    forge.state.require(repo, user, "read")
    made = forge.state.comment(issue, user, field(await body_of(request), "body", str,
                                                   required=True))
    forge.events.issue_comment(repo, issue, made)
    return json(forge.render.comment(repo, issue, made), 201)


async def create_reaction(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    _, comment = forge.state.find_comment(repo, number_of(request, "comment_id"))
    content = field(await body_of(request), "content", str, required=True)
    if content not in {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}:
        raise ForgeFault(422, "Validation Failed",
                         [{"resource": "Reaction", "code": "invalid", "field": "content"}])
    for reaction in comment.reactions:
        if reaction[1].login == user.login and reaction[2] == content:
            return json(forge.render.reaction(reaction), 200)
    reaction = (forge.state.next_id(), user, content)
    comment.reactions.append(reaction)
    return json(forge.render.reaction(reaction), 201)


async def add_labels(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    forge.state.require(repo, user, "triage")
    forge.state.label(repo, issue, strings(await body_of(request), "labels"))
    return json([forge.render.label(repo, name) for name in issue.labels])


async def add_assignees(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = issue_of(request, user)
    forge.state.require(repo, user, "triage")
    for login in strings(await body_of(request), "assignees"):
        assignee = forge.state.user(login)
        if all(known.login != login for known in issue.assignees):
            issue.assignees.append(assignee)
    issue.updated_at = now()
    return json(forge.render.issue(repo, issue), 201)


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


_REPO = "/repos/{owner}/{repo}"

ROUTES = [
    Route("/user", get_user, methods=["GET"]),
    Route("/user/repos", create_repo, methods=["POST"]),
    Route(_REPO, get_repo, methods=["GET"]),
    Route(f"{_REPO}/installation", get_installation, methods=["GET"]),
    Route("/app/installations/{installation_id}/access_tokens", create_installation_token,
          methods=["POST"]),
    Route(f"{_REPO}/hooks", create_hook, methods=["POST"]),
    Route(f"{_REPO}/hooks/{{hook_id}}/deliveries", list_hook_deliveries, methods=["GET"]),
    Route(f"{_REPO}/hooks/{{hook_id}}/deliveries/{{delivery_id}}/attempts", redeliver,
          methods=["POST"]),
    Route(f"{_REPO}/collaborators/{{username}}", add_collaborator, methods=["PUT"]),
    Route(f"{_REPO}/collaborators/{{username}}/permission", get_permission, methods=["GET"]),
    Route(f"{_REPO}/pulls", list_pulls, methods=["GET"]),
    Route(f"{_REPO}/pulls", create_pull, methods=["POST"]),
    Route(f"{_REPO}/pulls/{{pull_number}}", get_pull, methods=["GET"]),
    Route(f"{_REPO}/pulls/{{pull_number}}", update_pull, methods=["PATCH"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/merge", merge_pull, methods=["PUT"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/reviews", list_reviews, methods=["GET"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/reviews", create_review, methods=["POST"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/reviews/{{review_id}}", get_review,
          methods=["GET"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/reviews/{{review_id}}/comments",
          list_review_comments, methods=["GET"]),
    Route(f"{_REPO}/pulls/{{pull_number}}/comments", list_pull_comments, methods=["GET"]),
    Route(f"{_REPO}/issues", create_issue, methods=["POST"]),
    Route(f"{_REPO}/issues/comments/{{comment_id}}/reactions", create_reaction,
          methods=["POST"]),
    Route(f"{_REPO}/issues/{{issue_number}}", get_issue, methods=["GET"]),
    Route(f"{_REPO}/issues/{{issue_number}}", update_issue, methods=["PATCH"]),
    Route(f"{_REPO}/issues/{{issue_number}}/comments", list_comments, methods=["GET"]),
    Route(f"{_REPO}/issues/{{issue_number}}/comments", create_comment, methods=["POST"]),
    Route(f"{_REPO}/issues/{{issue_number}}/labels", add_labels, methods=["POST"]),
    Route(f"{_REPO}/issues/{{issue_number}}/assignees", add_assignees, methods=["POST"]),
]


def build_api(forge: FakeForge) -> Starlette:
    """The REST API of ``forge``, to be mounted at ``/api/v3``."""
    app = Starlette(routes=ROUTES, exception_handlers={ForgeFault: on_fault})
    app.state.forge = forge
    return app


def rate_headers(remaining: int, reset: datetime.datetime) -> dict[str, str]:
    """GitHub's rate limit headers."""
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(5000 - remaining), "X-RateLimit-Resource": "core",
            "X-RateLimit-Reset": str(int(reset.timestamp()))}
