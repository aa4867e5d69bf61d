"""Running a ``/git-slice`` comment command taken from a slice pull request.

A command was recorded once per comment when its webhook came (:meth:`SliceStore.take_command`),
so a redelivered webhook never runs it twice. Running it:

1. who may: a login on the slice's command users, or one whose role on the slice repository is
   at least the slice's ``command_permission`` (write by default); others get a polite refusal;
2. what: the comment read into a command (:mod:`commands`); a malformed one gets a reply saying
   what was wrong;
3. taken: the comment gets an EYES reaction, the command runs, and the pull request gets a reply
   with the links (or the error in plain words) and a ROCKET or CONFUSED reaction. The runs it
   starts (push, raise-pr, ...) record the webhook delivery the comment came with.

A failure a retry can help (the forge or a git remote unreachable, a rate limit) is raised, so
the job is tried again; on its last try it is replied like any other failure. The reply is
recorded with the command's end before it is posted, and carries a marker, so a retry after a
reply that failed posts it once. A slice without forge repositories has no pull request to
answer on: its commands (``push -b BRANCH`` only) are refused, run and answered in the logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, Protocol

from crossdock.core.errors import RetryLater
from crossdock.core.logging import get_logger
from crossdock.gitslice.causes import delivered_by
from crossdock.gitslice.commands import (
    Command,
    PullIssueCommand,
    PullReviewCommand,
    PushCommand,
    RaisePrCommand,
    parse_command,
)
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.errors import (
    CommandError,
    GitAuthError,
    GitCommandError,
    GitSliceError,
    StoreError,
)
from crossdock.gitslice.forge.errors import (
    ForgeAuthError,
    ForgeRateLimited,
    ForgeUnavailable,
)
from crossdock.gitslice.forge.port import Forge, Reaction, RepoRef
from crossdock.gitslice.forges import ForgeProvider, SliceForges
from crossdock.gitslice.pushing import PushPlan, PushRequest
from crossdock.gitslice.records import CommandRecord, CommandState
from crossdock.gitslice.reviews import review_link_for

if TYPE_CHECKING:
    from crossdock.gitslice.issues import CopiedIssue
    from crossdock.gitslice.raise_pr import RaisedPr
    from crossdock.gitslice.reviews import CopiedReview

logger = get_logger("crossdock.gitslice")

#: Failures a later try may not meet: the job raises them and is tried again.
RETRIED = (ForgeUnavailable, ForgeRateLimited, GitCommandError, StoreError)
_DONE = frozenset({CommandState.SUCCEEDED, CommandState.FAILED, CommandState.REFUSED})
_REACTIONS = {CommandState.SUCCEEDED: Reaction.ROCKET, CommandState.FAILED: Reaction.CONFUSED}


class CommandStore(Protocol):
    """The store, as a command uses it."""

    async def command(self, name: str, comment_id: int) -> CommandRecord | None: ...

    async def finish_command(self, name: str, comment_id: int, state: CommandState,
                             result: str | None = None) -> None: ...


class CommandSyncer(Protocol):
    """The slice operations a command runs."""

    @property
    def forges(self) -> ForgeProvider: ...

    async def config(self, name: str) -> SliceConfig: ...

    async def push(self, name: str, request: PushRequest) -> PushPlan: ...

    async def raise_pr(self, name: str, branch: str, *,
                       slice_pr: int | None = None) -> RaisedPr: ...

    async def pull_review(self, name: str, upstream_pr: int, review_id: int) -> CopiedReview: ...

    async def pull_issue(self, name: str, upstream_issue: int, *,
                         slice_issue: int | None = None) -> CopiedIssue: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """How a command ended and what is replied."""

    state: CommandState
    text: str


def marker(comment_id: int) -> str:
    """The hidden line that ties a reply to its command's comment."""
    return f"<!-- crossdock:git-slice-command {comment_id} -->"


class Conversation(Protocol):
    """Where a command is answered: its pull request, or the logs."""

    async def react(self, reaction: Reaction) -> None: ...

    async def reply(self, answer: Answer, *, retried: bool) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullConversation:
    """The command's comment and its pull request on the slice repository."""

    forge: Forge
    repo: RepoRef
    record: CommandRecord

    async def react(self, reaction: Reaction) -> None:
        """React to the command's comment."""
        await self.forge.add_reaction(self.repo, self.record.comment_id, reaction)

    async def reply(self, answer: Answer, *, retried: bool) -> None:
        """Comment ``answer`` on the pull request (once: a retry looks for it first)."""
        tag = marker(self.record.comment_id)
        posted = retried and any(
            tag in comment.body
            for comment in await self.forge.list_comments(self.repo, self.record.pull_number))
        if not posted:
            await self.forge.create_comment(self.repo, self.record.pull_number,
                                            f"{answer.text}\n\n{tag}")
        reaction = _REACTIONS.get(answer.state)
        if reaction is not None:
            await self.react(reaction)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogConversation:
    """A slice without a forge: answers go to the logs."""

    record: CommandRecord

    async def react(self, reaction: Reaction) -> None:
        """Nothing to react on."""

    async def reply(self, answer: Answer, *, retried: bool) -> None:  # noqa: ARG002 (port)
        """Log the answer."""
        event = "slice_command_refused" if answer.state is CommandState.REFUSED else \
            "slice_command_answered"
        logger.warning(event, slice=self.record.slice_name, user=self.record.author,
                       comment_id=self.record.comment_id, state=answer.state.value,
                       reason=answer.text)


class CommandRunner:
    """Runs taken comment commands, each to one answer."""

    def __init__(self, syncer: CommandSyncer, store: CommandStore) -> None:
        self.syncer = syncer
        self.store = store

    async def run(self, name: str, comment_id: int, *, attempt: int = 1,
                  last: bool = True) -> CommandState | None:
        """Run the command of comment ``comment_id`` (try ``attempt``, the ``last`` one or
        not); how it ended, None when no such command was taken."""
        record = await self.store.command(name, comment_id)
        if record is None:
            logger.warning("slice_command_unknown", slice=name, comment_id=comment_id)
            return None
        config = await self.syncer.config(name)
        sides = await self.syncer.forges.sides(config) if config.forge else None
        talk: Conversation = LogConversation(record=record) if sides is None else \
            PullConversation(forge=sides.slice, repo=sides.slice_repo, record=record)
        if record.state in _DONE:
            # Answered before; this is a retry after the reply failed.
            answer = Answer(state=record.state, text=record.result or "")
        else:
            with delivered_by(record.delivery_id):
                answer = await self._answer(config, sides, record, talk, last=last)
            await self.store.finish_command(name, comment_id, answer.state, answer.text)
        try:
            await talk.reply(answer, retried=attempt > 1)
        except ForgeAuthError as exc:
            logger.warning("slice_command_unanswered", slice=name, comment_id=comment_id,
                           state=answer.state.value, reason=str(exc))
        except RETRIED as exc:
            if not last:
                retry(exc)
            logger.warning("slice_command_unanswered", slice=name, comment_id=comment_id,
                           state=answer.state.value, reason=str(exc))
        logger.info("slice_command_done", slice=name, comment_id=comment_id,
                    state=answer.state.value)
        return answer.state

    async def _answer(self, config: SliceConfig, sides: SliceForges | None,
                      record: CommandRecord, talk: Conversation, *, last: bool) -> Answer:
        verb = next(iter(record.command.split()[1:2]), "command")
        try:
            if not await self._allowed(config, sides, record.author):
                return _refusal(config, sides, record.author)
            try:
                command = parse_command(record.command)
            except CommandError as exc:
                return Answer(state=CommandState.FAILED,
                              text=f"That command could not be read: {exc}. Nothing was done.")
            await self.store.finish_command(config.name, record.comment_id, CommandState.RUNNING)
            await talk.react(Reaction.EYES)
            return await self._execute(config, sides, record, command)
        except RETRIED as exc:
            if not last:
                retry(exc)
            return Answer(state=CommandState.FAILED,
                          text=f"`{verb}` failed after several tries: {exc}. Post the command "
                               "again once the trouble is over.")
        except (ForgeAuthError, GitAuthError) as exc:
            return Answer(state=CommandState.FAILED,
                          text=f"`{verb}` failed: the forge refused crossdock's credentials "
                               f"({exc}). Ask the slice's admins to renew them with "
                               f"`crossdock slice credentials {config.name}`.")

    async def _allowed(self, config: SliceConfig, sides: SliceForges | None, login: str) -> bool:
        if config.obeys(login):
            return True
        if sides is None:
            return False
        role = await sides.slice.permission(sides.slice_repo, login)
        return role.at_least(sides.config.command_permission)

    async def _execute(self, config: SliceConfig, sides: SliceForges | None,
                       record: CommandRecord, command: Command) -> Answer:
        action = self._action(command)
        try:
            text = await action(_Run(config=config, sides=sides, record=record))
        except (*RETRIED, ForgeAuthError, GitAuthError):
            raise
        except GitSliceError as exc:
            return Answer(state=CommandState.FAILED,
                          text=f"`{command.verb}` failed: {exc}. Nothing was changed.")
        return Answer(state=CommandState.SUCCEEDED, text=text)

    def _action(self, command: Command) -> Callable[[_Run], Awaitable[str]]:
        if isinstance(command, PushCommand):
            return lambda run: self._push(run, command)
        if isinstance(command, RaisePrCommand):
            return self._raise_pr
        if isinstance(command, PullReviewCommand):
            return lambda run: self._pull_review(run, command)
        return lambda run: self._pull_issue(run, command)

    async def _push(self, run: _Run, command: PushCommand) -> str:
        branch = command.branch or await run.head_branch()
        plan = await self.syncer.push(run.config.name, PushRequest(
            branch=branch, message=command.message, force=command.force))
        where = await run.upstream_tree(plan.target_branch)
        if plan.up_to_date:
            text = (f"Nothing new to push: upstream branch {where} already has `{branch}`'s "
                    f"changes (commit `{plan.commit[:12]}`).")
        else:
            text = f"Pushed `{branch}` to upstream branch {where} as commit `{plan.commit[:12]}`."
        if command.raise_pr:
            raised = await self.syncer.raise_pr(run.config.name, branch,
                                                slice_pr=run.record.pull_number)
            text += "\n\n" + _raised(raised)
        return text

    async def _raise_pr(self, run: _Run) -> str:
        run.forge("raise-pr")
        raised = await self.syncer.raise_pr(run.config.name, await run.head_branch(),
                                            slice_pr=run.record.pull_number)
        return _raised(raised)

    async def _pull_review(self, run: _Run, command: PullReviewCommand) -> str:
        run.forge("pull-review")
        link = review_link_for(run.config, command.link)
        copied = await self.syncer.pull_review(run.config.name, link.pull, link.review_id)
        if not copied.created:
            return (f"That review was copied before: [the slice review]({copied.html_url}) on "
                    f"#{copied.slice_pr}.")
        left_out = f", {copied.left_out} left out (on ignored paths)" if copied.left_out else ""
        return (f"Copied upstream review {link.review_id} of pull request #{link.pull} onto "
                f"#{copied.slice_pr}: [the slice review]({copied.html_url}), "
                f"{_count(copied.comments, 'line comment')}{left_out}.")

    async def _pull_issue(self, run: _Run, command: PullIssueCommand) -> str:
        run.forge("pull-issue")
        copied = await self.syncer.pull_issue(run.config.name, command.number,
                                              slice_issue=command.to)
        verb = "Copied" if copied.created or command.to is not None else "Updated"
        return (f"{verb} upstream issue #{command.number} to #{copied.number} "
                f"({copied.html_url}); {_count(copied.comments, 'comment')} copied.")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """One command's slice, forge sides and record, with the look-ups its actions share."""

    config: SliceConfig
    sides: SliceForges | None
    record: CommandRecord

    def forge(self, what: str) -> SliceForges:
        if self.sides is None:
            raise CommandError(f"{what} needs the slice's forge repositories (`crossdock slice "
                               f"init {self.config.name} --update --forge github ...`)")
        return self.sides

    async def head_branch(self) -> str:
        """The pull request's head branch, from the forge."""
        sides = self.forge("finding the pull request's branch (or give it with -b BRANCH)")
        pull = await sides.slice.get_pull_request(sides.slice_repo, self.record.pull_number)
        return pull.head_ref

    async def upstream_tree(self, branch: str) -> str:
        """An upstream branch as a link when the forge is known, else its name."""
        if self.sides is None:
            return f"`{branch}`"
        repository = await self.sides.upstream.get_repository(self.sides.upstream_repo)
        return f"[`{branch}`]({repository.html_url}/tree/{branch})"


def _raised(raised: RaisedPr) -> str:
    kind = "draft pull request" if raised.draft else "pull request"
    if raised.created:
        return f"Opened upstream {kind} #{raised.number}: {raised.html_url}"
    return f"Upstream {kind} #{raised.number} is open already: {raised.html_url}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _refusal(config: SliceConfig, sides: SliceForges | None, login: str) -> Answer:
    if sides is None:
        text = (f"{login} is not one of the slice's command users (crossdock slice init "
                f"{config.name} --update --command-user LOGIN)")
    else:
        text = (f"Sorry @{login}, only people with {sides.config.command_permission.value} "
                f"access to {sides.slice_repo.full_name} can run git-slice commands here. "
                "Nothing was done; ask a maintainer to run it for you.")
    return Answer(state=CommandState.REFUSED, text=text)


def retry(exc: Exception) -> NoReturn:
    """Raise what gets the job tried again: at a rate limit's reset, else after its backoff."""
    if isinstance(exc, ForgeRateLimited):
        raise RetryLater(str(exc), retry_at=exc.reset_at) from exc
    raise exc
