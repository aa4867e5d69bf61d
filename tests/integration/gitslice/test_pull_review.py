"""Pull-review: an upstream review copied onto the linked slice pull request, on the in-package
forge over HTTP (its API exchanges checked against GitHub's description when each test ends),
with a real PostgreSQL and real git."""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from pathlib import Path

import pytest

from crossdock.core.database import Database
from crossdock.gitslice.config import Credentials, ForgeConfig, SliceConfig
from crossdock.gitslice.errors import NotLinked
from crossdock.gitslice.forge.fake import FakeForge
from crossdock.gitslice.forge.fake.state import Pull
from crossdock.gitslice.forge.github import GitHubForge, TokenAuth
from crossdock.gitslice.forge.port import (
    NewPullRequest,
    NewReview,
    NewReviewComment,
    PullRequest,
    RepoRef,
    Review,
    ReviewEvent,
    Side,
)
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.records import Copy, CopyKind, PullLink
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

from .forge.conftest import ALICE, BOB, forge  # noqa: F401 (the fixture, shared)
from .forge.seed import commit
from .gitrepos import git

pytestmark = pytest.mark.anyio

UPSTREAM = RepoRef(owner="alice", name="upstream")
SLICE = RepoRef(owner="alice", name="slice")
APP = "a\nb\nc\nd\ne\n"


@dataclasses.dataclass
class Loop:
    """A slice on the forge with a pushed branch, its upstream and slice pull requests linked."""

    forge: FakeForge
    syncer: Syncer
    store: SliceStore
    upstream_pr: PullRequest
    slice_pr: PullRequest
    #: The slice tip the push was made from (the slice pull request has moved on since).
    pushed_from: str

    def slice_pull(self) -> Pull:
        pull = self.forge.state.repo("alice", "slice").issues[self.slice_pr.number].pull
        assert pull is not None
        return pull

    def posts(self) -> int:
        return sum(1 for e in self.forge.exchanges if e.method == "POST")


def _api(hub: FakeForge, token: str) -> GitHubForge:
    return GitHubForge(TokenAuth(token=token), base_url=hub.api_url)


def _push_over_http(hub: FakeForge, branch: str, files: dict[str, str]) -> str:
    """Commit on a slice branch through git over HTTP, so the forge sees the push."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        url = hub.origin.replace("://", f"://dev:{ALICE}@") + "/alice/slice.git"
        git(work, "clone", "--quiet", "--branch", branch, url, ".")
        for name, content in files.items():
            (work / name).write_text(content)
        git(work, "commit", "--quiet", "-am", "more")
        git(work, "push", "--quiet", "origin", branch)
        return git(work, "rev-parse", "HEAD")


@pytest.fixture
async def loop(forge: FakeForge, database: Database, tmp_path: Path) -> Loop:  # noqa: F811
    alice = forge.state.user("alice")
    upstream = forge.state.create_repo(alice, "upstream")
    slice_repo = forge.state.create_repo(alice, "slice")
    commit(upstream.path, "main", {"README.md": "hello\n", "src/app.py": APP,
                                   "internal/plan.md": "one\ntwo\n"}, message="base")
    commit(upstream.path, "main", {"src/util.py": "1\n2\n3\n"}, message="util")
    store = SliceStore(database)
    syncer = Syncer(store, data_dir=tmp_path / "data",
                    credentials=Credentials(upstream_token=ALICE, slice_token=ALICE))
    await syncer.init(SliceConfig(
        name="demo", upstream_url=f"{forge.origin}/alice/upstream.git",
        slice_url=f"{forge.origin}/alice/slice.git", ignores=("internal/",),
        forge=ForgeConfig(api_url=forge.api_url, upstream_repo="alice/upstream",
                          slice_repo="alice/slice")))
    await syncer.pull("demo")
    assert git(slice_repo.path, "ls-tree", "-r", "--name-only", "main").split() == \
        ["README.md", "src/app.py", "src/util.py"]
    pushed_from = commit(slice_repo.path, "feature", {"src/app.py": "a\nB\nC\nD\ne\n"},
                         start="main", message="Fix app")
    plan = await syncer.push("demo", PushRequest(branch="feature", message="Fix app"))
    api = _api(forge, ALICE)
    upstream_pr = await api.create_pull_request(UPSTREAM, NewPullRequest(
        title="Fix app", head=plan.target_branch, base="main"))
    slice_pr = await api.create_pull_request(SLICE, NewPullRequest(
        title="Fix app", head="feature", base="main"))
    await store.link(PullLink(slice_name="demo", upstream_pr=upstream_pr.number,
                              slice_pr=slice_pr.number, upstream_branch=plan.target_branch,
                              slice_branch="feature", upstream_url=upstream_pr.html_url))
    # In a thread: the forge answers on this event loop.
    await asyncio.to_thread(_push_over_http, forge, "feature", {"src/util.py": "1\n2\n3\n4\n"})
    assert upstream_pr.head_sha == plan.commit
    return Loop(forge=forge, syncer=syncer, store=store, upstream_pr=upstream_pr,
                slice_pr=slice_pr, pushed_from=pushed_from)


async def _review(loop: Loop) -> Review:
    """Bob's upstream review: two line comments on the slice's files, one on an ignored one."""
    return await _api(loop.forge, BOB).create_review(
        UPSTREAM, loop.upstream_pr.number, NewReview(
            body="Two things.", event=ReviewEvent.REQUEST_CHANGES, comments=(
                NewReviewComment(path="src/app.py", body="Why B?", line=2),
                NewReviewComment(path="src/app.py", body="These three", line=4,
                                 start_line=2, start_side=Side.RIGHT),
                NewReviewComment(path="internal/plan.md", body="The plan says otherwise",
                                 line=1),
            )))


async def test_a_review_lands_on_the_slice_pull_request_as_one_review_on_the_same_lines(
    loop: Loop,
) -> None:
    review = await _review(loop)
    copied = await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    assert (copied.created, copied.comments, copied.left_out, copied.slice_pr) == \
        (True, 2, 1, loop.slice_pr.number)
    pull = loop.slice_pull()
    assert [made.id for made in pull.reviews] == [copied.review_id]
    made = pull.reviews[0]
    assert copied.html_url.endswith(f"/alice/slice/pull/{loop.slice_pr.number}"
                                    f"#pullrequestreview-{made.id}")
    assert made.state == "COMMENTED"
    assert made.body.startswith(f"From @bob on {review.html_url}:")
    assert "Changes requested upstream" in made.body
    assert "Two things." in made.body
    assert "1 comment on files outside the slice was left out" in made.body
    # The review sits on the slice commit the pushed upstream commit was made from, not on
    # the slice pull request's newer head.
    assert made.commit_id == loop.pushed_from != loop.slice_pull().head_sha
    lines = [(c.path, c.line, c.side, c.start_line, c.start_side, c.body, c.commit_id)
             for c in pull.review_comments]
    assert lines == [
        ("src/app.py", 2, "RIGHT", None, None, "From @bob:\n\nWhy B?", loop.pushed_from),
        ("src/app.py", 4, "RIGHT", 2, "RIGHT", "From @bob:\n\nThese three", loop.pushed_from),
    ]
    assert "plan" not in made.body + "".join(c.body for c in pull.review_comments)


async def test_pulling_a_review_again_posts_nothing(loop: Loop) -> None:
    review = await _review(loop)
    first = await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    posts = loop.posts()
    again = await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    assert (again.created, again.review_id, again.html_url) == \
        (False, first.review_id, first.html_url)
    assert loop.posts() == posts
    assert len(loop.slice_pull().reviews) == 1
    assert len(loop.slice_pull().review_comments) == 2


async def test_a_review_of_an_unlinked_pull_request_is_refused_with_nothing_posted(
    loop: Loop,
) -> None:
    review = await _review(loop)
    posts = loop.posts()
    with pytest.raises(NotLinked, match=r"upstream pull request #7 is not linked to a slice "
                                        r"pull request: raise it with"):
        await loop.syncer.pull_review("demo", 7, review.id)
    assert loop.posts() == posts
    assert loop.slice_pull().reviews == []
    assert await loop.store.copy("demo", CopyKind.REVIEW, review.id) is None


async def test_an_upstream_reply_is_posted_in_the_copied_thread(loop: Loop) -> None:
    review = await _review(loop)
    await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    upstream_comments = await _api(loop.forge, BOB).list_review_comments(
        UPSTREAM, loop.upstream_pr.number, review.id)
    asked = next(c for c in upstream_comments if c.body == "Why B?")
    answer = await _api(loop.forge, ALICE).reply_to_review_comment(
        UPSTREAM, loop.upstream_pr.number, asked.id, "Because of the spec.")
    assert answer.review_id is not None
    assert answer.in_reply_to == asked.id
    copied = await loop.syncer.pull_review("demo", loop.upstream_pr.number, answer.review_id)
    assert (copied.created, copied.comments, copied.left_out) == (True, 1, 0)
    pull = loop.slice_pull()
    thread = await loop.store.copy("demo", CopyKind.REVIEW_COMMENT, asked.id)
    assert thread is not None
    reply = pull.review_comments[-1]
    assert (reply.in_reply_to, reply.path, reply.line, reply.body) == \
        (thread.slice_id, "src/app.py", 2, "From @alice:\n\nBecause of the spec.")
    assert len(pull.review_comments) == 3
    posts = loop.posts()
    again = await loop.syncer.pull_review("demo", loop.upstream_pr.number, answer.review_id)
    assert not again.created
    assert loop.posts() == posts
    assert len(loop.slice_pull().review_comments) == 3


async def test_an_approval_is_stated_and_a_comment_off_the_slice_diff_is_left_out(
    loop: Loop,
) -> None:
    review = await _api(loop.forge, BOB).create_review(
        UPSTREAM, loop.upstream_pr.number, NewReview(
            body="", event=ReviewEvent.APPROVE, comments=(
                NewReviewComment(path="README.md", body="Typo, but fine", line=1),)))
    copied = await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    assert (copied.created, copied.comments, copied.left_out) == (True, 0, 1)
    made = loop.slice_pull().reviews[0]
    assert made.state == "COMMENTED"
    assert made.body == (
        f"From @bob on {review.html_url}:\n\n**Approved upstream.**\n\n"
        "_1 comment on lines this pull request does not change in the slice was left out._")
    assert loop.slice_pull().review_comments == []


@pytest.mark.parametrize("recorded", [0, 1], ids=["none-recorded", "first-comment-recorded"])
async def test_a_review_a_crashed_pull_posted_is_recorded_not_posted_again(
    loop: Loop, recorded: int,
) -> None:
    """What a pull that died after posting the slice review (and recording ``recorded`` of its
    line comments) left: the retry finds the review by its attribution line."""
    review = await _review(loop)
    left = await _api(loop.forge, ALICE).create_review(
        SLICE, loop.slice_pr.number, NewReview(
            body=f"From @bob on {review.html_url}:\n\nTwo things.", comments=(
                NewReviewComment(path="src/app.py", body="From @bob:\n\nWhy B?", line=2),
                NewReviewComment(path="src/app.py", body="From @bob:\n\nThese three", line=4,
                                 start_line=2, start_side=Side.RIGHT))))
    upstream_comments = await _api(loop.forge, BOB).list_review_comments(
        UPSTREAM, loop.upstream_pr.number, review.id)
    slice_comments = await _api(loop.forge, ALICE).list_review_comments(
        SLICE, loop.slice_pr.number, left.id)
    for upstream_comment, slice_comment in list(zip(upstream_comments, slice_comments,
                                                    strict=False))[:recorded]:
        await loop.store.record_copy("demo", Copy(
            kind=CopyKind.REVIEW_COMMENT, upstream_id=upstream_comment.id,
            slice_id=slice_comment.id, slice_url=slice_comment.html_url))
    posts = loop.posts()
    copied = await loop.syncer.pull_review("demo", loop.upstream_pr.number, review.id)
    assert (copied.created, copied.review_id, copied.html_url) == \
        (False, left.id, left.html_url)
    assert loop.posts() == posts
    assert [made.id for made in loop.slice_pull().reviews] == [left.id]
    assert await loop.store.copy("demo", CopyKind.REVIEW, review.id) == Copy(
        kind=CopyKind.REVIEW, upstream_id=review.id, slice_id=left.id,
        slice_url=left.html_url)
    for upstream_comment, slice_comment in zip(upstream_comments, slice_comments,
                                               strict=False):
        found = await loop.store.copy("demo", CopyKind.REVIEW_COMMENT, upstream_comment.id)
        assert found is not None
        assert (upstream_comment.body, found.slice_id) == \
            (slice_comment.body.removeprefix("From @bob:\n\n"), slice_comment.id)
