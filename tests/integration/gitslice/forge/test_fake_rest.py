"""The in-package forge's REST API answers as GitHub's description says, over real HTTP.

Every exchange of every test here is also checked against GitHub's published OpenAPI
description when the test ends (the ``forge`` fixture).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crossdock.gitslice.forge.fake import FakeForge
from tests.integration.gitslice.gitrepos import git

from .conftest import ALICE, BOB
from .seed import commit

pytestmark = pytest.mark.anyio


@pytest.fixture
async def alice(forge: FakeForge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=forge.api_url,
                                 headers={"Authorization": f"token {ALICE}"}) as client:
        yield client


@pytest.fixture
async def bob(forge: FakeForge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=forge.api_url,
                                 headers={"Authorization": f"Bearer {BOB}"}) as client:
        yield client


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def a_repo_with_a_branch(forge: FakeForge, alice: httpx.AsyncClient) -> str:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    bare = forge.state.repo("alice", "hello").path
    commit(bare, "main", {"README.md": "hello\n", "src/app.py": "a\nb\nc\nd\n"})
    commit(bare, "feature", {"src/app.py": "a\nB\nC\nd\n"}, start="main", message="Fix")
    return "/repos/alice/hello"


async def test_a_user_creates_a_repository_and_reads_it_back(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    made = await ok(await alice.post("/user/repos", json={"name": "hello", "private": True}),
                    201)
    assert made["full_name"] == "alice/hello"
    assert made["clone_url"] == f"{forge.origin}/alice/hello.git"
    got = await ok(await alice.get("/repos/alice/hello"))
    assert (got["default_branch"], got["private"], got["owner"]["login"]) == \
        ("main", True, "alice")
    assert (forge.state.repos["alice/hello"].path / "HEAD").is_file()
    again = await alice.post("/user/repos", json={"name": "hello"})
    assert again.status_code == 422


async def test_requests_without_a_known_token_are_refused(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    async with httpx.AsyncClient(base_url=forge.api_url) as anonymous:
        assert (await anonymous.get("/repos/alice/hello")).status_code == 401
        wrong = await anonymous.get("/repos/alice/hello",
                                    headers={"Authorization": "token ghp_wrong"})
        assert wrong.status_code == 401
        assert wrong.json()["message"] == "Bad credentials"
    me = await ok(await alice.get("/user"))
    assert me["login"] == "alice"


async def test_a_private_repository_is_not_found_by_a_stranger(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "secret", "private": True}), 201)
    assert (await bob.get("/repos/alice/secret")).status_code == 404


async def test_a_pull_request_opens_from_a_branch_once_and_is_found_by_its_head(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    repo = await a_repo_with_a_branch(forge, alice)
    opened = await ok(await alice.post(f"{repo}/pulls", json={
        "title": "Fix", "head": "feature", "base": "main", "body": "Body", "draft": True}), 201)
    bare = forge.state.repo("alice", "hello").path
    assert opened["head"]["sha"] == git(bare, "rev-parse", "feature")
    assert (opened["number"], opened["draft"], opened["state"]) == (1, True, "open")
    found = await ok(await alice.get(f"{repo}/pulls", params={"head": "alice:feature"}))
    assert [pull["number"] for pull in found] == [1]
    assert await ok(await alice.get(f"{repo}/pulls", params={"head": "alice:other"})) == []
    twice = await alice.post(f"{repo}/pulls", json={"title": "Fix", "head": "feature",
                                                    "base": "main"})
    assert twice.status_code == 422
    assert "already exists" in twice.json()["errors"][0]["message"]
    missing = await alice.post(f"{repo}/pulls", json={"title": "X", "head": "nope",
                                                      "base": "main"})
    assert missing.status_code == 422


async def test_a_review_keeps_its_line_comments_with_sides_and_ranges(
    forge: FakeForge, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    repo = await a_repo_with_a_branch(forge, alice)
    await ok(await alice.post(f"{repo}/pulls", json={"title": "Fix", "head": "feature",
                                                     "base": "main"}), 201)
    review = await ok(await bob.post(f"{repo}/pulls/1/reviews", json={
        "body": "Two things", "event": "REQUEST_CHANGES", "comments": [
            {"path": "src/app.py", "line": 2, "side": "RIGHT", "body": "one line"},
            {"path": "src/app.py", "start_line": 2, "line": 3, "side": "RIGHT",
             "start_side": "RIGHT", "body": "a range"},
        ]}))
    assert (review["state"], review["user"]["login"]) == ("CHANGES_REQUESTED", "bob")
    got = await ok(await alice.get(f"{repo}/pulls/1/reviews/{review['id']}"))
    assert got["body"] == "Two things"
    comments = await ok(await alice.get(f"{repo}/pulls/1/reviews/{review['id']}/comments"))
    assert [(c["path"], c["line"], c["side"], c["start_line"], c["body"]) for c in comments] \
        == [("src/app.py", 2, "RIGHT", None, "one line"),
            ("src/app.py", 3, "RIGHT", 2, "a range")]
    assert len(await ok(await alice.get(f"{repo}/pulls/1/comments"))) == 2
    assert len(await ok(await alice.get(f"{repo}/pulls/1/reviews"))) == 1
    elsewhere = await bob.post(f"{repo}/pulls/1/reviews", json={
        "body": "x", "comments": [{"path": "nowhere.txt", "line": 1, "body": "?"}]})
    assert elsewhere.status_code == 422
    assert (await alice.get(f"{repo}/pulls/1/reviews/999999")).status_code == 404


async def test_issues_take_labels_assignees_comments_and_reactions(
    forge: FakeForge, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    repo = "/repos/alice/hello"
    issue = await ok(await alice.post(f"{repo}/issues", json={
        "title": "Broken", "body": "It breaks", "labels": ["bug"], "assignees": ["bob"]}), 201)
    assert ([label["name"] for label in issue["labels"]], issue["assignee"]["login"]) == \
        (["bug"], "bob")
    labels = await ok(await alice.post(f"{repo}/issues/1/labels",
                                       json={"labels": ["bug", "p1"]}))
    assert [label["name"] for label in labels] == ["bug", "p1"]
    await ok(await alice.post(f"{repo}/issues/1/assignees", json={"assignees": ["alice"]}),
             201)
    comment = await ok(await bob.post(f"{repo}/issues/1/comments", json={"body": "Same"}), 201)
    first = await bob.post(f"{repo}/issues/comments/{comment['id']}/reactions",
                           json={"content": "eyes"})
    again = await bob.post(f"{repo}/issues/comments/{comment['id']}/reactions",
                           json={"content": "eyes"})
    assert (first.status_code, again.status_code) == (201, 200)
    got = await ok(await bob.get(f"{repo}/issues/1"))
    assert ([a["login"] for a in got["assignees"]], got["comments"]) == (["bob", "alice"], 1)
    listed = await ok(await alice.get(f"{repo}/issues/1/comments"))
    assert listed[0]["reactions"]["eyes"] == 1
    assert (await bob.post(f"{repo}/issues/1/labels", json={"labels": ["x"]})).status_code \
        == 403


async def test_permissions_are_roles_from_admin_down(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    repo = "/repos/alice/hello"

    async def role(login: str) -> tuple[str, str]:
        got = await ok(await alice.get(f"{repo}/collaborators/{login}/permission"))
        return got["permission"], got["role_name"]

    assert await role("alice") == ("admin", "admin")
    assert await role("bob") == ("read", "read")
    await ok(await alice.put(f"{repo}/collaborators/bob", json={"permission": "maintain"}), 204)
    assert await role("bob") == ("write", "maintain")
    assert (await alice.get(f"{repo}/collaborators/nobody/permission")).status_code == 404
    refused = await bob.put(f"{repo}/collaborators/bob", json={"permission": "admin"})
    assert refused.status_code == 403


async def test_lists_come_in_pages_linked_by_the_link_header(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    await ok(await alice.post("/repos/alice/hello/issues", json={"title": "Many"}), 201)
    for n in range(25):
        await ok(await alice.post("/repos/alice/hello/issues/1/comments",
                                  json={"body": f"c{n}"}), 201)
    seen: list[str] = []
    url: str | None = "/repos/alice/hello/issues/1/comments?per_page=10"
    while url:
        response = await alice.get(url)
        seen += [comment["body"] for comment in await ok(response)]
        url = response.links.get("next", {}).get("url")
    assert seen == [f"c{n}" for n in range(25)]


async def test_merging_writes_a_real_merge_commit_and_closes_the_pull_request(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    repo = await a_repo_with_a_branch(forge, alice)
    await ok(await alice.post(f"{repo}/pulls", json={"title": "Fix", "head": "feature",
                                                     "base": "main"}), 201)
    merged = await ok(await alice.put(f"{repo}/pulls/1/merge", json={}))
    bare = forge.state.repo("alice", "hello").path
    assert git(bare, "rev-parse", "main") == merged["sha"]
    assert git(bare, "rev-parse", "main^2") == git(bare, "rev-parse", "feature")
    pull = await ok(await alice.get(f"{repo}/pulls/1"))
    assert (pull["state"], pull["merged"], pull["merged_by"]["login"]) == \
        ("closed", True, "alice")
    assert (await alice.put(f"{repo}/pulls/1/merge", json={})).status_code == 405


async def test_bad_bodies_get_githubs_error_answers(alice: httpx.AsyncClient) -> None:
    bad_json = await alice.post("/user/repos", content=b"{nope",
                                headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.json()["message"]) == (400, "Problems parsing JSON")
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    no_title = await alice.post("/repos/alice/hello/issues", json={"body": "x"})
    assert no_title.status_code == 422
    assert no_title.json()["errors"][0]["field"] == "title"
    wrong_type = await alice.post("/repos/alice/hello/issues", json={"title": 5})
    assert wrong_type.status_code == 422


async def test_planned_faults_answer_once_then_the_forge_recovers(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    async with httpx.AsyncClient(base_url=forge.origin) as admin:
        planned = await admin.post("/_forge/faults", json={"status": 502, "times": 1},
                                   headers={"Authorization": f"token {forge.admin_token}"})
        assert planned.status_code == 204
        refused = await admin.post("/_forge/faults", json={"status": 502})
        assert refused.status_code == 401
    assert (await alice.get("/repos/alice/hello")).status_code == 502
    answered = await alice.get("/repos/alice/hello")
    assert answered.status_code == 200
    assert int(answered.headers["x-ratelimit-remaining"]) < 5000


async def test_issues_and_pull_requests_are_edited_closed_and_reopened_by_patch(
    forge: FakeForge, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    repo = await a_repo_with_a_branch(forge, alice)
    await ok(await alice.post(f"{repo}/pulls", json={"title": "Fix", "head": "feature",
                                                     "base": "main"}), 201)
    await ok(await alice.post(f"{repo}/issues", json={"title": "Bug"}), 201)
    edited = await ok(await alice.patch(f"{repo}/issues/2", json={"title": "Bad bug",
                                                                  "state": "closed"}))
    assert (edited["title"], edited["state"], edited["closed_at"] is not None) == \
        ("Bad bug", "closed", True)
    reopened = await ok(await alice.patch(f"{repo}/issues/2", json={"state": "open"}))
    assert (reopened["state"], reopened["closed_at"]) == ("open", None)
    assert (await bob.patch(f"{repo}/issues/2", json={"state": "closed"})).status_code == 403
    assert (await alice.patch(f"{repo}/issues/2", json={"state": "gone"})).status_code == 422
    closed = await ok(await alice.patch(f"{repo}/pulls/1", json={"state": "closed"}))
    assert (closed["state"], closed["merged"]) == ("closed", False)
    await ok(await alice.patch(f"{repo}/pulls/1", json={"state": "open"}))
    await ok(await alice.put(f"{repo}/pulls/1/merge", json={}))
    refused = await alice.patch(f"{repo}/pulls/1", json={"state": "open"})
    assert refused.status_code == 422


async def test_a_new_issue_keeps_labels_only_from_users_with_push_access(
    forge: FakeForge, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    """As on GitHub: labels the repository lacks are created; a reader's are dropped."""
    await ok(await alice.post("/user/repos", json={"name": "hello"}), 201)
    repo = "/repos/alice/hello"
    mine = await ok(await alice.post(f"{repo}/issues", json={
        "title": "Mine", "labels": ["new-label"], "assignees": ["bob"]}), 201)
    theirs = await ok(await bob.post(f"{repo}/issues", json={
        "title": "Theirs", "labels": ["bug"], "assignees": ["bob"]}), 201)
    assert ([label["name"] for label in mine["labels"]], len(mine["assignees"])) == \
        (["new-label"], 1)
    assert (theirs["labels"], theirs["assignees"]) == ([], [])
    assert list(forge.state.repo("alice", "hello").labels) == ["new-label"]


async def test_the_issue_list_holds_pull_requests_too_by_state_and_since(
    forge: FakeForge, alice: httpx.AsyncClient
) -> None:
    repo = await a_repo_with_a_branch(forge, alice)
    await ok(await alice.post(f"{repo}/issues", json={"title": "First"}), 201)
    await ok(await alice.post(f"{repo}/pulls", json={"title": "Fix", "head": "feature",
                                                     "base": "main"}), 201)
    await ok(await alice.post(f"{repo}/issues", json={"title": "Third"}), 201)
    await ok(await alice.patch(f"{repo}/issues/3", json={"state": "closed"}))
    listed = await ok(await alice.get(f"{repo}/issues"))
    assert [(i["number"], "pull_request" in i) for i in listed] == [(2, True), (1, False)]
    every = await ok(await alice.get(f"{repo}/issues", params={"state": "all"}))
    assert [i["number"] for i in every] == [3, 2, 1]
    later = await ok(await alice.get(f"{repo}/issues", params={
        "state": "all", "since": "2999-01-01T00:00:00Z"}))
    assert later == []
    bad = await alice.get(f"{repo}/issues", params={"since": "yesterday"})
    assert bad.status_code == 422
