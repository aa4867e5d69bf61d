"""The forge's users, repositories, app installations, hooks and collaborators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.hooks import Delivery
from crossdock.gitslice.forge.fake.render import stamp
from crossdock.gitslice.forge.fake.rest import (
    body_of,
    field,
    forge_of,
    json,
    number_of,
    page,
    repo_of,
    strings,
    viewer,
)
from crossdock.gitslice.forge.fake.state import ROLES, Hook, now


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
]
