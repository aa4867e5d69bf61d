"""The forge sends signed webhooks with GitHub's headers when its state changes, and each
payload matches GitHub's published webhook description for its event and action."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

import httpx
import pytest

from crossdock.gitslice.forge.fake import FakeForge
from crossdock.webhooks.errors import BadSignature
from crossdock.webhooks.providers.github import GitHubProvider
from crossdock.webhooks.secrets import Secret

from .conftest import ALICE, BOB, Receiver
from .schemas import examples, webhook_errors
from .seed import commit
from .test_git_http import run_git, url

pytestmark = pytest.mark.anyio

SECRET = "hook-secret-0123456789"
EVENTS = ["push", "pull_request", "issue_comment", "pull_request_review", "issues"]


async def hook(forge: FakeForge, target: str, events: list[str], secret: str = SECRET) -> None:
    async with httpx.AsyncClient(base_url=forge.api_url,
                                 headers={"Authorization": f"token {ALICE}"}) as alice:
        made = await alice.post("/repos/alice/hello/hooks", json={
            "name": "web", "active": True, "events": events,
            "config": {"url": target, "content_type": "json", "secret": secret}})
        assert made.status_code == 201, made.text


def test_the_validator_accepts_githubs_own_payloads_and_refuses_a_broken_one() -> None:
    clean = [(event, payload) for event, payloads in examples().items()
             for payload in payloads if not webhook_errors(event, payload)]
    assert {event for event, _ in clean} >= {"issues", "issue_comment", "pull_request"}
    event, payload = clean[0]
    broken = copy.deepcopy(payload)
    del broken["repository"]["full_name"]
    assert webhook_errors(event, broken)


async def test_every_change_sends_its_event_signed_and_shaped_as_githubs(
    forge: FakeForge, receiver: Receiver, tmp_path: Path
) -> None:
    repo = forge.state.create_repo(forge.state.user("alice"), "hello")
    commit(repo.path, "main", {"README.md": "hello\n", "app.py": "a\nb\n"})
    await hook(forge, receiver.url, EVENTS)
    work = tmp_path / "work"
    await run_git(tmp_path, "clone", url(forge, "alice/hello"), "work")
    await run_git(work, "checkout", "-b", "feature")
    (work / "app.py").write_text("a\nB\n")
    await run_git(work, "commit", "-am", "Fix b")
    assert (await run_git(work, "push", url(forge, "alice/hello", ALICE),
                          "feature")).returncode == 0
    async with httpx.AsyncClient(base_url=f"{forge.api_url}/repos/alice/hello",
                                 headers={"Authorization": f"token {BOB}"}) as bob, \
            httpx.AsyncClient(base_url=f"{forge.api_url}/repos/alice/hello",
                              headers={"Authorization": f"token {ALICE}"}) as alice:
        assert (await alice.post("/pulls", json={"title": "Fix", "head": "feature",
                                                 "base": "main"})).status_code == 201
        assert (await bob.post("/issues/1/comments",
                               json={"body": '/git-slice push -m "Fix"'})).status_code == 201
        assert (await bob.post("/pulls/1/reviews", json={
            "body": "Looks odd", "event": "COMMENT",
            "comments": [{"path": "app.py", "line": 2, "side": "RIGHT", "body": "why?"}],
        })).status_code == 200
        assert (await bob.post("/issues", json={"title": "Bug"})).status_code == 201
        (work / "app.py").write_text("a\nBB\n")
        await run_git(work, "commit", "-am", "Fix again")
        assert (await run_git(work, "push", url(forge, "alice/hello", ALICE),
                              "feature")).returncode == 0
        assert (await alice.put("/pulls/1/merge", json={})).status_code == 200
    await forge.deliverer.drain()

    seen = [(r.event, r.payload.get("action")) for r in receiver.received]
    assert seen == [
        ("push", None), ("pull_request", "opened"), ("issue_comment", "created"),
        ("pull_request_review", "submitted"), ("issues", "opened"), ("push", None),
        ("pull_request", "synchronize"), ("push", None), ("pull_request", "closed"),
    ]
    provider = GitHubProvider()
    for got in receiver.received:
        assert got.headers["user-agent"].startswith("GitHub-Hookshot/")
        assert got.headers["content-type"] == "application/json"
        uuid.UUID(got.headers["x-github-delivery"])
        provider.verify(got.headers, got.body, [Secret(SECRET)])
        with pytest.raises(BadSignature):
            provider.verify(got.headers, got.body, [Secret("another-secret-value")])
        assert webhook_errors(got.event, got.payload) == [], got.event
    first_push = receiver.events("push")[0].payload
    assert (first_push["ref"], first_push["created"], first_push["head_commit"]["message"]) \
        == ("refs/heads/feature", True, "Fix b")
    comment = receiver.events("issue_comment")[0].payload
    assert comment["comment"]["body"].startswith("/git-slice push")
    assert comment["issue"]["pull_request"]["url"].endswith("/pulls/1")
    review = receiver.events("pull_request_review")[0].payload
    assert (review["review"]["user"]["login"], review["pull_request"]["number"]) == ("bob", 1)
    closed = receiver.received[-1].payload
    assert closed["pull_request"]["merged"] is True


async def test_a_hook_gets_only_its_events_and_an_unsigned_hook_no_signature(
    forge: FakeForge, receiver: Receiver
) -> None:
    forge.state.create_repo(forge.state.user("alice"), "hello")
    await hook(forge, receiver.url, ["issues"], secret="")
    async with httpx.AsyncClient(base_url=f"{forge.api_url}/repos/alice/hello",
                                 headers={"Authorization": f"token {ALICE}"}) as alice:
        await alice.post("/issues", json={"title": "One"})
        await alice.post("/issues/1/comments", json={"body": "not sent"})
    await forge.deliverer.drain()
    assert [r.event for r in receiver.received] == ["issues"]
    assert "x-hub-signature-256" not in receiver.received[0].headers


async def test_a_failed_delivery_is_recorded_and_not_retried(
    forge: FakeForge, receiver: Receiver
) -> None:
    forge.state.create_repo(forge.state.user("alice"), "hello")
    receiver.status = 500
    await hook(forge, receiver.url, ["issues"])
    await hook(forge, "http://127.0.0.1:9/nothing-listens", ["issues"])
    async with httpx.AsyncClient(base_url=f"{forge.api_url}/repos/alice/hello",
                                 headers={"Authorization": f"token {ALICE}"}) as alice:
        await alice.post("/issues", json={"title": "One"})
    await forge.deliverer.drain()
    assert len(receiver.received) == 1
    async with httpx.AsyncClient(base_url=forge.origin) as admin:
        listed = await admin.get("/_forge/deliveries",
                                 headers={"Authorization": f"token {forge.admin_token}"})
    outcomes = [(d["event"], d["status"], d["error"] is not None) for d in listed.json()]
    assert outcomes == [("issues", 500, False), ("issues", None, True)]


async def test_edits_closes_and_reopens_send_their_events(
    forge: FakeForge, receiver: Receiver
) -> None:
    repo = forge.state.create_repo(forge.state.user("alice"), "hello")
    commit(repo.path, "main", {"a.txt": "a\n"})
    commit(repo.path, "fix", {"a.txt": "b\n"}, start="main")
    await hook(forge, receiver.url, ["pull_request", "issues"])
    async with httpx.AsyncClient(base_url=f"{forge.api_url}/repos/alice/hello",
                                 headers={"Authorization": f"token {ALICE}"}) as alice:
        await alice.post("/pulls", json={"title": "Fix", "head": "fix", "base": "main"})
        await alice.post("/issues", json={"title": "Bug", "body": "x"})
        await alice.patch("/issues/2", json={"title": "Bad bug", "state": "closed"})
        await alice.patch("/issues/2", json={"state": "open"})
        await alice.patch("/pulls/1", json={"body": "Why", "state": "closed"})
        await alice.patch("/pulls/1", json={"state": "open"})
    await forge.deliverer.drain()
    seen = [(r.event, r.payload["action"]) for r in receiver.received]
    assert seen == [("pull_request", "opened"), ("issues", "opened"), ("issues", "edited"),
                    ("issues", "closed"), ("issues", "reopened"), ("pull_request", "edited"),
                    ("pull_request", "closed"), ("pull_request", "reopened")]
    for got in receiver.received:
        assert webhook_errors(got.event, got.payload) == [], (got.event, got.payload["action"])
    assert receiver.received[2].payload["changes"] == {"title": {"from": "Bug"}}
    assert receiver.received[6].payload["pull_request"]["merged"] is False


async def test_a_redelivery_sends_the_same_delivery_again_as_githubs_api_asks(
    forge: FakeForge, receiver: Receiver
) -> None:
    forge.state.create_repo(forge.state.user("alice"), "hello")
    await hook(forge, receiver.url, ["issues"])
    hook_id = forge.state.repo("alice", "hello").hooks[0].id
    deliveries = f"/repos/alice/hello/hooks/{hook_id}/deliveries"
    async with httpx.AsyncClient(base_url=forge.api_url,
                                 headers={"Authorization": f"token {ALICE}"}) as alice:
        await alice.post("/repos/alice/hello/issues", json={"title": "One"})
        await forge.deliverer.drain()
        listed = (await alice.get(deliveries)).json()
        assert [(d["event"], d["action"], d["status_code"], d["redelivery"])
                for d in listed] == [("issues", "opened", 200, False)]
        again = await alice.post(f"{deliveries}/{listed[0]['id']}/attempts")
        assert again.status_code == 202
        await forge.deliverer.drain()
        assert (await alice.post(f"{deliveries}/999999/attempts")).status_code == 404
        newest = (await alice.get(deliveries)).json()[0]
        assert (newest["guid"], newest["redelivery"]) == (listed[0]["guid"], True)
    async with httpx.AsyncClient(base_url=forge.api_url,
                                 headers={"Authorization": f"token {BOB}"}) as bob:
        assert (await bob.get(deliveries)).status_code == 403
    first, second = receiver.received
    assert first.body == second.body
    for name in ("x-github-delivery", "x-hub-signature-256", "x-github-event"):
        assert first.headers[name] == second.headers[name]
