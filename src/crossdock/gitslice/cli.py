"""``crossdock slice ...``: init, credentials, checkout, pull, push, pull-branch, pull-issue,
pull-review, raise-pr, status, map, list, reindex.

Every command also reads git-slice-tools' ``GIT_SLICE_*`` variables, from the environment or
from ``--env FILE``: with them, ``crossdock slice pull NAME`` works on a slice it has not seen
(it stores the slice first) and uses their tokens and identities.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from dotenv import dotenv_values
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from crossdock.core.cli import JsonFlag, print_json, settings
from crossdock.core.clihelp import examples
from crossdock.core.database import Database
from crossdock.core.entry import database_url, run
from crossdock.core.settings import CoreSettings
from crossdock.gitslice.config import (
    GITHUB_API,
    ForgeConfig,
    Mode,
    SliceConfig,
    from_git_slice_env,
    github_repo,
    merge_credentials,
)
from crossdock.gitslice.credentials import Side, StoredCredential
from crossdock.gitslice.errors import SliceConfigError, UnknownSlice
from crossdock.gitslice.forge.port import Permission
from crossdock.gitslice.forges import require_forge
from crossdock.gitslice.issues import CopiedIssue, issue_number
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.remote import redact
from crossdock.gitslice.reviews import CopiedReview, review_link_for
from crossdock.gitslice.settings import GitSliceSettings
from crossdock.gitslice.store import SliceStore
from crossdock.gitslice.syncer import Syncer

T = TypeVar("T")

app = typer.Typer(help="GitSlice: slices of upstream repositories.", no_args_is_help=True,
                  epilog=examples("crossdock slice list", "crossdock slice pull web"))
stdout = Console()
stderr = Console(stderr=True)

Name = Annotated[str, typer.Argument(help="The slice's name.")]
EnvFile = Annotated[Path | None, typer.Option(
    "--env", envvar="CROSSDOCK_GITSLICE_ENV_FILE",
    help="A git-slice-tools .env file of GIT_SLICE_* variables.")]


def _environment(env_file: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if env_file is not None:
        if not env_file.is_file():
            raise SliceConfigError(f"{env_file}: no such env file")
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    return env


@contextlib.asynccontextmanager
async def _syncer(url: str, core: CoreSettings, env: Mapping[str, str],
                  name: str | None) -> AsyncIterator[Syncer]:
    own = GitSliceSettings.from_env(env)
    config, compat = from_git_slice_env(name or "", env)
    credentials = merge_credentials(own.credentials(), compat)
    # Imported here: the job queue's library is only needed once a command reaches the store.
    from crossdock.core.bus import EventBus
    from crossdock.core.jobs import JobQueue

    async with Database(url, min_size=1, max_size=4) as database:
        # The slice's events go on the bus in the store's transactions (the queue's INSERT
        # runs on that connection: its own pool is never opened); a worker sends them on.
        events = EventBus(database, JobQueue(url))
        syncer = Syncer.from_settings(SliceStore(database, events=events), own,
                                      core_data_dir=core.data_dir, credentials=credentials)
        if name is not None and config is not None:
            try:
                await syncer.config(name)
            except UnknownSlice:
                await syncer.init(config)
        yield syncer


def _run(env_file: Path | None, name: str | None,
         work: Callable[[Syncer], Awaitable[T]]) -> T:
    core = settings()
    env = _environment(env_file)

    async def main(url: str) -> T:
        async with _syncer(url, core, env, name) as syncer:
            return await work(syncer)

    with database_url(core) as url:
        return run(main(url))


class _Bar:
    """Shows a pull's or push's steps and counts as a rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.bar = progress
        self.task = progress.add_task("starting", total=None)

    def step(self, description: str) -> None:
        self.bar.update(self.task, description=description, total=None, completed=0)

    def progress(self, done: int, total: int) -> None:
        self.bar.update(self.task, total=total, completed=done)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[_Bar | None]:
    if quiet or not stderr.is_terminal:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=stderr, transient=True) as progress:
        yield _Bar(progress)


Quiet = Annotated[bool, typer.Option("--quiet", "-q", envvar="CROSSDOCK_GITSLICE_QUIET",
                                     help="No progress bar.")]


@app.command(epilog=examples(
    "crossdock slice init web --upstream https://github.com/acme/app.git "
    "--slice https://github.com/acme/app-public.git --ignore 'internal/'",
    "crossdock slice init local --upstream ../app --slice ../app-public --mode squash"))
def init(
    name: Name,
    upstream: Annotated[str, typer.Option(
        envvar="GIT_SLICE_UPSTREAM_REPO_URL",
        help="Upstream repository: a path, or a file://, https:// or ssh:// URL.")],
    slice_url: Annotated[str, typer.Option("--slice", envvar="GIT_SLICE_SLICE_REPO_URL",
                                           help="Slice repository (may be empty).")],
    upstream_branch: Annotated[str, typer.Option(
        envvar="GIT_SLICE_UPSTREAM_REPO_DEFAULT_BRANCH", help="Upstream branch to slice.")
    ] = "main",
    slice_branch: Annotated[str, typer.Option(
        envvar="GIT_SLICE_SLICE_REPO_DEFAULT_BRANCH", help="Slice branch to write.")] = "main",
    ignore: Annotated[list[str] | None, typer.Option(
        help="Ignore glob (gitignore syntax); repeatable.")] = None,
    folder: Annotated[list[str] | None, typer.Option(
        help="Keep only this folder; repeatable.")] = None,
    mode: Annotated[Mode, typer.Option(help="history: one commit per upstream commit; "
                                            "squash: one git-slice:<sha> commit per pull.")
    ] = Mode.HISTORY,
    branch_template: Annotated[str, typer.Option(
        envvar="GIT_SLICE_PUSH_BRANCH_NAME_TEMPLATE",
        help="Upstream branch for a pushed slice branch.")] = "<branch_name>",
    message_regex: Annotated[str | None, typer.Option(
        envvar="GIT_SLICE_PUSH_COMMIT_MSG_REGEX", help="Pushed messages must match it.")] = None,
    command_user: Annotated[list[str] | None, typer.Option(
        help="Forge login whose /git-slice comments are obeyed without asking the forge; "
             "repeatable.")] = None,
    forge: Annotated[str | None, typer.Option(
        help="The forge both repositories are on: github (also GitHub Enterprise Server and "
             "the in-package forge, with --forge-api-url).")] = None,
    forge_api_url: Annotated[str, typer.Option(
        envvar="CROSSDOCK_GITSLICE_FORGE_API_URL",
        help="The forge's REST API (https://HOST/api/v3 for GitHub Enterprise Server).")
    ] = GITHUB_API,
    upstream_repo: Annotated[str | None, typer.Option(
        show_default="read from a github.com --upstream URL",
        help="The upstream repository on the forge, OWNER/NAME.")] = None,
    slice_repo: Annotated[str | None, typer.Option(
        show_default="read from a github.com --slice URL",
        help="The slice repository on the forge, OWNER/NAME.")] = None,
    pr_draft: Annotated[bool | None, typer.Option(
        "--pr-draft/--no-pr-draft", show_default="draft",
        help="Raise upstream pull requests as drafts (GIT_SLICE_PR_DRAFT).")] = None,
    pr_label: Annotated[list[str] | None, typer.Option(
        help="Label for raised upstream pull requests; repeatable (GIT_SLICE_PR_LABELS).")
    ] = None,
    command_permission: Annotated[Permission, typer.Option(
        help="The least role on the slice repository that may run /git-slice commands.")
    ] = Permission.WRITE,
    close_on_merge: Annotated[bool, typer.Option(
        "--close-on-merge/--keep-open-on-merge",
        help="Close the slice pull request when its upstream one is merged.")] = True,
    pull_every: Annotated[int | None, typer.Option(
        show_default="only on events and by hand",
        help="Also pull every so many seconds (60 or more).")] = None,
    update: Annotated[bool, typer.Option("--update", help="Change an existing slice.")] = False,
    env_file: EnvFile = None,
) -> None:
    """Create a slice: both repositories must answer; nothing is fetched until checkout or pull.

    A local path is stored as an absolute path. With --forge, the slice also gets pull
    requests, reviews, issues and /git-slice comment commands (store its tokens with
    `crossdock slice credentials`).
    """
    env = _environment(env_file)
    compat, _ = from_git_slice_env(name, env)
    ignores = tuple(ignore or ()) or (compat.ignores if compat else ())
    forge_config = None
    if forge is not None or upstream_repo or slice_repo:
        labels = tuple(pr_label or ()) or (compat.forge.pr_labels if compat and compat.forge
                                           else ())
        draft = pr_draft if pr_draft is not None else (
            compat.forge.pr_draft if compat and compat.forge else True)
        forge_config = ForgeConfig(
            kind=forge or "github", api_url=forge_api_url,
            upstream_repo=upstream_repo or github_repo(upstream) or "",
            slice_repo=slice_repo or github_repo(slice_url) or "",
            pr_draft=draft, pr_labels=labels, command_permission=command_permission,
            close_on_merge=close_on_merge)
    config = SliceConfig(
        name=name, upstream_url=upstream, upstream_branch=upstream_branch, slice_url=slice_url,
        slice_branch=slice_branch, mode=mode, ignores=ignores, folders=tuple(folder or ()),
        push_branch_template=branch_template, push_commit_msg_regex=message_regex,
        command_users=tuple(command_user or ()), forge=forge_config, pull_interval=pull_every,
    )
    _run(env_file, None, lambda syncer: syncer.init(config, update=update))
    stdout.print(f"slice {name!r} {'updated' if update else 'created'}: "
                 f"{redact(upstream)}@{upstream_branch} -> {redact(slice_url)}@{slice_branch}",
                 highlight=False)
    if forge_config is not None:
        stdout.print(f"on {forge_config.kind}: {forge_config.upstream_repo} -> "
                     f"{forge_config.slice_repo} ({forge_config.api_url})", highlight=False)


def _credential(side: Side, token: str | None, app_id: int | None, key: str | None,
                installation: int | None) -> StoredCredential | None:
    """One side's credential from the options given for it, if any."""
    if token is not None and (app_id is not None or key is not None):
        raise SliceConfigError(f"give the {side.value} side a token or an App, not both")
    if (app_id is None) != (key is None):
        raise SliceConfigError(f"a GitHub App needs --{side.value}-app-id and "
                               f"--{side.value}-app-key together")
    if token is not None:
        return StoredCredential(side=side, kind="token", secret=token)
    if app_id is not None and key is not None:
        return StoredCredential(side=side, kind="app", secret=key, app_id=app_id,
                                installation_id=installation)
    return None


Secret = Annotated[str | None, typer.Option(
    help="env:NAME (read from the service's environment when used), file:PATH (read now) or "
         "the value itself; stored encrypted, never shown.")]


@app.command(epilog=examples(
    "crossdock slice credentials web --upstream-token env:CLIENT_TOKEN "
    "--slice-token env:SLICE_TOKEN",
    "crossdock slice credentials web --upstream-app-id 12345 "
    "--upstream-app-key file:app.pem",
    "crossdock slice credentials web --show"))
def credentials(
    name: Name,
    upstream_token: Secret = None,
    slice_token: Secret = None,
    upstream_app_id: Annotated[int | None, typer.Option(
        help="A GitHub App's id: the upstream side authenticates as its installation.")
    ] = None,
    upstream_app_key: Secret = None,
    upstream_installation: Annotated[int | None, typer.Option(
        show_default="found from the repository", help="The App's installation id.")] = None,
    slice_app_id: Annotated[int | None, typer.Option(help="As --upstream-app-id.")] = None,
    slice_app_key: Secret = None,
    slice_installation: Annotated[int | None, typer.Option(
        help="As --upstream-installation.")] = None,
    forget: Annotated[list[Side] | None, typer.Option(
        help="Forget a side's own credential (the service's is used again); repeatable.")
    ] = None,
    show: Annotated[bool, typer.Option(help="Show what is stored (never the secrets).")] = False,
    env_file: EnvFile = None,
) -> None:
    """Store a slice's own forge credentials (a token or a GitHub App per side)."""
    given = [credential for credential in (
        _credential(Side.UPSTREAM, upstream_token, upstream_app_id, upstream_app_key,
                    upstream_installation),
        _credential(Side.SLICE, slice_token, slice_app_id, slice_app_key, slice_installation),
    ) if credential is not None]

    async def work(syncer: Syncer) -> dict[str, str]:
        await syncer.config(name)
        for credential in given:
            await syncer.set_credential(name, credential)
        for side in forget or ():
            await syncer.remove_credential(name, side)
        stored = await syncer.store.credentials(name)
        return {side.value: (stored[side].describe() if side in stored
                             else "the service's (CROSSDOCK_GITSLICE_*_TOKEN)")
                for side in Side}

    if not (given or forget or show):
        raise SliceConfigError("give a credential to store, --forget SIDE, or --show")
    described = _run(env_file, None, work)
    for side, text in described.items():
        stdout.print(f"{side}: {text}", highlight=False)


@app.command(epilog=examples("crossdock slice checkout web"))
def checkout(name: Name, env_file: EnvFile = None, quiet: Quiet = False) -> None:
    """Fetch both repositories into the slice's cache."""
    with _progress(quiet) as bar:
        heads = _run(env_file, name, lambda s: s.checkout(name, bar))
    stdout.print(f"upstream {heads['upstream'] or '(no branch)'}; "
                 f"slice {heads['slice'] or '(empty)'}", highlight=False)


@app.command(epilog=examples("crossdock slice pull web", "crossdock slice pull web --quiet"))
def pull(name: Name, env_file: EnvFile = None, quiet: Quiet = False) -> None:
    """Bring upstream's new commits into the slice's default branch."""
    with _progress(quiet) as bar:
        outcome = _run(env_file, name, lambda s: s.pull(name, bar))
    stdout.print(f"{outcome.commits} commit(s) sliced; {outcome.slice_branch} is at "
                 f"{outcome.slice_head}", highlight=False)


@app.command("pull-branch", epilog=examples(
    "crossdock slice pull-branch web --branch release-2.0",
    "crossdock slice pull-branch web --branch release-2.0 --target-branch main"))
def pull_branch(
    name: Name,
    branch: Annotated[str, typer.Option("--branch", "-b", help="Upstream branch to slice.")],
    target_branch: Annotated[str | None, typer.Option(
        "--target-branch", "-t",
        help="Also open a slice pull request from upstream-X into this slice branch (or "
             "reuse the open one).")] = None,
    env_file: EnvFile = None,
    quiet: Quiet = False,
) -> None:
    """Slice upstream branch X into slice branch upstream-X (replacing it)."""
    with _progress(quiet) as bar:
        outcome = _run(env_file, name, lambda s: s.pull_branch(name, branch, bar,
                                                               target_branch=target_branch))
    stdout.print(f"{outcome.commits} commit(s) sliced; {outcome.slice_branch} is at "
                 f"{outcome.slice_head}", highlight=False)
    if outcome.pull_request_url is not None:
        stdout.print(f"slice pull request #{outcome.pull_request} into {target_branch}: "
                     f"{outcome.pull_request_url}", highlight=False)
    elif target_branch is not None:
        stdout.print(f"no slice pull request: {outcome.slice_branch} has no commits",
                     highlight=False)


@app.command("raise-pr", epilog=examples(
    "crossdock slice raise-pr web --branch fix-typo",
    "crossdock slice raise-pr web --branch fix-typo --slice-pr 12 --json"))
def raise_pr(
    name: Name,
    branch: Annotated[str, typer.Option("--branch", "-b",
                                        help="Slice branch, pushed upstream already.")],
    slice_pr: Annotated[int | None, typer.Option(
        min=1, show_default="the open one from the branch",
        help="Slice pull request whose title and body to use, and to link.")] = None,
    as_json: JsonFlag = False,
    env_file: EnvFile = None,
) -> None:
    """Open the upstream pull request for a pushed slice branch (or reuse the open one)."""
    raised = _run(env_file, name, lambda s: s.raise_pr(name, branch, slice_pr=slice_pr))
    if as_json:
        print_json(dataclasses.asdict(raised))
        return
    how = "opened" if raised.created else "reused the open"
    kind = "draft pull request" if raised.draft else "pull request"
    stdout.print(f"{how} upstream {kind} #{raised.number} from {raised.upstream_branch}: "
                 f"{raised.html_url}", highlight=False)


@app.command(epilog=examples(
    "crossdock slice push web --branch fix-typo --message 'docs: fix a typo'",
    "crossdock slice push web --branch feature --preserve-commits"))
def push(
    name: Name,
    branch: Annotated[str, typer.Option("--branch", "-b", help="Slice branch to push.")],
    message: Annotated[str | None, typer.Option(
        "--message", "-m", show_default="the branch tip's", help="Commit message.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", "--force-push",
                                        help="Replace the upstream branch.")] = False,
    preserve_commits: Annotated[bool, typer.Option(
        help="One upstream commit per slice commit.")] = False,
    co_author: Annotated[list[str] | None, typer.Option(
        help='"Name <email>"; repeatable.')] = None,
    env_file: EnvFile = None,
    quiet: Quiet = False,
) -> None:
    """Push a slice branch's work to upstream."""
    request = PushRequest(branch=branch, message=message, force=force,
                          preserve_commits=preserve_commits, co_authors=tuple(co_author or ()))
    with _progress(quiet) as bar:
        plan = _run(env_file, name, lambda s: s.push(name, request, bar))
    if plan.up_to_date:
        stdout.print(f"upstream {plan.target_branch} already has these changes", highlight=False)
        return
    how = "merged into" if plan.merged else ("replaced" if force else "pushed to")
    stdout.print(f"{len(plan.slice_commits)} slice commit(s) {how} upstream "
                 f"{plan.target_branch} at {plan.commit}", highlight=False)


@app.command("pull-issue", epilog=examples(
    "crossdock slice pull-issue web 42",
    "crossdock slice pull-issue web https://github.com/acme/app/issues/42 --to 7 --json"))
def pull_issue(
    name: Name,
    issue: Annotated[str, typer.Argument(
        help="The upstream issue: its number, OWNER/NAME#NUMBER or its link.")],
    to: Annotated[int | None, typer.Option(
        "--to", show_default="a new one", help="Copy into this slice issue.")] = None,
    as_json: JsonFlag = False,
    env_file: EnvFile = None,
) -> None:
    """Copy an upstream issue (title, body, labels, comments) to the slice, with a link back.

    Pulled again, only the comments that are new upstream are copied.
    """

    async def work(syncer: Syncer) -> CopiedIssue:
        forge = require_forge(await syncer.config(name))
        return await syncer.pull_issue(name, issue_number(issue, forge), slice_issue=to)

    copied = _run(env_file, name, work)
    if as_json:
        print_json(dataclasses.asdict(copied))
        return
    how = "opened" if copied.created else "updated"
    stdout.print(f"slice issue #{copied.number} {how}, {copied.comments} comment(s) copied: "
                 f"{copied.html_url}", highlight=False)


@app.command("pull-review", epilog=examples(
    "crossdock slice pull-review web --from https://github.com/acme/web/pull/12#pullrequestreview-345",
    "crossdock slice pull-review web --pr 12 --review 345"))
def pull_review(
    name: Name,
    link: Annotated[str | None, typer.Option(
        "--from", help="The upstream review's link.")] = None,
    pr: Annotated[int | None, typer.Option(
        "--pr", min=1, help="The upstream pull request's number (with --review).")] = None,
    review: Annotated[int | None, typer.Option(
        "--review", min=1, help="The upstream review's id (with --pr).")] = None,
    as_json: JsonFlag = False,
    env_file: EnvFile = None,
) -> None:
    """Copy an upstream review onto the linked slice pull request."""
    if (link is None) == (pr is None and review is None) or \
            (link is None and (pr is None or review is None)):
        raise typer.BadParameter("give either --from LINK or both --pr N and --review ID")

    async def work(syncer: Syncer) -> CopiedReview:
        number, review_id = pr or 0, review or 0
        if link is not None:
            _, number, review_id = review_link_for(await syncer.config(name), link)
        return await syncer.pull_review(name, number, review_id)

    copied = _run(env_file, name, work)
    if as_json:
        print_json(dataclasses.asdict(copied))
        return
    if not copied.created:
        stdout.print(f"already copied to slice pull request #{copied.slice_pr}: "
                     f"{copied.html_url}", highlight=False)
        return
    left = f", {copied.left_out} left out" if copied.left_out else ""
    stdout.print(f"copied to slice pull request #{copied.slice_pr} with {copied.comments} "
                 f"line comment(s){left}: {copied.html_url}", highlight=False)


@app.command(epilog=examples("crossdock slice status web",
                             "crossdock slice status web --offline --json"))
def status(
    name: Name, as_json: JsonFlag = False, env_file: EnvFile = None,
    offline: Annotated[bool, typer.Option(help="Do not fetch first.")] = False,
) -> None:
    """Last synced upstream sha and the commits waiting both ways."""
    data = _run(env_file, name, lambda s: s.status(name, fetch=not offline))
    if as_json:
        print_json(data)
        return
    table = Table("key", "value", show_header=False)
    for key, value in data.items():
        shown = value
        if key == "last_run" and value:
            shown = f"{value['kind']} {value['state']} at {value['started_at']:%Y-%m-%d %H:%M:%S}"
        table.add_row(key, str(shown))
    stdout.print(table)


@app.command("map", epilog=examples("crossdock slice map web 3f2a9c1"))
def map_sha(
    name: Name, sha: Annotated[str, typer.Argument(help="Upstream or slice sha (or prefix).")],
    as_json: JsonFlag = False, env_file: EnvFile = None,
) -> None:
    """Translate a sha: upstream <-> slice."""
    found = _run(env_file, name, lambda s: s.lookup(name, sha))
    rows = [{"upstream": m.upstream, "slice": m.slice} for m in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        stderr.print(f"no mapped commit matches {sha}")
        raise typer.Exit(1)
    for row in rows:
        stdout.print(f"upstream {row['upstream']}  slice {row['slice']}", highlight=False)


@app.command("list", epilog=examples("crossdock slice list", "crossdock slice list --json"))
def list_slices(as_json: JsonFlag = False, env_file: EnvFile = None) -> None:
    """List the slices."""

    async def work(syncer: Syncer) -> list[dict[str, Any]]:
        rows = await syncer.store.all()
        return [{
            "name": r["name"], "mode": r["mode"], "upstream": redact(r["upstream_url"]),
            "upstream_branch": r["upstream_branch"], "slice": redact(r["slice_url"]),
            "slice_branch": r["slice_branch"], "ignores": r["ignores"], "folders": r["folders"],
            "command_users": r["command_users"], "last_upstream_sha": r["last_upstream_sha"],
            "last_slice_sha": r["last_slice_sha"],
        } for r in rows]

    rows = _run(env_file, None, work)
    if as_json:
        print_json(rows)
        return
    table = Table("name", "mode", "upstream", "slice", "last upstream sha")
    for r in rows:
        table.add_row(r["name"], r["mode"], f"{r['upstream']}@{r['upstream_branch']}",
                      f"{r['slice']}@{r['slice_branch']}", (r["last_upstream_sha"] or "")[:12])
    stdout.print(table)


@app.command(epilog=examples("crossdock slice reindex web"))
def reindex(name: Name, env_file: EnvFile = None, quiet: Quiet = False) -> None:
    """Rebuild the commit map from the slice's Upstream-Commit trailers."""
    with _progress(quiet) as bar:
        count = _run(env_file, name, lambda s: s.reindex(name, bar))
    stdout.print(f"{count} commit(s) mapped from trailers", highlight=False)
