"""raise-pr, pull-branch into a target, and upstream pull requests merged or closed, on the
in-package forge over HTTP with a real database and real git."""

from __future__ import annotations

import pytest

from crossdock.gitslice.errors import NotPushed, UnknownBranch, WrongPullRequest
from crossdock.gitslice.forge.errors import ForgeAuthError
from crossdock.gitslice.forge.fake.forge import Fault
from crossdock.gitslice.forges import NoForge
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.records import LinkState, PullLink, RunKind

from .forge.seed import commit
from .forgeworld import ForgeWorld, forge_world
from .gitrepos import git

pytestmark = pytest.mark.anyio

__all__ = ["forge_world"]


async def _pushed(world: ForgeWorld, *, slice_pr: bool = True, **forge: object) -> int | None:
    """A synced slice whose branch ``feature`` is pushed upstream to ``dev/feature``; the
    number of its slice pull request, when one is opened."""
    await world.synced(**forge)
    world.slice_branch("feature", {"app.py": "print(2)\n"}, "print two")
    number = None
    if slice_pr:
        number = world.slice_pull("feature", "Print two", "The app prints 2.").number
    await world.syncer.push("demo", PushRequest(branch="feature",
                                                message="Print two\n\nIt was one."))
    return number


async def _raise_runs(world: ForgeWorld) -> list[str]:
    return [run["state"] for run in await world.store.runs("demo")
            if run["kind"] == RunKind.RAISE_PR.value]


async def test_raise_pr_opens_a_draft_with_labels_and_assignee_and_links_it(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    slice_pr = await _pushed(world)
    raised = await world.syncer.raise_pr("demo", "feature")
    assert (raised.created, raised.draft, raised.upstream_branch, raised.slice_pr) == (
        True, True, "dev/feature", slice_pr)
    [upstream] = world.pulls(world.upstream)
    assert upstream.number == raised.number
    assert raised.html_url.endswith(f"/alice/app/pull/{raised.number}")
    assert (upstream.title, upstream.body) == ("Print two", "The app prints 2.")
    assert upstream.pull is not None
    assert (upstream.pull.head_ref, upstream.pull.base_ref, upstream.pull.draft) == (
        "dev/feature", "main", True)
    assert upstream.pull.head_sha == git(world.upstream.path, "rev-parse", "dev/feature")
    assert upstream.labels == ["gitstart"]
    assert [user.login for user in upstream.assignees] == ["dev"]
    assert upstream.user.login == "dev"
    assert await world.store.links("demo") == [PullLink(
        slice_name="demo", upstream_pr=raised.number, slice_pr=slice_pr,
        upstream_branch="dev/feature", slice_branch="feature", upstream_url=raised.html_url)]
    assert await _raise_runs(world) == ["succeeded"]


async def test_a_second_raise_pr_reuses_the_open_one_and_puts_its_labels_back(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await _pushed(world)
    first = await world.syncer.raise_pr("demo", "feature")
    again = await world.syncer.raise_pr("demo", "feature")
    assert (again.created, again.number) == (False, first.number)
    [upstream] = world.pulls(world.upstream)
    upstream.labels.clear()
    again = await world.syncer.raise_pr("demo", "feature")
    assert (again.created, again.number, again.html_url) == (False, first.number,
                                                             first.html_url)
    assert len(world.pulls(world.upstream)) == 1
    assert upstream.labels == ["gitstart"]
    assert [user.login for user in upstream.assignees] == ["dev"]
    assert len(await world.store.links("demo")) == 1
    assert await _raise_runs(world) == ["succeeded"] * 3


async def test_without_a_slice_pull_request_the_pushed_commit_gives_title_and_body(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await _pushed(world, slice_pr=False, pr_draft=False, pr_labels=())
    raised = await world.syncer.raise_pr("demo", "feature")
    [upstream] = world.pulls(world.upstream)
    assert (upstream.title, upstream.body, upstream.labels) == ("Print two", "It was one.", [])
    assert upstream.pull is not None
    assert not upstream.pull.draft
    assert not raised.draft
    [link] = await world.store.links("demo")
    assert link.slice_pr is None


async def test_raise_pr_before_the_branch_is_upstream_is_refused_and_records_nothing(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await world.synced()
    world.slice_branch("feature", {"app.py": "print(2)\n"}, "print two")
    world.slice_pull("feature", "Print two", "")
    with pytest.raises(NotPushed, match=r"upstream has no branch 'dev/feature': push"):
        await world.syncer.raise_pr("demo", "feature")
    assert world.pulls(world.upstream) == []
    assert await world.store.links("demo") == []
    assert await _raise_runs(world) == []


async def test_a_slice_pull_request_from_another_branch_is_refused(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await _pushed(world, slice_pr=False)
    world.slice_branch("other", {"other.txt": "x\n"}, "other")
    other = world.slice_pull("other", "Other", "")
    with pytest.raises(WrongPullRequest, match=f"#{other.number} is from branch 'other'"):
        await world.syncer.raise_pr("demo", "feature", slice_pr=other.number)
    with pytest.raises(WrongPullRequest, match="has no pull request #99"):
        await world.syncer.raise_pr("demo", "feature", slice_pr=99)
    assert world.pulls(world.upstream) == []
    assert await world.store.links("demo") == []


async def test_a_slice_without_a_forge_cannot_raise(forge_world: ForgeWorld) -> None:
    world = forge_world
    await world.syncer.init(world.config())
    config = await world.syncer.config("demo")
    await world.syncer.init(type(config)(name="plain", upstream_url=config.upstream_url,
                                         slice_url=config.slice_url))
    with pytest.raises(NoForge, match="has no forge repositories"):
        await world.syncer.raise_pr("plain", "feature")


async def test_pull_branch_with_a_target_opens_one_slice_pull_request(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await world.synced()
    first = commit(world.upstream.path, "release", {"app.py": "print(3)\n"}, start="main",
                   message="three")
    outcome = await world.syncer.pull_branch("demo", "release", target_branch="main")
    [pull] = world.pulls(world.slice)
    assert pull.pull is not None
    assert (outcome.pull_request, pull.pull.head_ref, pull.pull.base_ref) == (
        pull.number, "upstream-release", "main")
    assert outcome.pull_request_url is not None
    assert outcome.pull_request_url.endswith(f"/bob/app-slice/pull/{pull.number}")
    assert pull.title == "Upstream branch release"
    assert pull.body is not None
    assert first in pull.body
    commit(world.upstream.path, "release", {"app.py": "print(4)\n"}, message="four")
    again = await world.syncer.pull_branch("demo", "release", target_branch="main")
    assert (again.pull_request, again.commits) == (pull.number, 1)
    assert len(world.pulls(world.slice)) == 1
    assert git(world.slice.path, "show", "upstream-release:app.py") == "print(4)"


async def test_pull_branch_into_a_missing_target_is_refused_before_pulling(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    await world.synced()
    commit(world.upstream.path, "release", {"app.py": "print(3)\n"}, start="main")
    with pytest.raises(UnknownBranch, match="no branch 'nope' to open a pull request into"):
        await world.syncer.pull_branch("demo", "release", target_branch="nope")
    assert "upstream-release" not in git(world.slice.path, "branch", "--list")
    assert world.pulls(world.slice) == []
    outcome = await world.syncer.pull_branch("demo", "release")
    assert outcome.pull_request is None
    assert world.pulls(world.slice) == []


@pytest.mark.parametrize(("merged", "close_on_merge", "said", "state"), [
    (True, True, "was merged", "closed"),
    (True, False, "was merged", "open"),
    (False, True, "was closed without merging", "open"),
])
async def test_an_upstream_pull_request_merged_or_closed_is_told_on_the_slice_once(
    forge_world: ForgeWorld, merged: bool, close_on_merge: bool, said: str, state: str,
) -> None:
    """A comment on the slice pull request, closed on a merge when the slice says so; the
    same event again does nothing more."""
    world = forge_world
    slice_pr = await _pushed(world, close_on_merge=close_on_merge)
    assert slice_pr is not None
    raised = await world.syncer.raise_pr("demo", "feature")
    [upstream] = world.pulls(world.upstream)
    if merged:
        world.forge.state.merge(world.upstream, upstream, world.user("alice"), None)
    else:
        world.forge.state.close(upstream)
    link = await world.syncer.upstream_pull_closed("demo", raised.number, merged=merged)
    assert link is not None
    assert (link.state, link.slice_pr) == (
        LinkState.MERGED if merged else LinkState.CLOSED, slice_pr)
    pull = world.slice.issue(slice_pr)
    assert [comment.body for comment in pull.comments] == [
        f"Upstream pull request {raised.html_url} {said}."]
    assert pull.state == state
    assert await world.syncer.upstream_pull_closed("demo", raised.number, merged=merged) is None
    assert len(pull.comments) == 1
    assert pull.state == state


async def test_an_unlinked_upstream_pull_request_is_left_alone(forge_world: ForgeWorld) -> None:
    world = forge_world
    await world.synced()
    assert await world.syncer.upstream_pull_closed("demo", 7, merged=True) is None
    assert await world.store.links("demo") == []


async def test_a_forge_failure_while_telling_the_slice_lets_a_retry_act(
    forge_world: ForgeWorld,
) -> None:
    world = forge_world
    slice_pr = await _pushed(world)
    assert slice_pr is not None
    raised = await world.syncer.raise_pr("demo", "feature")
    world.forge.faults.append(Fault(status=403, path=f"/bob/app-slice/pulls/{slice_pr}"))
    with pytest.raises(ForgeAuthError):
        await world.syncer.upstream_pull_closed("demo", raised.number, merged=True)
    [link] = await world.store.links("demo")
    assert link.state is LinkState.OPEN
    pull = world.slice.issue(slice_pr)
    assert len(pull.comments) == 1  # made before the close failed
    assert pull.state == "open"
    assert await world.syncer.upstream_pull_closed("demo", raised.number, merged=True)
    assert len(pull.comments) == 1
    assert pull.state == "closed"


@pytest.mark.parametrize("event_seen", [True, False])
async def test_raising_again_after_the_upstream_one_was_closed_opens_and_links_a_new_one(
    forge_world: ForgeWorld, event_seen: bool,
) -> None:
    """Whether or not the closing event came: the closed link stays, a new one is open."""
    world = forge_world
    slice_pr = await _pushed(world)
    first = await world.syncer.raise_pr("demo", "feature")
    [upstream] = world.pulls(world.upstream)
    world.forge.state.close(upstream)
    if event_seen:
        assert await world.syncer.upstream_pull_closed("demo", first.number, merged=False)
    second = await world.syncer.raise_pr("demo", "feature")
    assert second.created
    assert second.number != first.number
    assert [(link.upstream_pr, link.slice_pr, link.state) for link in
            await world.store.links("demo")] == [(second.number, slice_pr, LinkState.OPEN),
                                                 (first.number, slice_pr, LinkState.CLOSED)]
    assert slice_pr is not None
    found = await world.store.link_by_slice("demo", slice_pr)
    assert found is not None
    assert found.upstream_pr == second.number
