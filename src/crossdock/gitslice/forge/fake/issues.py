"""Issues (and the issue half of pull requests): comments, reactions, labels, assignees."""

from __future__ import annotations

import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.rest import (
    body_of,
    edit_and_announce,
    field,
    forge_of,
    json,
    number_of,
    page,
    repo_of,
    strings,
    viewer,
)
from crossdock.gitslice.forge.fake.state import Issue, Repo, User, now


async def list_issues(request: Request) -> Response:
    """Issues and pull requests (GitHub lists both here), newest first, by ``state`` (open
    unless told) and ``since`` (updated at or after)."""
    forge, user = forge_of(request), viewer(request)
    repo = repo_of(request, user)
    state = request.query_params.get("state", "open")
    since = request.query_params.get("since")
    try:
        after = datetime.datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise ForgeFault(422, "Validation Failed",
                         [{"resource": "Issue", "code": "invalid", "field": "since"}]) from exc
    if after is not None and after.tzinfo is None:
        after = after.replace(tzinfo=datetime.UTC)
    found = [issue for issue in repo.issues.values() if state in {"all", issue.state}
             and (after is None or issue.updated_at >= after)]
    found.sort(key=lambda issue: -issue.number)
    return page(request, [forge.render.issue(repo, issue) for issue in found])


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
    await edit_and_announce(request, repo, issue, user)
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


_REPO = "/repos/{owner}/{repo}"

ROUTES = [
    Route(f"{_REPO}/issues", list_issues, methods=["GET"]),
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
