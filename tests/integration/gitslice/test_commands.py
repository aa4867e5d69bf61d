"""``/git-slice`` comments on slice pull requests, end to end on the in-package forge: the
forge's own webhook payloads published on the bus as the webhooks service does, a drained
worker, real PostgreSQL, and the forge's API checked against GitHub's description."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing

from crossdock.core.runtime import Runtime
from crossdock.gitslice.command_run import CommandRunner
from crossdock.gitslice.config import ForgeConfig, SliceConfig
from crossdock.gitslice.credentials import Side, StoredCredential
from crossdock.gitslice.forge.fake import FakeForge
from crossdock.gitslice.forge.fake.forge import Fault
from crossdock.gitslice.forge.fake.state import ForgeState, Hook, Repo, refs
from crossdock.gitslice.jobs import syncer_for
from crossdock.gitslice.records import CommandState
from crossdock.gitslice.store import SliceStore

from .conftest import drain, jobs
from .forge.conftest import Receiver, forge, receiver  # noqa: F401 (fixtures)
from .forge.seed import commit
from .forge.test_git_http import run_git, url
from .gitrepos import git

pytestmark = pytest.mark.anyio

BOT = "ghp_crossdock_0123456789abcdef"
SLICE_BOT = "ghp_crossdock_slice_0123456789abcdef"
DEV = "ghp_dev_0123456789abcdef"
READER = "ghp_reader_0123456789abcdef"
CLIENT = "ghp_client_0123456789abcdef"


@dataclasses.dataclass
class Loop:
    """A client's upstream and GitStart's slice on the forge, registered as slice ``app``."""

    forge: FakeForge
    receiver: Receiver
    runtime: Runtime
    upstream: Repo
    slice: Repo
    tmp: Path

    async def api(self, token: str, method: str, path: str, **body: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.forge.api_url,
                                     headers={"Authorization": f"token {token}"}) as client:
            response = await client.request(method, path, json=body or None)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    async def slice_branch(self, branch: str, files: dict[str, str]) -> None:
        """The developer branches off the slice's main, commits and pushes."""
        work = self.tmp / f"dev-{branch}"
        assert (await run_git(self.tmp, "clone", "--quiet", url(self.forge, "gitstart/app", DEV),
                              str(work))).returncode == 0
        await run_git(work, "checkout", "-b", branch)
        for name, content in files.items():
            (work / name).write_text(content)
        await run_git(work, "add", "-A")
        await run_git(work, "-c", "user.name=Dev", "-c", "user.email=dev@gitstart.test",
                      "commit", "-m", "wip")
        assert (await run_git(work, "push", "origin", branch)).returncode == 0

    async def comment(self, token: str, number: int, body: str) -> dict[str, Any]:
        """Comment on a slice pull request; the forge's issue_comment payload for it."""
        await self.api(token, "POST", f"/repos/gitstart/app/issues/{number}/comments", body=body)
        await self.forge.deliverer.drain()
        return self.receiver.events("issue_comment")[-1].payload

    async def publish(self, event: str, payload: dict[str, Any],
                      delivery: int | None = None) -> None:
        """Publish a webhook on the bus as the webhooks service does (with ``delivery``, the
        id of the delivery it came in)."""
        await self.runtime.bus.publish(f"github.{event}", {
            "provider": "github", "event_type": event, "action": payload.get("action"),
            "payload": payload, **({} if delivery is None else {"delivery_id": delivery})})

    def replies(self, number: int) -> list[str]:
        issue = self.slice.issue(number)
        return [c.body for c in issue.comments if c.user.login == "crossdock"]

    def reactions(self, comment_id: int) -> list[str]:
        _, found = self.forge.state.find_comment(self.slice, comment_id)
        return [content for _, user, content in found.reactions if user.login == "crossdock"]


def _branches(repo: Repo) -> set[str]:
    return {name.removeprefix("refs/heads/") for name in refs(repo.path)
            if name.startswith("refs/heads/")}


@pytest.fixture
async def loop(forge: FakeForge, receiver: Receiver, runtime: Runtime,  # noqa: F811
               tmp_path: Path) -> Loop:
    state = forge.state
    for login, token in (("client", None), ("gitstart", None), ("crossdock", BOT),
                         ("crossdock", SLICE_BOT), ("dev", DEV), ("reader", READER)):
        state.add_user(login, token)
    upstream = state.create_repo(state.user("client"), "app")
    slice_repo = state.create_repo(state.user("gitstart"), "app")
    upstream.collaborators["crossdock"] = "write"
    slice_repo.collaborators.update({"crossdock": "write", "dev": "write", "reader": "read"})
    commit(upstream.path, "main", {"README.md": "app\n", "src/app.py": "a\nb\n"})
    slice_repo.hooks.append(_hook(state, receiver))
    upstream.hooks.append(_hook(state, receiver))
    syncer = syncer_for(runtime)
    config = SliceConfig(
        name="app", upstream_url=f"{forge.origin}/client/app.git", upstream_branch="main",
        slice_url=f"{forge.origin}/gitstart/app.git", slice_branch="main",
        forge=ForgeConfig(api_url=forge.api_url, upstream_repo="client/app",
                          slice_repo="GitStart/App"))
    await syncer.init(config)
    for side, token in ((Side.UPSTREAM, BOT), (Side.SLICE, SLICE_BOT)):
        await syncer.set_credential("app", StoredCredential(
            side=side, kind="token", secret=token, username="crossdock",
            email="bot@crossdock.test"))
    await syncer.pull("app")
    return Loop(forge=forge, receiver=receiver, runtime=runtime, upstream=upstream,
                slice=slice_repo, tmp=tmp_path)


def _hook(state: ForgeState, target: Receiver) -> Hook:
    return Hook(id=state.next_id(), url=target.url, secret="", events=("*",))


async def _pull_request(loop: Loop, branch: str = "fix") -> int:
    await loop.slice_branch(branch, {"src/app.py": "a\nB\n"})
    made = await loop.api(DEV, "POST", "/repos/gitstart/app/pulls", title="Fix b", head=branch,
                          base="main", body="Fixes b")
    return int(made["number"])


async def test_a_writer_pushes_the_pull_requests_branch_raises_it_and_gets_links_back(
    loop: Loop
) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, 'Ready.\n/git-slice push -m "Fix b" -pr')
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    head = loop.forge.state.branch_sha(loop.upstream, "fix")
    [upstream_pr] = [i for i in loop.upstream.issues.values() if i.pull is not None]
    assert upstream_pr.pull is not None
    assert (upstream_pr.title, upstream_pr.pull.head_ref, upstream_pr.pull.draft) == \
        ("Fix b", "fix", True)
    [reply] = loop.replies(number)
    upstream_url = f"{loop.forge.origin}/client/app"
    assert reply.startswith(f"Pushed `fix` to upstream branch [`fix`]({upstream_url}/tree/fix) "
                            f"as commit `{head[:12]}`.\n\nOpened upstream draft pull request "
                            f"#{upstream_pr.number}: {upstream_url}/pull/{upstream_pr.number}")
    comment_id = payload["comment"]["id"]
    assert loop.reactions(comment_id) == ["eyes", "rocket"]
    record = await SliceStore(loop.runtime.database).command("app", comment_id)
    assert record is not None
    assert (record.state, record.author) == (CommandState.SUCCEEDED, "dev")
    link = await SliceStore(loop.runtime.database).link_by_slice("app", number)
    assert link is not None
    assert link.upstream_pr == upstream_pr.number


async def test_raise_pr_finds_the_open_upstream_pull_request_again(loop: Loop) -> None:
    number, upstream_pr = await _linked(loop)
    payload = await loop.comment(DEV, number, "/git-slice raise-pr")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [_, reply] = loop.replies(number)
    assert reply.startswith(f"Upstream draft pull request #{upstream_pr} is open already: ")
    assert len([i for i in loop.upstream.issues.values() if i.pull is not None]) == 1


async def test_an_upstream_merge_is_told_on_the_linked_slice_pull_request(loop: Loop) -> None:
    number, upstream_pr = await _linked(loop)
    await loop.api(CLIENT, "PUT", f"/repos/client/app/pulls/{upstream_pr}/merge")
    await loop.forge.deliverer.drain()
    [closed] = [r.payload for r in loop.receiver.events("pull_request")
                if r.payload["action"] == "closed"]
    assert closed["pull_request"]["merged"] is True
    await loop.publish("pull_request", closed)
    await loop.publish("pull_request", closed)
    await drain(loop.runtime)
    told = [c.body for c in loop.slice.issue(number).comments if "was merged" in c.body]
    url = f"{loop.forge.origin}/client/app/pull/{upstream_pr}"
    assert told == [f"Upstream pull request {url} was merged."]
    assert loop.slice.issue(number).state == "closed"


async def test_a_read_only_user_is_refused_politely_and_nothing_is_pushed(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(READER, number, '/git-slice push -m "Fix b"')
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    assert _branches(loop.upstream) == {"main"}
    [reply] = loop.replies(number)
    assert reply.startswith("Sorry @reader, only people with write access to GitStart/App")
    assert loop.reactions(payload["comment"]["id"]) == []
    record = await SliceStore(loop.runtime.database).command("app", payload["comment"]["id"])
    assert record is not None
    assert record.state is CommandState.REFUSED


async def test_the_same_comment_delivered_twice_runs_once(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    await loop.publish("issue_comment", payload)
    await loop.publish("issue_comment", payload)
    rows = await drain(loop.runtime)
    assert [row["status"] for row in rows if row["task_name"] == "gitslice.command"] == \
        ["succeeded"]
    assert len(loop.replies(number)) == 1


async def test_a_malformed_command_gets_a_reply_saying_what_is_wrong(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, "/git-slice push -f")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [reply] = loop.replies(number)
    assert reply.startswith("That command could not be read: `push` needs a commit message")
    assert loop.reactions(payload["comment"]["id"]) == ["confused"]
    assert _branches(loop.upstream) == {"main"}


async def test_a_refused_push_is_replied_in_plain_words_and_changes_nothing(loop: Loop) -> None:
    async with loop.runtime.database.transaction() as conn:
        await conn.execute("UPDATE gitslice_slices SET push_commit_msg_regex = '^(feat|fix): '")
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [reply] = loop.replies(number)
    assert reply.startswith("`push` failed: ")
    assert "Fix b" in reply
    assert loop.reactions(payload["comment"]["id"]) == ["eyes", "confused"]
    assert _branches(loop.upstream) == {"main"}


async def test_a_comment_on_a_plain_issue_or_without_a_command_runs_nothing(loop: Loop) -> None:
    issue = await loop.api(DEV, "POST", "/repos/gitstart/app/issues", title="Bug")
    on_issue = await loop.comment(DEV, issue["number"], '/git-slice push -m "x"')
    number = await _pull_request(loop)
    chat = await loop.comment(DEV, number, "Looks good; run /git-slice push later")
    await loop.publish("issue_comment", on_issue)
    await loop.publish("issue_comment", chat)
    rows = await drain(loop.runtime)
    assert [row for row in rows if row["task_name"] == "gitslice.command"] == []
    assert loop.replies(issue["number"]) == loop.replies(number) == []


async def test_a_rate_limited_forge_tries_the_command_again_at_its_reset(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    async with httpx.AsyncClient(base_url=loop.forge.origin, headers={
            "Authorization": f"token {loop.forge.admin_token}"}) as admin:
        planned = await admin.post("/_forge/faults", json={
            "status": 403, "rate_limited": True, "reset_in": 600, "path": "/permission"})
        assert planned.status_code == 204
    await loop.publish("issue_comment", payload)
    before = dt.datetime.now(dt.UTC)
    for _ in range(5):
        await loop.runtime.jobs.run_worker(wait=False, concurrency=2)
    [job] = [row for row in await jobs(loop.runtime) if row["task_name"] == "gitslice.command"]
    assert (job["status"], job["attempts"]) == ("todo", 1)
    assert dt.timedelta(seconds=590) < job["scheduled_at"] - before < dt.timedelta(seconds=610)
    assert loop.replies(number) == []
    async with loop.runtime.database.transaction() as conn:  # the reset came
        await conn.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = %s",
                           (job["id"],))
    await drain(loop.runtime)
    [reply] = loop.replies(number)
    assert reply.startswith("Pushed `fix`")


async def test_a_retried_answer_is_not_posted_twice(loop: Loop) -> None:
    """A try after the reply was posted (its reaction failed, say) finds the reply's marker."""
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    syncer = syncer_for(loop.runtime)
    runner = CommandRunner(syncer, syncer.store)
    comment_id = payload["comment"]["id"]
    assert await runner.run("app", comment_id, attempt=2) is CommandState.SUCCEEDED
    assert len(loop.replies(number)) == 1
    assert await runner.run("app", comment_id, attempt=1) is CommandState.SUCCEEDED
    assert len(loop.replies(number)) == 2  # a first try does not look: it cannot have posted


async def test_on_its_last_try_an_unavailable_forge_is_replied(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    await loop.publish("issue_comment", payload)
    loop.forge.faults.append(Fault(status=502, times=100, path="/permission"))
    for _ in range(3):  # the first try fails and waits for its retry
        await loop.runtime.jobs.run_worker(wait=False, concurrency=2)
    [job] = [row for row in await jobs(loop.runtime) if row["task_name"] == "gitslice.command"]
    assert (job["status"], job["attempts"]) == ("todo", 1)
    assert loop.replies(number) == []
    syncer = syncer_for(loop.runtime)
    state = await CommandRunner(syncer, syncer.store).run(
        "app", payload["comment"]["id"], attempt=5, last=True)
    assert state is CommandState.FAILED
    [reply] = loop.replies(number)
    assert reply.startswith("`push` failed after several tries: GitHub answered 502")
    assert _branches(loop.upstream) == {"main"}
    loop.forge.faults.clear()


async def test_a_revoked_slice_token_fails_the_command_in_the_logs(loop: Loop) -> None:
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, '/git-slice push -m "Fix b"')
    del loop.forge.state.tokens[SLICE_BOT]
    with structlog.testing.capture_logs() as logs:
        await loop.publish("issue_comment", payload)
        await drain(loop.runtime)
    [line] = [log for log in logs if log["event"] == "slice_command_unanswered"]
    assert "401" in line["reason"]
    assert SLICE_BOT not in str(logs)
    assert loop.replies(number) == []
    assert _branches(loop.upstream) == {"main"}
    record = await SliceStore(loop.runtime.database).command("app", payload["comment"]["id"])
    assert record is not None
    assert record.state is CommandState.FAILED
    assert record.result is not None
    assert "refused crossdock's credentials" in record.result


async def test_a_slice_pull_request_opened_pulls_the_slice_by_its_forge_name(loop: Loop) -> None:
    await _pull_request(loop)
    await loop.forge.deliverer.drain()
    [opened] = [r.payload for r in loop.receiver.events("pull_request")
                if r.payload["action"] == "opened"]
    assert opened["repository"]["full_name"] == "gitstart/app"  # the slice says GitStart/App
    commit(loop.upstream.path, "main", {"NEWS": "new\n"})
    await loop.publish("pull_request", opened)
    await drain(loop.runtime)
    assert "NEWS" in await _slice_files(loop)


async def _slice_files(loop: Loop) -> str:
    return git(loop.slice.path, "ls-tree", "-r", "--name-only", "main")


async def test_pull_issue_copies_an_upstream_issue_and_replies_with_its_link(
    loop: Loop
) -> None:
    loop.forge.state.add_user("client", CLIENT)
    issue = await loop.api(CLIENT, "POST", "/repos/client/app/issues", title="Crash on login",
                           body="Steps: ...")
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, f"/git-slice pull-issue {issue['number']}")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [copied] = [i for i in loop.slice.issues.values() if i.title == "Crash on login"]
    [reply] = loop.replies(number)
    assert reply.startswith(f"Copied upstream issue #{issue['number']} to #{copied.number} "
                            f"({loop.forge.origin}/gitstart/app/issues/{copied.number})")
    assert loop.reactions(payload["comment"]["id"]) == ["eyes", "rocket"]


async def test_a_revoked_upstream_token_is_replied_on_the_pull_request(loop: Loop) -> None:
    loop.forge.state.add_user("client", CLIENT)
    issue = await loop.api(CLIENT, "POST", "/repos/client/app/issues", title="Crash")
    number = await _pull_request(loop)
    payload = await loop.comment(DEV, number, f"/git-slice pull-issue {issue['number']}")
    del loop.forge.state.tokens[BOT]
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [reply] = loop.replies(number)
    assert reply.startswith("`pull-issue` failed: the forge refused crossdock's credentials")
    assert "crossdock slice credentials app" in reply
    assert [i.title for i in loop.slice.issues.values()].count("Crash") == 0
    assert loop.reactions(payload["comment"]["id"]) == ["eyes", "confused"]


async def _linked(loop: Loop) -> tuple[int, int]:
    """A slice pull request pushed by command with -pr, and its upstream pull request."""
    number = await _pull_request(loop)
    await loop.publish("issue_comment",
                       await loop.comment(DEV, number, '/git-slice push -m "Fix b" -pr'))
    await drain(loop.runtime)
    loop.forge.state.add_user("client", CLIENT)
    link = await SliceStore(loop.runtime.database).link_by_slice("app", number)
    assert link is not None
    return number, link.upstream_pr


async def test_an_upstream_review_on_a_linked_pull_request_is_copied_by_itself(
    loop: Loop
) -> None:
    number, upstream_pr = await _linked(loop)
    await loop.api(CLIENT, "POST", f"/repos/client/app/pulls/{upstream_pr}/reviews",
                   body="Please rename", event="REQUEST_CHANGES",
                   comments=[{"path": "src/app.py", "line": 2, "side": "RIGHT", "body": "B?"}])
    await loop.forge.deliverer.drain()
    [review] = [r.payload for r in loop.receiver.events("pull_request_review")]
    await loop.publish("pull_request_review", review, delivery=901)
    await loop.publish("pull_request_review", review, delivery=902)
    await drain(loop.runtime)
    pull = loop.slice.issue(number).pull
    assert pull is not None
    [line_comment] = [c.body for c in pull.review_comments if c.path == "src/app.py"]
    assert line_comment.endswith("B?")
    assert len(pull.reviews) == 1
    # The first delivery's job copied it (its run and the copies name it); the second found
    # the copy and made no run.
    async with loop.runtime.database.connection() as conn:
        runs = await (await conn.execute(
            "SELECT delivery_id FROM gitslice_runs WHERE kind = 'pull_review'")).fetchall()
        copies = await (await conn.execute(
            "SELECT kind, delivery_id FROM gitslice_copies ORDER BY kind")).fetchall()
    assert runs == [{"delivery_id": 901}]
    assert copies == [{"kind": "review", "delivery_id": 901},
                      {"kind": "review_comment", "delivery_id": 901}]
    link = review["review"]["html_url"]
    payload = await loop.comment(DEV, number, f"/git-slice pull-review -from {link}")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [_, reply] = loop.replies(number)
    assert reply.startswith("That review was copied before")
    assert len(pull.reviews) == 1


async def test_pull_review_copies_a_review_by_its_link_and_replies(loop: Loop) -> None:
    number, upstream_pr = await _linked(loop)
    made = await loop.api(CLIENT, "POST", f"/repos/client/app/pulls/{upstream_pr}/reviews",
                          body="Nice", event="COMMENT",
                          comments=[{"path": "src/app.py", "line": 1, "body": "a?"}])
    payload = await loop.comment(DEV, number, f"/git-slice pull-review -from {made['html_url']}")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    pull = loop.slice.issue(number).pull
    assert pull is not None
    [copied] = pull.reviews
    [_, reply] = loop.replies(number)
    assert reply.startswith(f"Copied upstream review {made['id']} of pull request "
                            f"#{upstream_pr} onto #{number}: [the slice review]("
                            f"{loop.forge.origin}/gitstart/app/pull/{number}"
                            f"#pullrequestreview-{copied.id}), 1 line comment.")


async def test_a_review_on_an_unlinked_upstream_pull_request_defers_nothing(
    loop: Loop
) -> None:
    loop.forge.state.add_user("client", CLIENT)
    commit(loop.upstream.path, "other", {"x.txt": "x\n"}, start="main")
    made = await loop.api(CLIENT, "POST", "/repos/client/app/pulls", title="Theirs",
                          head="other", base="main")
    await loop.api(CLIENT, "POST", f"/repos/client/app/pulls/{made['number']}/reviews",
                   body="ok", event="COMMENT")
    await loop.forge.deliverer.drain()
    [review] = [r.payload for r in loop.receiver.events("pull_request_review")]
    await loop.publish("pull_request_review", review)
    rows = await drain(loop.runtime)
    assert [row for row in rows if row["task_name"] == "gitslice.pull_review"] == []


async def test_a_review_link_to_another_repository_gets_a_reply(loop: Loop) -> None:
    number = await _pull_request(loop)
    link = f"{loop.forge.origin}/someone/else/pull/3#pullrequestreview-99"
    payload = await loop.comment(DEV, number, f"/git-slice pull-review -from {link}")
    await loop.publish("issue_comment", payload)
    await drain(loop.runtime)
    [reply] = loop.replies(number)
    assert reply.startswith("`pull-review` failed: ")
    assert "is a link to another repository" in reply
    assert loop.reactions(payload["comment"]["id"]) == ["eyes", "confused"]
