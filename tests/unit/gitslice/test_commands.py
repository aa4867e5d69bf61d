"""``/git-slice`` comments read into typed commands; a malformed one is a plain-words error."""

from __future__ import annotations

import re

import pytest

from crossdock.gitslice.commands import (
    PullIssueCommand,
    PullReviewCommand,
    PushCommand,
    RaisePrCommand,
    command_line,
    parse_command,
)
from crossdock.gitslice.errors import CommandError

LINK = "https://github.com/client/app/pull/12#pullrequestreview-345"


@pytest.mark.parametrize(("body", "line"), [
    ('LGTM\n/git-slice push -m "fix: it" -f', '/git-slice push -m "fix: it" -f'),
    ("  /git-slice raise-pr  \n/git-slice pull-issue 3", "/git-slice raise-pr"),
    ("/git-slice", "/git-slice"),
])
def test_the_first_line_starting_with_git_slice_is_the_command(body: str, line: str) -> None:
    assert command_line(body) == line


@pytest.mark.parametrize("body", [
    "no command here", "Run `/git-slice push` to push", "> /git-slice push -m x",
    "/git-slicer push", "", None,
])
def test_a_comment_without_a_git_slice_line_is_not_a_command(body: str | None) -> None:
    assert command_line(body) is None


@pytest.mark.parametrize(("line", "command"), [
    ('/git-slice push -m "fix: it" -f -pr -b my-branch',
     PushCommand(message="fix: it", force=True, raise_pr=True, branch="my-branch")),
    ("/git-slice push -m 'one word'", PushCommand(message="one word")),
    ('/git-slice push --message "x" --pr', PushCommand(message="x", raise_pr=True)),
    ("/git-slice raise-pr", RaisePrCommand()),
    (f"/git-slice pull-review -from {LINK}", PullReviewCommand(link=LINK)),
    ("/git-slice pull-issue 12", PullIssueCommand(number=12)),
    ("/git-slice pull-issue #12 -to 4", PullIssueCommand(number=12, to=4)),
    ("/git-slice pull-issue -to 4 12", PullIssueCommand(number=12, to=4)),
])
def test_each_command_is_read_with_its_options(line: str, command: object) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(("line", "says"), [
    ("/git-slice", "say what to do"),
    ("/git-slice deploy", "`deploy` is not a command"),
    ("/git-slice push", "needs a commit message"),
    ("/git-slice push -m", "`push -m` needs the commit message"),
    ("/git-slice push -m -f", "`push -m` needs the commit message"),
    ('/git-slice push -m "unclosed', "quotes do not match"),
    ('/git-slice push -m "x" -x', "does not take the option `-x`"),
    ('/git-slice push -m "x" -b "bad branch"', "not a valid branch name"),
    ('/git-slice push -m "  "', "needs a commit message"),
    ("/git-slice raise-pr now", "does not take the word `now`"),
    ("/git-slice pull-review", "needs the review's link"),
    ("/git-slice pull-review -from", "needs the link"),
    ("/git-slice pull-issue", "needs the upstream issue's number"),
    ("/git-slice pull-issue twelve", "must be a number such as 12, not `twelve`"),
    ("/git-slice pull-issue 0", "must be a number"),
    ("/git-slice pull-issue 3 -to x", "the slice issue must be a number"),
    ("/git-slice pull-issue 3 4", "does not take the word `4`"),
])
def test_a_malformed_command_says_what_is_wrong(line: str, says: str) -> None:
    with pytest.raises(CommandError, match=re.escape(says)) as caught:
        parse_command(line)
    assert "\n" not in str(caught.value)
