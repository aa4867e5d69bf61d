"""Pull-issue: an upstream issue copied onto the slice repository with its labels, comments and
a link back, once, on the in-package forge over HTTP (every exchange checked against GitHub's
published description), with the copies recorded in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crossdock.core.database import Database
from crossdock.gitslice.config import Credentials, ForgeConfig, SliceConfig
from crossdock.gitslice.errors import IssueRefused
from crossdock.gitslice.forge.errors import ForgeNotFound
from crossdock.gitslice.forge.fake import FakeForge, serve
from crossdock.gitslice.forge.fake.state import Issue, Repo
from crossdock.gitslice.forges import NoForge
from crossdock.gitslice.records import RunKind
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

from .forge.conftest import exchange_errors
from .forge.seed import commit

pytestmark = pytest.mark.anyio

ACME = "ghp_acme_0123456789abcdef"
GITSTART = "ghp_gitstart_0123456789abcdef"
CLIENT = "ghp_client_0123456789abcdef"


@pytest.fixture
async def forge(tmp_path: Path) -> AsyncIterator[FakeForge]:
    """A forge with acme's upstream repository, gitstart's slice repository, and a client."""
    async with serve(tmp_path / "forge") as running:
        for login, token in (("acme", ACME), ("gitstart", GITSTART), ("client", CLIENT)):
            running.state.add_user(login, token)
        for owner in ("acme", "gitstart"):
            repo = running.state.create_repo(running.state.user(owner), "app")
            commit(repo.path, "main", {"README.md": "app\n"})
        yield running
        errors = exchange_errors(running)
    assert not errors, "\n".join(errors[:20])


def upstream_of(forge: FakeForge) -> Repo:
    return forge.state.repo("acme", "app")


def slice_of(forge: FakeForge) -> Repo:
    return forge.state.repo("gitstart", "app")


def config(forge: FakeForge, *, with_forge: bool = True) -> SliceConfig:
    return SliceConfig(
        name="web", upstream_url=f"{forge.origin}/acme/app.git",
        slice_url=f"{forge.origin}/gitstart/app.git",
        forge=ForgeConfig(api_url=forge.api_url, upstream_repo="acme/app",
                          slice_repo="gitstart/app") if with_forge else None)


@pytest.fixture
async def syncer(database: Database, tmp_path: Path, forge: FakeForge) -> Syncer:
    syncer = Syncer(SliceStore(database), data_dir=tmp_path / "data",
                    credentials=Credentials(upstream_token=ACME, slice_token=GITSTART))
    await syncer.init(config(forge))
    return syncer


def an_issue(forge: FakeForge, *, comments: tuple[str, ...] = ("It fails on Linux.",
                                                                 "And on macOS.")) -> Issue:
    """Upstream issue #1 opened by the client, labelled by acme, with comments by both."""
    state, repo = forge.state, upstream_of(forge)
    issue = state.open_issue(repo, state.user("client"), title="Crash on start",
                             body="The app crashes.", labels=[], assignees=[])
    state.label(repo, issue, ["bug", "p1"])
    for n, body in enumerate(comments):
        state.comment(issue, state.user("client" if n % 2 == 0 else "acme"), body)
    return issue


def comment_lines(issue: Issue) -> list[tuple[str, str]]:
    """Each comment's author and first line."""
    return [(made.user.login, made.body.splitlines()[0]) for made in issue.comments]


async def test_a_new_slice_issue_gets_title_body_labels_and_comments_with_a_link_back(
    forge: FakeForge, syncer: Syncer
) -> None:
    upstream = an_issue(forge)
    copied = await syncer.pull_issue("web", 1)
    made = slice_of(forge).issue(copied.number)
    assert (copied.created, copied.comments) == (True, 2)
    assert copied.html_url == f"{forge.origin}/gitstart/app/issues/{copied.number}"
    assert made.title == "Crash on start"
    assert made.user.login == "gitstart"
    assert made.body == ("The app crashes.\n\n"
                         f"Pulled from {forge.origin}/acme/app/issues/1 (opened by @client)")
    assert made.labels == ["bug", "p1"]
    assert set(slice_of(forge).labels) == {"bug", "p1"}  # the slice repository lacked them
    first, second = (f"{forge.origin}/acme/app/issues/1#issuecomment-{made.id}"
                     for made in upstream.comments)
    assert [made.body for made in made.comments] == [
        f"From @client:\n\nIt fails on Linux.\n\nPulled from {first}",
        f"From @acme:\n\nAnd on macOS.\n\nPulled from {second}",
    ]
    runs = await syncer.store.runs("web")
    assert [(run["kind"], run["state"], run["upstream_ref"]) for run in runs] == \
        [(RunKind.PULL_ISSUE.value, "succeeded", "#1")]


async def test_pulling_again_copies_nothing_and_then_only_a_new_upstream_comment(
    forge: FakeForge, syncer: Syncer
) -> None:
    upstream = an_issue(forge)
    first = await syncer.pull_issue("web", 1)
    again = await syncer.pull_issue("web", 1)
    assert (again.number, again.created, again.comments) == (first.number, False, 0)
    assert len(slice_of(forge).issues) == 1
    assert len(slice_of(forge).issue(first.number).comments) == 2
    forge.state.comment(upstream, forge.state.user("client"), "Still broken in 2.1.")
    latest = await syncer.pull_issue("web", 1)
    assert (latest.number, latest.created, latest.comments) == (first.number, False, 1)
    assert comment_lines(slice_of(forge).issue(first.number)) == [
        ("gitstart", "From @client:"), ("gitstart", "From @acme:"),
        ("gitstart", "From @client:")]
    assert "Still broken in 2.1." in slice_of(forge).issue(first.number).comments[2].body


async def test_into_a_given_slice_issue_only_comments_and_a_link_back_go(
    forge: FakeForge, syncer: Syncer
) -> None:
    an_issue(forge)
    state = forge.state
    mine = state.open_issue(slice_of(forge), state.user("gitstart"), title="Our own title",
                            body="Our notes.", labels=[], assignees=[])
    copied = await syncer.pull_issue("web", 1, slice_issue=mine.number)
    assert (copied.number, copied.created, copied.comments) == (mine.number, False, 2)
    assert (mine.title, mine.body, mine.labels) == ("Our own title", "Our notes.", [])
    assert mine.comments[0].body == (
        f"**Crash on start**\n\nThe app crashes.\n\n"
        f"Pulled from {forge.origin}/acme/app/issues/1 (opened by @client)")
    assert [line for _, line in comment_lines(mine)[1:]] == ["From @client:", "From @acme:"]
    again = await syncer.pull_issue("web", 1, slice_issue=mine.number)
    assert again.comments == 0
    assert len(mine.comments) == 3
    other = state.open_issue(slice_of(forge), state.user("gitstart"), title="Another",
                             body=None, labels=[], assignees=[])
    with pytest.raises(IssueRefused, match=f"pulled into slice issue #{mine.number}"):
        await syncer.pull_issue("web", 1, slice_issue=other.number)
    assert other.comments == []


async def test_a_pull_request_number_is_refused_and_nothing_is_created(
    forge: FakeForge, syncer: Syncer
) -> None:
    repo = upstream_of(forge)
    commit(repo.path, "fix", {"README.md": "fixed\n"}, start="main")
    state = forge.state
    pull = state.open_pull(repo, state.user("acme"), title="Fix", head="fix", base="main",
                           body=None, draft=False)
    with pytest.raises(IssueRefused, match=f"upstream #{pull.number} is a pull request"):
        await syncer.pull_issue("web", pull.number)
    assert slice_of(forge).issues == {}


async def test_an_unknown_issue_is_a_clear_error_and_nothing_is_created(
    forge: FakeForge, syncer: Syncer
) -> None:
    with pytest.raises(ForgeNotFound, match="upstream acme/app has no issue #99"):
        await syncer.pull_issue("web", 99)
    assert slice_of(forge).issues == {}
    runs = await syncer.store.runs("web")
    assert [(run["kind"], run["state"]) for run in runs] == [("pull_issue", "failed")]


async def test_an_unknown_slice_issue_is_a_clear_error(forge: FakeForge, syncer: Syncer) -> None:
    an_issue(forge)
    with pytest.raises(ForgeNotFound, match="the slice gitstart/app has no issue #5"):
        await syncer.pull_issue("web", 1, slice_issue=5)
    assert slice_of(forge).issues == {}


async def test_a_slice_without_forge_repositories_says_how_to_add_them(
    forge: FakeForge, database: Database, tmp_path: Path
) -> None:
    syncer = Syncer(SliceStore(database), data_dir=tmp_path / "data",
                    credentials=Credentials(upstream_token=ACME, slice_token=GITSTART))
    await syncer.init(config(forge, with_forge=False))
    an_issue(forge)
    with pytest.raises(NoForge, match="has no forge repositories: add them with"):
        await syncer.pull_issue("web", 1)
    assert slice_of(forge).issues == {}


async def test_copies_left_by_a_crashed_pull_are_recorded_not_made_again(
    forge: FakeForge, syncer: Syncer
) -> None:
    """A pull that made the slice issue and its first comment, then stopped before recording
    either: the retry finds both by their links back."""
    upstream = an_issue(forge)
    state, repo = forge.state, slice_of(forge)
    link = f"Pulled from {forge.origin}/acme/app/issues/1 (opened by @client)"
    state.open_issue(repo, state.user("gitstart"), title="Unrelated", body="Not a copy.",
                     labels=[], assignees=[])
    left = state.open_issue(repo, state.user("gitstart"), title="Crash on start",
                            body=f"The app crashes.\n\n{link}", labels=["bug"], assignees=[])
    state.comment(left, state.user("gitstart"),
                  f"From @client:\n\nIt fails on Linux.\n\nPulled from {forge.origin}/acme/app/"
                  f"issues/1#issuecomment-{upstream.comments[0].id}")
    copied = await syncer.pull_issue("web", 1)
    assert (copied.number, copied.comments) == (left.number, 2)
    assert len(repo.issues) == 2
    assert comment_lines(left) == [("gitstart", "From @client:"), ("gitstart", "From @acme:")]
    assert (await syncer.pull_issue("web", 1)).comments == 0
