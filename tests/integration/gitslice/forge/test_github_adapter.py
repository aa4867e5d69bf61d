"""The GitHub adapter against the in-package forge over real HTTP on 127.0.0.1.

The ``forge`` fixture checks every request the adapter sent, and every answer, against
GitHub's published OpenAPI description when each test ends.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crossdock.core.backoff import Backoff
from crossdock.gitslice.forge.errors import (
    ForgeAuthError,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeRejected,
    ForgeUnavailable,
)
from crossdock.gitslice.forge.fake import App, FakeForge, serve
from crossdock.gitslice.forge.fake.forge import Fault
from crossdock.gitslice.forge.github import AppAuth, GitHubForge, RetryPolicy, TokenAuth
from crossdock.gitslice.forge.port import (
    IssueState,
    NewIssue,
    NewPullRequest,
    NewReview,
    NewReviewComment,
    Permission,
    PullState,
    Reaction,
    RepoRef,
    ReviewEvent,
    ReviewState,
    Side,
)

from .conftest import ALICE, BOB, exchange_errors
from .seed import commit

pytestmark = pytest.mark.anyio

HELLO = RepoRef(owner="alice", name="hello")
FAST = RetryPolicy(server=Backoff(max_tries=4, base_seconds=0.05), max_rate_wait=5)


def a_repo(forge: FakeForge) -> None:
    repo = forge.state.create_repo(forge.state.user("alice"), "hello")
    commit(repo.path, "main", {"README.md": "hello\n", "src/app.py": "a\nb\nc\nd\n"})
    commit(repo.path, "dev/fix", {"src/app.py": "a\nB\nC\nd\n"}, start="main", message="Fix")


def adapter(forge: FakeForge, token: str = ALICE, retry: RetryPolicy = FAST) -> GitHubForge:
    return GitHubForge(TokenAuth(token=token), base_url=forge.api_url, retry=retry)


def attempts(forge: FakeForge, method: str, tail: str) -> int:
    return sum(1 for e in forge.exchanges if e.method == method and e.path.endswith(tail))


async def test_a_pull_request_is_opened_once_and_then_found_by_its_head(
    forge: FakeForge
) -> None:
    a_repo(forge)
    github = adapter(forge)
    repository = await github.get_repository(HELLO)
    assert (repository.default_branch, repository.clone_url) == \
        ("main", f"{forge.origin}/alice/hello.git")
    assert await github.find_open_pull_request(HELLO, "dev/fix") is None
    opened = await github.create_pull_request(HELLO, NewPullRequest(
        title="Fix", head="dev/fix", base="main", body="Why", draft=True))
    assert (opened.number, opened.draft, opened.state, opened.head_ref, opened.author) == \
        (1, True, PullState.OPEN, "dev/fix", "alice")
    found = await github.find_open_pull_request(HELLO, "dev/fix")
    assert found == opened
    with pytest.raises(ForgeRejected, match="already exists"):
        await github.create_pull_request(HELLO, NewPullRequest(title="Fix", head="dev/fix",
                                                               base="main"))
    forge.state.merge(forge.state.repo("alice", "hello"), forge.state.repo(
        "alice", "hello").issue(1), forge.state.user("alice"), None)
    assert (await github.get_pull_request(HELLO, 1)).state == PullState.MERGED
    assert await github.list_pull_requests(HELLO) == []
    assert [pull.number for pull in await github.list_pull_requests(
        HELLO, state=PullState.MERGED)] == [1]


async def test_a_review_goes_out_and_comes_back_with_every_line_comment(
    forge: FakeForge
) -> None:
    a_repo(forge)
    github = adapter(forge)
    await github.create_pull_request(HELLO, NewPullRequest(title="Fix", head="dev/fix",
                                                           base="main"))
    sent = NewReview(body="From @bob", event=ReviewEvent.REQUEST_CHANGES, comments=(
        NewReviewComment(path="src/app.py", body="one", line=2),
        NewReviewComment(path="src/app.py", body="range", line=3, start_line=2),
        NewReviewComment(path="src/app.py", body="old side", line=2, side=Side.LEFT),
    ))
    review = await adapter(forge, BOB).create_review(HELLO, 1, sent)
    assert (review.state, review.author, review.pull_number) == \
        (ReviewState.CHANGES_REQUESTED, "bob", 1)
    assert await github.get_review(HELLO, 1, review.id) == review
    comments = await github.list_review_comments(HELLO, 1, review.id)
    assert [(c.path, c.body, c.line, c.side, c.start_line, c.start_side) for c in comments] == [
        ("src/app.py", "one", 2, Side.RIGHT, None, None),
        ("src/app.py", "range", 3, Side.RIGHT, 2, Side.RIGHT),
        ("src/app.py", "old side", 2, Side.LEFT, None, None),
    ]
    assert {c.commit_sha for c in comments} == {review.commit_sha}
    with pytest.raises(ForgeNotFound):
        await github.get_review(HELLO, 1, 424242)


async def test_a_pull_requests_reviews_are_listed_whole_oldest_first(forge: FakeForge) -> None:
    a_repo(forge)
    github = adapter(forge)
    await github.create_pull_request(HELLO, NewPullRequest(title="Fix", head="dev/fix",
                                                           base="main"))
    assert await github.list_reviews(HELLO, 1) == []
    first = await adapter(forge, BOB).create_review(HELLO, 1, NewReview(
        body="Looks right", event=ReviewEvent.APPROVE))
    repo, bob = forge.state.repo("alice", "hello"), forge.state.user("bob")
    for n in range(100):  # straight into the state: the list takes two pages of 100
        forge.state.review(repo, repo.issue(1), bob, body=f"note {n}", event="COMMENT",
                           commit_id=None, comments=[])
    before = attempts(forge, "GET", "/pulls/1/reviews")
    listed = await github.list_reviews(HELLO, 1)
    assert attempts(forge, "GET", "/pulls/1/reviews") - before == 2
    assert listed[0] == first
    assert [review.body for review in listed[1:]] == [f"note {n}" for n in range(100)]
    assert {(review.author, review.pull_number) for review in listed[1:]} == {("bob", 1)}
    with pytest.raises(ForgeNotFound):
        await github.list_reviews(HELLO, 2)


async def test_issues_comments_labels_assignees_and_reactions(forge: FakeForge) -> None:
    a_repo(forge)
    github = adapter(forge)
    issue = await github.create_issue(HELLO, NewIssue(title="Broken", body="It breaks",
                                                      labels=("bug",), assignees=("bob",)))
    assert (issue.number, issue.labels, issue.assignees, issue.state) == \
        (1, ("bug",), ("bob",), IssueState.OPEN)
    await github.add_labels(HELLO, 1, ["p1"])
    await github.add_assignees(HELLO, 1, ["alice"])
    again = await github.get_issue(HELLO, 1)
    assert (again.labels, again.assignees, again.is_pull_request) == \
        (("bug", "p1"), ("bob", "alice"), False)
    made = await github.create_comment(HELLO, 1, "First")
    await github.add_reaction(HELLO, made.id, Reaction.EYES)
    stored = forge.state.repo("alice", "hello").issue(1).comments[0]
    assert [(user.login, content) for _, user, content in stored.reactions] == \
        [("alice", "eyes")]
    for n in range(104):  # more than one page of 100
        forge.state.comment(forge.state.repo("alice", "hello").issue(1),
                            forge.state.user("bob"), f"c{n}")
    listed = await github.list_comments(HELLO, 1)
    assert [c.body for c in listed] == ["First", *(f"c{n}" for n in range(104))]
    assert attempts(forge, "GET", "/issues/1/comments") == 2


async def test_issues_are_listed_whole_without_pull_requests_and_since_a_time(
    forge: FakeForge,
) -> None:
    a_repo(forge)
    github = adapter(forge)
    await github.create_pull_request(HELLO, NewPullRequest(title="Fix", head="dev/fix",
                                                           base="main"))
    repo = forge.state.repo("alice", "hello")
    for n in range(101):  # more than one page of 100
        forge.state.open_issue(repo, forge.state.user("bob"), title=f"i{n}", body=None,
                               labels=[], assignees=[])
    await github.close_issue(HELLO, 2)
    listed = await github.list_issues(HELLO)
    assert [issue.number for issue in listed] == list(range(102, 1, -1))
    assert listed[-1].state == IssueState.CLOSED
    assert listed[0].created_at is not None
    assert attempts(forge, "GET", "/repos/alice/hello/issues") == 2
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await github.list_issues(HELLO, since=future) == []
    asked = [e.query for e in forge.exchanges if e.path.endswith("/alice/hello/issues")][-1]
    assert f"since={future:%Y-%m-%dT%H:%M:%SZ}" in unquote(asked)  # ISO 8601, as documented


async def test_permissions_are_roles_and_a_stranger_has_none(forge: FakeForge) -> None:
    a_repo(forge)
    forge.state.add_user("carol")
    repo = forge.state.repo("alice", "hello")
    repo.collaborators["bob"] = "write"
    repo.private = True
    github = adapter(forge)
    assert await github.permission(HELLO, "alice") == Permission.ADMIN
    assert await github.permission(HELLO, "bob") == Permission.WRITE
    assert await github.permission(HELLO, "carol") == Permission.NONE
    assert await github.permission(HELLO, "nobody-at-all") == Permission.NONE


async def test_missing_objects_and_bad_tokens_become_forge_errors_without_the_token(
    forge: FakeForge
) -> None:
    a_repo(forge)
    with pytest.raises(ForgeNotFound, match="404"):
        await adapter(forge).get_repository(RepoRef(owner="alice", name="nope"))
    secret = "ghp_revoked_0000000000000000"
    with pytest.raises(ForgeAuthError) as caught:
        await adapter(forge, secret).get_repository(HELLO)
    assert "Bad credentials" in str(caught.value)
    assert secret not in str(caught.value)


async def test_server_errors_are_retried_with_backoff_for_reads_only(forge: FakeForge) -> None:
    a_repo(forge)
    github = adapter(forge)
    forge.faults.append(Fault(status=502, times=2, path="/repos/alice/hello"))
    assert (await github.get_repository(HELLO)).default_branch == "main"
    assert attempts(forge, "GET", "/repos/alice/hello") == 3
    forge.faults.append(Fault(status=500, times=10, path="/repos/alice/hello"))
    with pytest.raises(ForgeUnavailable, match="500"):
        await github.get_repository(HELLO)
    assert attempts(forge, "GET", "/repos/alice/hello") == 3 + 4
    forge.faults.clear()
    forge.faults.append(Fault(status=502, times=1, path="/issues"))
    with pytest.raises(ForgeUnavailable):
        await github.create_issue(HELLO, NewIssue(title="Once"))
    assert attempts(forge, "POST", "/repos/alice/hello/issues") == 1


async def test_a_secondary_rate_limit_is_waited_out_when_short(forge: FakeForge) -> None:
    a_repo(forge)
    forge.faults.append(Fault(status=403, retry_after=1, path="/repos/alice/hello"))
    started = time.monotonic()
    assert (await adapter(forge).get_repository(HELLO)).ref == HELLO
    assert time.monotonic() - started >= 1
    assert attempts(forge, "GET", "/repos/alice/hello") == 2


async def test_a_long_rate_limit_fails_at_once_saying_when_it_resets(forge: FakeForge) -> None:
    a_repo(forge)
    forge.faults.append(Fault(status=403, rate_limited=True, reset_in=3600))
    with pytest.raises(ForgeRateLimited) as caught:
        await adapter(forge).get_repository(HELLO)
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    assert abs((caught.value.reset_at - expected).total_seconds()) < 5
    assert attempts(forge, "GET", "/repos/alice/hello") == 1


async def test_the_last_request_of_the_window_stops_the_next_before_it_is_sent(
    forge: FakeForge
) -> None:
    a_repo(forge)
    github = adapter(forge)
    forge._remaining = 1  # this answer spends the window's last request
    await github.get_repository(HELLO)
    with pytest.raises(ForgeRateLimited):
        await github.get_issue(HELLO, 1)
    assert attempts(forge, "GET", "/issues/1") == 0


@pytest.fixture
def app_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
async def app_forge(tmp_path: Path, app_key: tuple[str, str]) -> AsyncIterator[FakeForge]:
    # Tokens live 62 s: the client keeps one until a minute before it expires, so ~2 s here.
    app = App(id=42, slug="crossdock", public_key=app_key[1],
              token_lifetime=datetime.timedelta(seconds=62))
    async with serve(tmp_path / "forge", app=app) as running:
        running.state.add_user("alice", ALICE)
        yield running
        errors = exchange_errors(running)
    assert not errors, "\n".join(errors[:20])


async def test_a_github_app_acts_through_a_cached_installation_token_refreshed_before_expiry(
    app_forge: FakeForge, app_key: tuple[str, str]
) -> None:
    a_repo(app_forge)
    app = app_forge.auth.app
    assert app is not None
    github = GitHubForge(AppAuth(app_id=42, private_key=app_key[0]),
                         base_url=app_forge.api_url, retry=FAST)
    await github.get_repository(HELLO)
    made = await github.create_issue(HELLO, NewIssue(title="From the app"))
    assert made.author == "crossdock[bot]"
    assert len(app.minted) == 1
    time.sleep(2.5)
    await github.get_issue(HELLO, made.number)
    assert len(app.minted) == 2


async def test_a_wrong_app_key_is_an_auth_error(app_forge: FakeForge) -> None:
    a_repo(app_forge)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    github = GitHubForge(AppAuth(app_id=42, private_key=other), base_url=app_forge.api_url,
                         retry=FAST)
    with pytest.raises(ForgeAuthError):
        await github.get_repository(HELLO)


async def test_closing_a_pull_request_or_an_issue(forge: FakeForge) -> None:
    a_repo(forge)
    github = adapter(forge)
    await github.create_pull_request(HELLO, NewPullRequest(title="Fix", head="dev/fix",
                                                           base="main"))
    closed = await github.close_pull_request(HELLO, 1)
    assert closed.state == PullState.CLOSED
    assert await github.find_open_pull_request(HELLO, "dev/fix") is None
    issue = await github.create_issue(HELLO, NewIssue(title="Bug"))
    assert (await github.close_issue(HELLO, issue.number)).state == IssueState.CLOSED
    repo = forge.state.repo("alice", "hello")
    commit(repo.path, "dev/two", {"b.txt": "b\n"}, start="main")
    await github.create_pull_request(HELLO, NewPullRequest(title="Two", head="dev/two",
                                                           base="main"))
    forge.state.merge(repo, repo.issue(3), forge.state.user("alice"), None)
    patches = attempts(forge, "PATCH", "/pulls/3")
    assert (await github.close_pull_request(HELLO, 3)).state == PullState.MERGED
    assert attempts(forge, "PATCH", "/pulls/3") == patches
