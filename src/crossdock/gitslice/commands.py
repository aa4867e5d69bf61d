"""``/git-slice`` comment commands, read into typed commands.

A comment holds a command when one of its lines starts with ``/git-slice`` (the first such line
counts); any other comment is conversation and is left alone. The words after it are split as a
shell would (quotes keep a message together) and read as one of git-slice-tools' commands:

- ``push -m "message" [-f] [-pr] [-b BRANCH]``: the branch defaults to the pull request's head;
- ``raise-pr``;
- ``pull-review -from LINK``: the link of an upstream review;
- ``pull-issue N [-to M]``.

Anything else that starts with ``/git-slice`` is a :class:`CommandError` whose message says, in
plain words, what was wrong; it is replied on the pull request.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Iterator
from typing import ClassVar

import pygit2

from crossdock.gitslice.errors import CommandError

_LINE = re.compile(r"^[ \t]*/git-slice(?:[ \t]+(?P<rest>.*))?[ \t]*$", re.MULTILINE)

USAGE = ('`push -m "message" [-f] [-pr] [-b BRANCH]`, `raise-pr`, `pull-review -from LINK` '
         "or `pull-issue N [-to M]`")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PushCommand:
    """Push the pull request's branch upstream, squashed into one commit with ``message``."""

    verb: ClassVar[str] = "push"
    message: str
    force: bool = False
    #: ``-pr``: raise the upstream pull request after the push.
    raise_pr: bool = False
    #: ``-b``: push this slice branch instead of the pull request's head branch.
    branch: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RaisePrCommand:
    """Open (or find) the upstream pull request of the pull request's branch."""

    verb: ClassVar[str] = "raise-pr"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullReviewCommand:
    """Copy the upstream review at ``link`` onto the linked slice pull request."""

    verb: ClassVar[str] = "pull-review"
    link: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PullIssueCommand:
    """Copy upstream issue ``number`` to a new slice issue, or to slice issue ``to``."""

    verb: ClassVar[str] = "pull-issue"
    number: int
    to: int | None = None


Command = PushCommand | RaisePrCommand | PullReviewCommand | PullIssueCommand


def command_line(body: str | None) -> str | None:
    """The comment's first ``/git-slice`` line, stripped; None for a comment without one."""
    match = _LINE.search(body or "")
    return match[0].strip() if match else None


def parse_command(line: str) -> Command:
    """The command a ``/git-slice ...`` line asks for, or :class:`CommandError`."""
    match = _LINE.fullmatch(line.strip())
    if match is None:
        raise CommandError("a command starts with `/git-slice`")
    try:
        words = shlex.split(match["rest"] or "")
    except ValueError as exc:
        raise CommandError(f"the command's quotes do not match ({exc}); put the message in "
                           'one pair of double quotes: -m "Fix the login form"') from exc
    if not words:
        raise CommandError(f"say what to do after `/git-slice`: {USAGE}")
    verb, rest = words[0], words[1:]
    reader = _READERS.get(verb)
    if reader is None:
        raise CommandError(f"`{verb}` is not a command crossdock knows; the commands are {USAGE}")
    return reader(_Words(verb, rest))


class _Words:
    """A command's words after its verb, read one option at a time."""

    def __init__(self, verb: str, words: list[str]) -> None:
        self.verb = verb
        self.words = words
        self._index = 0

    def __iter__(self) -> Iterator[str]:
        while self._index < len(self.words):
            word = self.words[self._index]
            self._index += 1
            yield word

    def value(self, option: str, what: str) -> str:
        """The word after ``option``, which must not be another option."""
        if self._index >= len(self.words) or _is_option(self.words[self._index]):
            raise CommandError(f"`{self.verb} {option}` needs {what} after it")
        self._index += 1
        return self.words[self._index - 1]

    def unknown(self, word: str, takes: str) -> CommandError:
        what = "option" if _is_option(word) else "word"
        return CommandError(f"`{self.verb}` does not take the {what} `{word}` (it takes {takes})")


def _is_option(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not word[1:].isdigit()


def _number(word: str, what: str) -> int:
    text = word.removeprefix("#")
    if not text.isdigit() or int(text) < 1:
        raise CommandError(f"{what} must be a number such as 12, not `{word}`")
    return int(text)


def _push(words: _Words) -> PushCommand:
    message: str | None = None
    force = raise_pr = False
    branch: str | None = None
    for word in words:
        if word in {"-m", "--message"}:
            message = words.value(word, 'the commit message, in quotes: -m "Fix the bug"')
        elif word in {"-f", "--force"}:
            force = True
        elif word in {"-pr", "--pr"}:
            raise_pr = True
        elif word in {"-b", "--branch"}:
            branch = words.value(word, "a branch name")
            if not pygit2.reference_is_valid_name(f"refs/heads/{branch}"):
                raise CommandError(f"`{branch}` is not a valid branch name")
        else:
            raise words.unknown(word, '-m "message", -f, -pr and -b BRANCH')
    if message is None or not message.strip():
        raise CommandError('`push` needs a commit message: /git-slice push -m "Fix the bug"')
    return PushCommand(message=message, force=force, raise_pr=raise_pr, branch=branch)


def _raise_pr(words: _Words) -> RaisePrCommand:
    for word in words:
        raise words.unknown(word, "nothing more")
    return RaisePrCommand()


def _pull_review(words: _Words) -> PullReviewCommand:
    link: str | None = None
    for word in words:
        if word in {"-from", "--from"}:
            link = words.value(word, "the link of the upstream review")
        else:
            raise words.unknown(word, "-from LINK")
    if link is None:
        raise CommandError("`pull-review` needs the review's link: "
                           "/git-slice pull-review -from https://github.com/OWNER/REPO/pull/"
                           "12#pullrequestreview-345")
    return PullReviewCommand(link=link)


def _pull_issue(words: _Words) -> PullIssueCommand:
    number: int | None = None
    to: int | None = None
    for word in words:
        if word in {"-to", "--to"}:
            to = _number(words.value(word, "a slice issue number"), "the slice issue")
        elif number is None and not _is_option(word):
            number = _number(word, "the upstream issue")
        else:
            raise words.unknown(word, "the upstream issue number and -to N")
    if number is None:
        raise CommandError("`pull-issue` needs the upstream issue's number: "
                           "/git-slice pull-issue 12")
    return PullIssueCommand(number=number, to=to)


_READERS: dict[str, Callable[[_Words], Command]] = {
    "push": _push, "raise-pr": _raise_pr, "pull-review": _pull_review,
    "pull-issue": _pull_issue,
}
