"""The GitHub adapter of the forge port, on githubkit (its failures: ``forge.failures``).

Auth is a personal access token or a GitHub App: the app's JWT (from its id and private key)
finds the installation on the repository's owner, and githubkit's installation token is
cached until a minute before it expires, then minted again.

Retries are bounded. A rate limit (GitHub's ``Retry-After``, or ``X-RateLimit-Remaining: 0``
with ``X-RateLimit-Reset``, on a primary or secondary limit) is waited out when the wait is at
most ``RetryPolicy.max_rate_wait``, else it becomes ``ForgeRateLimited(reset_at=...)`` at
once; a response that spends the last request of the window makes the next call wait (or
refuse) without asking GitHub first. A 5xx or a timeout is retried after the policy's
``server`` backoff (exponential, with jitter) for reads and idempotent writes only: a POST
that timed out may have been done, and doing it twice would open two pull requests. Errors
leave as ``forge.errors``, without credentials.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import anyio
import httpx
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.utils import UNSET

from crossdock.gitslice.forge.errors import ForgeNotFound, ForgeRateLimited
from crossdock.gitslice.forge.failures import (
    CLIENT_ERROR,
    RetryDecision,
    RetryPolicy,
    retry_after,
    translated,
)
from crossdock.gitslice.forge.port import (
    Comment,
    Forge,
    Issue,
    IssueState,
    NewIssue,
    NewPullRequest,
    NewReview,
    Permission,
    PullRequest,
    PullState,
    Reaction,
    RepoRef,
    Repository,
    Review,
    ReviewComment,
    ReviewState,
    Side,
)

GITHUB_API = "https://api.github.com"

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenAuth:
    """A personal access token (git-slice-tools' ``GIT_SLICE_*_PASSWORD``)."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppAuth:
    """A GitHub App: its id and PEM private key; the installation is found per owner."""

    app_id: int
    private_key: str = field(repr=False)
    installation_id: int | None = None

def _login(user: Any) -> str:
    return str(getattr(user, "login", "") or "ghost")


def _given(value: Any, default: T) -> Any | T:
    return default if value is UNSET or value is None else value


class GitHubForge:
    """The forge port on GitHub's REST API (or GitHub Enterprise Server's, or ours in tests)."""

    def __init__(self, auth: TokenAuth | AppAuth, *, base_url: str = GITHUB_API,
                 retry: RetryPolicy | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.auth = auth
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._options: dict[str, Any] = {
            "base_url": base_url, "timeout": timeout, "async_transport": transport,
            "auto_retry": RetryDecision(self.retry), "http_cache": False, "trust_env": False,
            "user_agent": "crossdock-gitslice",
            "async_event_hooks": {"response": [self._note_limit]},
        }
        self._clients: dict[str, GitHub[Any]] = {}
        self._exhausted_until: datetime.datetime | None = None

    async def _note_limit(self, response: httpx.Response) -> None:
        if response.status_code < CLIENT_ERROR and \
                response.headers.get("x-ratelimit-remaining") == "0":
            wait = retry_after(response)
            if wait is not None:
                self._exhausted_until = datetime.datetime.now(datetime.UTC) + wait

    async def _respect_limit(self) -> None:
        until = self._exhausted_until
        if until is None:
            return
        wait = (until - datetime.datetime.now(datetime.UTC)).total_seconds()
        if wait > self.retry.max_rate_wait:
            raise ForgeRateLimited(f"GitHub's rate limit is spent until {until:%H:%M:%S} UTC",
                                   reset_at=until)
        self._exhausted_until = None
        if wait > 0:
            await anyio.sleep(wait)

    async def _client(self, repo: RepoRef) -> GitHub[Any]:
        await self._respect_limit()
        if isinstance(self.auth, TokenAuth):
            key = ""
            if key not in self._clients:
                self._clients[key] = GitHub(TokenAuthStrategy(self.auth.token), **self._options)
            return self._clients[key]
        key = repo.owner.lower()
        if key not in self._clients:
            app = AppAuthStrategy(self.auth.app_id, self.auth.private_key)
            installation = self.auth.installation_id
            if installation is None:
                with translated():
                    as_app = GitHub(app, **self._options)
                    found = await as_app.rest.apps.async_get_repo_installation(repo.owner,
                                                                               repo.name)
                installation = found.parsed_data.id
            strategy = AppInstallationAuthStrategy(self.auth.app_id, self.auth.private_key,
                                                   installation)
            self._clients[key] = GitHub(strategy, **self._options)
        return self._clients[key]

    async def get_repository(self, repo: RepoRef) -> Repository:
        github = await self._client(repo)
        with translated():
            data = (await github.rest.repos.async_get(repo.owner, repo.name)).parsed_data
        return Repository(ref=RepoRef.parse(data.full_name), default_branch=data.default_branch,
                          clone_url=data.clone_url, html_url=data.html_url,
                          private=data.private)

    def _pull(self, data: Any) -> PullRequest:
        state = PullState.MERGED if getattr(data, "merged_at", None) else PullState(data.state)
        return PullRequest(
            number=data.number, title=data.title, body=data.body or "", state=state,
            draft=bool(_given(data.draft, default=False)), head_ref=data.head.ref,
            head_sha=data.head.sha, base_ref=data.base.ref, author=_login(data.user),
            html_url=data.html_url, labels=tuple(label.name for label in data.labels),
            assignees=tuple(_login(user) for user in _given(data.assignees, []) or []))

    async def get_pull_request(self, repo: RepoRef, number: int) -> PullRequest:
        github = await self._client(repo)
        with translated():
            response = await github.rest.pulls.async_get(repo.owner, repo.name, number)
        return self._pull(response.parsed_data)

    async def _pulls(self, repo: RepoRef, state: Literal["open", "closed", "all"],
                     head: str | None) -> list[PullRequest]:
        github = await self._client(repo)
        with translated():
            pages: Any = github.rest.paginate(
                github.rest.pulls.async_list, owner=repo.owner, repo=repo.name,
                state=state, per_page=100, head=head or UNSET)
            return [self._pull(data) async for data in pages]

    async def list_pull_requests(
        self, repo: RepoRef, *, state: PullState | None = PullState.OPEN
    ) -> list[PullRequest]:
        asked: Literal["open", "closed", "all"] = \
            "open" if state == PullState.OPEN else "closed" if state else "all"
        pulls = await self._pulls(repo, asked, None)
        return [pull for pull in pulls if state in {None, PullState.OPEN} or pull.state == state]

    async def find_open_pull_request(self, repo: RepoRef, head: str) -> PullRequest | None:
        pulls = await self._pulls(repo, "open", f"{repo.owner}:{head}")
        return pulls[0] if pulls else None

    async def create_pull_request(self, repo: RepoRef, new: NewPullRequest) -> PullRequest:
        github = await self._client(repo)
        with translated():
            response = await github.rest.pulls.async_create(
                repo.owner, repo.name, title=new.title, head=new.head, base=new.base,
                body=new.body, draft=new.draft)
        return self._pull(response.parsed_data)

    async def close_pull_request(self, repo: RepoRef, number: int) -> PullRequest:
        current = await self.get_pull_request(repo, number)
        if current.state != PullState.OPEN:
            return current
        github = await self._client(repo)
        with translated():
            response = await github.rest.pulls.async_update(repo.owner, repo.name, number,
                                                            state="closed")
        return self._pull(response.parsed_data)

    def _comment(self, data: Any) -> Comment:
        return Comment(id=data.id, body=_given(data.body, ""), author=_login(data.user),
                       html_url=data.html_url, created_at=data.created_at)

    async def list_comments(self, repo: RepoRef, number: int) -> list[Comment]:
        github = await self._client(repo)
        with translated():
            pages: Any = github.rest.paginate(github.rest.issues.async_list_comments,
                                         owner=repo.owner, repo=repo.name,
                                         issue_number=number, per_page=100)
            return [self._comment(data) async for data in pages]

    async def create_comment(self, repo: RepoRef, number: int, body: str) -> Comment:
        github = await self._client(repo)
        with translated():
            response = await github.rest.issues.async_create_comment(
                repo.owner, repo.name, number, body=body)
        return self._comment(response.parsed_data)

    async def add_reaction(self, repo: RepoRef, comment_id: int, reaction: Reaction) -> None:
        github = await self._client(repo)
        with translated():
            await github.rest.reactions.async_create_for_issue_comment(
                repo.owner, repo.name, comment_id, content=reaction.value)

    def _review(self, number: int, data: Any) -> Review:
        return Review(id=data.id, pull_number=number, author=_login(data.user),
                      state=ReviewState(data.state), body=data.body or "",
                      commit_sha=data.commit_id or "", html_url=data.html_url)

    async def get_review(self, repo: RepoRef, number: int, review_id: int) -> Review:
        github = await self._client(repo)
        with translated():
            response = await github.rest.pulls.async_get_review(repo.owner, repo.name, number,
                                                                review_id)
        return self._review(number, response.parsed_data)

    async def list_reviews(self, repo: RepoRef, number: int) -> list[Review]:
        github = await self._client(repo)
        with translated():
            pages: Any = github.rest.paginate(github.rest.pulls.async_list_reviews,
                                         owner=repo.owner, repo=repo.name, pull_number=number,
                                         per_page=100)
            found = [data async for data in pages]
        return [self._review(number, data) for data in found]

    def _review_comment(self, data: Any) -> ReviewComment:
        return ReviewComment(
            id=data.id, review_id=_given(data.pull_request_review_id, None),
            author=_login(data.user), body=data.body, path=data.path,
            commit_sha=data.commit_id, line=_given(data.line, None),
            side=Side(_given(data.side, "RIGHT")), start_line=_given(data.start_line, None),
            start_side=Side(data.start_side) if _given(data.start_side, None) else None,
            in_reply_to=_given(data.in_reply_to_id, None), html_url=data.html_url)

    async def list_review_comments(
        self, repo: RepoRef, number: int, review_id: int
    ) -> list[ReviewComment]:
        github = await self._client(repo)
        with translated():
            pages: Any = github.rest.paginate(github.rest.pulls.async_list_comments_for_review,
                                         owner=repo.owner, repo=repo.name, pull_number=number,
                                         review_id=review_id, per_page=100)
            found = [data async for data in pages]
        return [self._review_comment(data) for data in found]

    async def create_review(self, repo: RepoRef, number: int, new: NewReview) -> Review:
        github = await self._client(repo)
        comments: list[dict[str, Any]] = []
        for comment in new.comments:
            given: dict[str, Any] = {"path": comment.path, "body": comment.body,
                                     "line": comment.line, "side": comment.side.value}
            if comment.start_line is not None:
                given["start_line"] = comment.start_line
                given["start_side"] = (comment.start_side or comment.side).value
            comments.append(given)
        with translated():
            response = await github.rest.pulls.async_create_review(
                repo.owner, repo.name, number, body=new.body, event=new.event.value,
                comments=cast("Any", comments), commit_id=new.commit_sha or UNSET)
        return self._review(number, response.parsed_data)

    async def reply_to_review_comment(
        self, repo: RepoRef, number: int, comment_id: int, body: str
    ) -> ReviewComment:
        github = await self._client(repo)
        with translated():
            response = await github.rest.pulls.async_create_reply_for_review_comment(
                repo.owner, repo.name, number, comment_id, body=body)
        return self._review_comment(response.parsed_data)

    def _issue(self, data: Any) -> Issue:
        labels = tuple(label if isinstance(label, str) else str(label.name)
                       for label in data.labels)
        return Issue(number=data.number, title=data.title, body=_given(data.body, ""),
                     state=IssueState(data.state), author=_login(data.user),
                     html_url=data.html_url, labels=labels,
                     assignees=tuple(_login(user) for user in _given(data.assignees, [])),
                     is_pull_request=_given(data.pull_request, None) is not None,
                     created_at=data.created_at)

    async def get_issue(self, repo: RepoRef, number: int) -> Issue:
        github = await self._client(repo)
        with translated():
            response = await github.rest.issues.async_get(repo.owner, repo.name, number)
        return self._issue(response.parsed_data)

    async def list_issues(
        self, repo: RepoRef, *, since: datetime.datetime | None = None
    ) -> list[Issue]:
        github = await self._client(repo)
        # githubkit writes a datetime query parameter as str() does (a space, not a "T");
        # GitHub documents ISO 8601 as YYYY-MM-DDTHH:MM:SSZ, so it goes as that.
        stamp = since.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else UNSET
        with translated():
            pages: Any = github.rest.paginate(
                github.rest.issues.async_list_for_repo, owner=repo.owner, repo=repo.name,
                state="all", since=cast("Any", stamp), per_page=100)
            found = [self._issue(data) async for data in pages]
        return [issue for issue in found if not issue.is_pull_request]

    async def create_issue(self, repo: RepoRef, new: NewIssue) -> Issue:
        github = await self._client(repo)
        with translated():
            response = await github.rest.issues.async_create(
                repo.owner, repo.name, title=new.title, body=new.body,
                labels=list(new.labels), assignees=list(new.assignees))
        return self._issue(response.parsed_data)

    async def close_issue(self, repo: RepoRef, number: int) -> Issue:
        github = await self._client(repo)
        with translated():
            response = await github.rest.issues.async_update(repo.owner, repo.name, number,
                                                             state="closed")
        return self._issue(response.parsed_data)

    async def add_labels(self, repo: RepoRef, number: int, labels: Sequence[str]) -> None:
        github = await self._client(repo)
        with translated():
            await github.rest.issues.async_add_labels(repo.owner, repo.name, number,
                                                      data={"labels": list(labels)})

    async def add_assignees(
        self, repo: RepoRef, number: int, assignees: Sequence[str]
    ) -> None:
        github = await self._client(repo)
        with translated():
            await github.rest.issues.async_add_assignees(repo.owner, repo.name, number,
                                                         assignees=list(assignees))

    async def permission(self, repo: RepoRef, user: str) -> Permission:
        github = await self._client(repo)
        try:
            with translated():
                response = await github.rest.repos.async_get_collaborator_permission_level(
                    repo.owner, repo.name, user)
        except ForgeNotFound:
            return Permission.NONE
        data = response.parsed_data
        role = str(_given(getattr(data, "role_name", None), data.permission))
        try:
            return Permission(role)
        except ValueError:
            # Custom organisation roles carry their own names; the base permission says more.
            return Permission(data.permission)

    async def aclose(self) -> None:
        """Nothing is held between calls; here so callers can close any forge alike."""


def _implements_the_port(adapter: GitHubForge) -> Forge:
    """Never called: mypy checks here that the adapter has every method of the port."""
    return adapter
