"""``python -m crossdock.gitslice.forge.fake``: run the in-package forge and drive it by hand.

``serve`` runs a forge; the other commands talk to a running one over its REST API, as a
person on GitHub would (create a repository, open a pull request, comment, review, reply to a
line comment, open an issue), so the GitSlice loop can be tried without a GitHub account.
docs/how-to/test-forge.md walks through them.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console

from crossdock.core.clihelp import examples, humanize
from crossdock.core.entry import run
from crossdock.core.errors import ConfigError, CrossdockError, PortInUse
from crossdock.gitslice.forge.errors import ForgeError, ForgeUnavailable
from crossdock.gitslice.forge.fake.app import serve as serve_forge
from crossdock.gitslice.forge.port import RepoRef

app = typer.Typer(name="forge", no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False,
                  help="The in-package GitHub-compatible forge, for tests and the demo.")
pr_app = typer.Typer(no_args_is_help=True, help="Pull requests.")
app.add_typer(pr_app, name="pr")

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

_URL = "http://127.0.0.1:8787"

Url = Annotated[str, typer.Option("--url", envvar="CROSSDOCK_FORGE_URL",
                                  help="The forge's address.")]
Token = Annotated[str, typer.Option("--token", envvar="CROSSDOCK_FORGE_TOKEN",
                                    help="The token of the user acting.")]
AdminToken = Annotated[str, typer.Option("--admin-token", envvar="CROSSDOCK_FORGE_ADMIN_TOKEN",
                                         help="The forge's admin token (printed by serve).")]
Repo = Annotated[str, typer.Argument(help="owner/name")]


def _repo(full_name: str) -> RepoRef:
    try:
        return RepoRef.parse(full_name)
    except ForgeError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _user(value: str) -> tuple[str, str]:
    login, _, token = value.partition(":")
    if not login or not token:
        raise typer.BadParameter(f"a user is LOGIN:TOKEN, not {value!r}")
    return login, token


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake serve --user alice:tok-alice --user bob:tok-bob",
    "python -m crossdock.gitslice.forge.fake serve --port 0 --data ./forge-data"))
def serve(
    host: Annotated[str, typer.Option(envvar="CROSSDOCK_FORGE_HOST",
                                      help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="CROSSDOCK_FORGE_PORT",
                                      help="Port (0: any free one).")] = 8787,
    data: Annotated[Path | None, typer.Option(
        envvar="CROSSDOCK_FORGE_DATA",
        help="An empty folder for the repositories (default: a temporary one, removed at exit)."
    )] = None,
    user: Annotated[list[str] | None, typer.Option(
        help="A user as LOGIN:TOKEN (repeatable).")] = None,
    admin_token: Annotated[str | None, typer.Option(
        "--admin-token", envvar="CROSSDOCK_FORGE_ADMIN_TOKEN",
        help="The admin token (default: a new random one, printed).")] = None,
) -> None:
    """Run a forge until interrupted; print its addresses and tokens."""
    users = [_user(value) for value in user or []]
    if data is not None and data.exists() and any(data.iterdir()):
        raise ConfigError(f"--data {data} is not empty; the forge keeps its state in memory "
                          "and needs an empty folder")
    root = data or Path(tempfile.mkdtemp(prefix="crossdock-forge-"))
    try:
        run(_serve(root, host, port, users, admin_token))
    finally:
        if data is None:
            shutil.rmtree(root, ignore_errors=True)


async def _serve(root: Path, host: str, port: int, users: list[tuple[str, str]],
                 admin_token: str | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve_forge(root, host=host, port=port, admin_token=admin_token) as forge:
        for login, token in users:
            forge.state.add_user(login, token)
        stdout.print(f"forge:        {forge.origin}", highlight=False)
        stdout.print(f"REST API:     {forge.api_url}", highlight=False)
        stdout.print(f"git:          {forge.origin}/OWNER/NAME.git", highlight=False)
        stdout.print(f"admin token:  {forge.admin_token}", highlight=False)
        for login, _ in users:
            stdout.print(f"user:         {login}", highlight=False)
        sys.stdout.flush()
        await stop.wait()


def _call(url: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
          ) -> Any:
    """One REST call; the answer's JSON, or a ForgeError with the forge's message."""
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=30, trust_env=False) as client:
            response = client.request(method, path, json=body,
                                      headers={"Authorization": f"token {token}"})
    except httpx.HTTPError as exc:
        raise ForgeUnavailable(f"no forge answers at {url} ({type(exc).__name__})") from exc
    if response.status_code >= 400:  # noqa: PLR2004 - an HTTP status reads best as a number
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise ForgeError(f"the forge answered {response.status_code}: {message}")
    return response.json() if response.content else None


def _api(url: str, token: str, method: str, path: str, body: dict[str, Any] | None = None
         ) -> Any:
    return _call(f"{url.rstrip('/')}/api/v3", token, method, path, body)


def _show(data: Any, *keys: str) -> None:
    shown = {key: data[key] for key in keys} if keys else data
    stdout.print(orjson.dumps(shown).decode(), highlight=False)


@app.command("add-user", epilog=examples(
    "python -m crossdock.gitslice.forge.fake add-user carol --admin-token $ADMIN"))
def add_user(login: str, admin_token: AdminToken, url: Url = _URL,
             token: Annotated[str | None, typer.Option(
                 "--new-token", help="The new user's token (default: a random one).")] = None,
             ) -> None:
    """Add a user; print the user's token."""
    _show(_call(url, admin_token, "POST", "/_forge/users", {"login": login, "token": token}))


@app.command("create-repo", epilog=examples(
    "python -m crossdock.gitslice.forge.fake create-repo upstream --token tok-alice"))
def create_repo(name: str, token: Token, url: Url = _URL,
                private: Annotated[bool, typer.Option(help="Private repository.")] = False,
                ) -> None:
    """Create a repository owned by the token's user; print its clone URL."""
    _show(_api(url, token, "POST", "/user/repos", {"name": name, "private": private}),
          "full_name", "clone_url", "html_url")


@app.command("add-hook", epilog=examples(
    "python -m crossdock.gitslice.forge.fake add-hook alice/upstream "
    "http://127.0.0.1:8000/webhooks/github --secret s3cret-s3cret-s3cret --token tok-alice"))
def add_hook(repo: Repo, target: str, token: Token, url: Url = _URL,
             secret: Annotated[str, typer.Option(help="The HMAC secret.")] = "",
             event: Annotated[list[str] | None, typer.Option(
                 help="An event to send (repeatable; default: all five).")] = None) -> None:
    """Send the repository's webhooks to TARGET, signed with --secret."""
    ref = _repo(repo)
    events = event or ["push", "pull_request", "issue_comment", "pull_request_review", "issues"]
    _show(_api(url, token, "POST", f"/repos/{ref.full_name}/hooks", {
        "name": "web", "active": True, "events": events,
        "config": {"url": target, "content_type": "json", "secret": secret}}), "id", "events")


@app.command("add-collaborator", epilog=examples(
    "python -m crossdock.gitslice.forge.fake add-collaborator alice/slice bob --role write "
    "--token tok-alice"))
def add_collaborator(repo: Repo, login: str, token: Token, url: Url = _URL,
                     role: Annotated[str, typer.Option(
                         help="admin, maintain, write, triage or read.")] = "write") -> None:
    """Give LOGIN a role on the repository."""
    ref = _repo(repo)
    _api(url, token, "PUT", f"/repos/{ref.full_name}/collaborators/{login}",
         {"permission": role})
    _show({"repo": ref.full_name, "login": login, "role": role})


@pr_app.command("open", epilog=examples(
    "python -m crossdock.gitslice.forge.fake pr open alice/slice --head fix --base main "
    "--title Fix --token tok-alice"))
def pr_open(repo: Repo, head: Annotated[str, typer.Option(help="The branch to merge.")],
            title: Annotated[str, typer.Option(help="The title.")], token: Token,
            url: Url = _URL, base: Annotated[str, typer.Option(help="Into this branch.")] = "main",
            body: Annotated[str, typer.Option(help="The description.")] = "",
            draft: Annotated[bool, typer.Option(help="Open as a draft.")] = False) -> None:
    """Open a pull request; print its number and address."""
    ref = _repo(repo)
    _show(_api(url, token, "POST", f"/repos/{ref.full_name}/pulls", {
        "title": title, "head": head, "base": base, "body": body, "draft": draft}),
        "number", "html_url")


@pr_app.command("merge", epilog=examples(
    "python -m crossdock.gitslice.forge.fake pr merge alice/upstream 1 --token tok-alice"))
def pr_merge(repo: Repo, number: int, token: Token, url: Url = _URL) -> None:
    """Merge a pull request with a merge commit."""
    ref = _repo(repo)
    _show(_api(url, token, "PUT", f"/repos/{ref.full_name}/pulls/{number}/merge", {}),
          "sha", "merged")


@pr_app.command("list", epilog=examples(
    "python -m crossdock.gitslice.forge.fake pr list alice/upstream --token tok-alice"))
def pr_list(repo: Repo, token: Token, url: Url = _URL,
            state: Annotated[str, typer.Option(help="open, closed or all.")] = "open") -> None:
    """List pull requests, newest first, one JSON object a line."""
    ref = _repo(repo)
    for pull in _api(url, token, "GET", f"/repos/{ref.full_name}/pulls?state={state}"):
        _show({"number": pull["number"], "title": pull["title"], "state": pull["state"],
               "draft": pull["draft"], "merged": pull["merged_at"] is not None,
               "head": pull["head"]["ref"], "base": pull["base"]["ref"],
               "labels": [label["name"] for label in pull["labels"]],
               "html_url": pull["html_url"]})


@pr_app.command("reviews", epilog=examples(
    "python -m crossdock.gitslice.forge.fake pr reviews alice/slice 1 --token tok-alice"))
def pr_reviews(repo: Repo, number: int, token: Token, url: Url = _URL) -> None:
    """List a pull request's reviews with their line comments, one JSON object a line."""
    ref = _repo(repo)
    pulls = f"/repos/{ref.full_name}/pulls/{number}"
    for found in _api(url, token, "GET", f"{pulls}/reviews"):
        lines = _api(url, token, "GET", f"{pulls}/reviews/{found['id']}/comments")
        _show({"id": found["id"], "user": found["user"]["login"], "state": found["state"],
               "body": found["body"],
               "comments": [{"path": line["path"], "line": line["line"],
                             "start_line": line["start_line"], "body": line["body"]}
                            for line in lines]})


@app.command(epilog=examples(
    'python -m crossdock.gitslice.forge.fake comment alice/slice 1 '
    '\'/git-slice push -m "Fix" -pr\' --token tok-bob'))
def comment(repo: Repo, number: int, body: str, token: Token, url: Url = _URL) -> None:
    """Comment on an issue or pull request."""
    ref = _repo(repo)
    _show(_api(url, token, "POST", f"/repos/{ref.full_name}/issues/{number}/comments",
               {"body": body}), "id", "html_url")


def _line(value: str) -> dict[str, Any]:
    """``path:line:text`` or ``path:start-end:text`` (a range), on the new side."""
    path, _, rest = value.partition(":")
    lines, _, text = rest.partition(":")
    start, _, end = lines.partition("-")
    try:
        comment: dict[str, Any] = {"path": path, "line": int(end or start), "side": "RIGHT",
                                   "body": text}
        if end:
            comment |= {"start_line": int(start), "start_side": "RIGHT"}
    except ValueError as exc:
        raise typer.BadParameter(f"a line comment is PATH:LINE:TEXT or PATH:START-END:TEXT, "
                                 f"not {value!r}") from exc
    if not path or not text:
        raise typer.BadParameter(f"a line comment is PATH:LINE:TEXT, not {value!r}")
    return comment


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake review alice/upstream 1 --body 'Two things' "
    "--line 'app.py:2:why?' --line 'app.py:3-4:and this' --token tok-carol"))
def review(repo: Repo, number: int, token: Token, url: Url = _URL,
           body: Annotated[str, typer.Option(help="The review's text.")] = "",
           event: Annotated[str, typer.Option(
               help="COMMENT, APPROVE or REQUEST_CHANGES.")] = "COMMENT",
           line: Annotated[list[str] | None, typer.Option(
               help="A line comment PATH:LINE:TEXT or PATH:START-END:TEXT (repeatable).")
           ] = None) -> None:
    """Submit a review of a pull request, with line comments; print their ids (for reply)."""
    ref = _repo(repo)
    comments = [_line(value) for value in line or []]
    made = _api(url, token, "POST", f"/repos/{ref.full_name}/pulls/{number}/reviews",
                {"body": body, "event": event, "comments": comments})
    lines = _api(url, token, "GET",
                 f"/repos/{ref.full_name}/pulls/{number}/reviews/{made['id']}/comments"
                 "?per_page=100")
    _show({"id": made["id"], "state": made["state"], "html_url": made["html_url"],
           "comments": [comment["id"] for comment in lines]})


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake reply alice/upstream 1 1007 'Because of the spec' "
    "--token tok-alice"))
def reply(repo: Repo, number: int, comment_id: int, body: str, token: Token,
          url: Url = _URL) -> None:
    """Answer a review's line comment in its thread (the answer is a review of its own)."""
    ref = _repo(repo)
    _show(_api(url, token, "POST",
               f"/repos/{ref.full_name}/pulls/{number}/comments/{comment_id}/replies",
               {"body": body}), "id", "in_reply_to_id", "pull_request_review_id", "html_url")


@app.command("open-issue", epilog=examples(
    "python -m crossdock.gitslice.forge.fake open-issue alice/upstream --title Bug "
    "--label bug --token tok-alice"))
def open_issue(repo: Repo, title: Annotated[str, typer.Option(help="The title.")],
               token: Token, url: Url = _URL,
               body: Annotated[str, typer.Option(help="The description.")] = "",
               label: Annotated[list[str] | None, typer.Option(
                   help="A label (repeatable; dropped, as on GitHub, unless the user may "
                        "push).")] = None) -> None:
    """Open an issue; print its number and address."""
    ref = _repo(repo)
    _show(_api(url, token, "POST", f"/repos/{ref.full_name}/issues",
               {"title": title, "body": body, "labels": label or []}), "number", "html_url")


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake show alice/upstream 2 --token tok-alice"))
def show(repo: Repo, number: int, token: Token, url: Url = _URL) -> None:
    """Show an issue or pull request, then its comments, one JSON object a line."""
    ref = _repo(repo)
    issue = _api(url, token, "GET", f"/repos/{ref.full_name}/issues/{number}")
    _show({"number": issue["number"], "title": issue["title"], "state": issue["state"],
           "user": issue["user"]["login"], "labels": [label["name"] for label in issue["labels"]],
           "body": issue["body"], "html_url": issue["html_url"]})
    for said in _api(url, token, "GET", f"/repos/{ref.full_name}/issues/{number}/comments"):
        _show({"comment": said["id"], "user": said["user"]["login"], "body": said["body"]})


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake deliveries --admin-token $ADMIN"))
def deliveries(admin_token: AdminToken, url: Url = _URL) -> None:
    """List the webhook deliveries so far, one JSON object a line."""
    for delivery in _call(url, admin_token, "GET", "/_forge/deliveries"):
        _show(delivery)


@app.command(epilog=examples(
    "python -m crossdock.gitslice.forge.fake redeliver alice/upstream 1004 7 --token tok-alice"))
def redeliver(repo: Repo, hook_id: int, delivery_id: int, token: Token, url: Url = _URL) -> None:
    """Send a delivery again, as GitHub's "Redeliver" does (same GUID and signature)."""
    ref = _repo(repo)
    _api(url, token, "POST",
         f"/repos/{ref.full_name}/hooks/{hook_id}/deliveries/{delivery_id}/attempts")
    _show({"redelivered": delivery_id})


def main() -> None:
    """The entry point: our errors are one line on stderr, 2 for settings, 1 otherwise."""
    # The same help as crossdock's own commands: values in words, not Python types.
    command = humanize(typer.main.get_command(app))
    try:
        command.main(prog_name="python -m crossdock.gitslice.forge.fake")
    except (ConfigError, PortInUse) as exc:
        stderr.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)
    except CrossdockError as exc:
        stderr.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
