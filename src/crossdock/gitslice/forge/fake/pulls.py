"""Pull requests, their merges, reviews and review comments."""

from __future__ import annotations

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
    viewer,
)
from crossdock.gitslice.forge.fake.state import Issue, Repo, User


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


async def update_pull(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    await edit_and_announce(request, repo, issue, user)
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


async def reply_to_comment(request: Request) -> Response:
    forge, user = forge_of(request), viewer(request)
    repo, issue = pull_of(request, user)
    data = await body_of(request)
    review, answer = forge.state.reply(
        repo, issue, user, comment_id=number_of(request, "comment_id"),
        body=field(data, "body", str, required=True))
    forge.events.pull_request_review(repo, issue, review)
    return json(forge.render.review_comment(repo, issue, answer), 201)


_REPO = "/repos/{owner}/{repo}"

ROUTES = [
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
    Route(f"{_REPO}/pulls/{{pull_number}}/comments/{{comment_id}}/replies", reply_to_comment,
          methods=["POST"]),
]
