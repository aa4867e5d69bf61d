"""The bodies pull-issue writes: attribution first, the link back always last, even when the
upstream text is longer than a body may be."""

from __future__ import annotations

import datetime

from crossdock.gitslice.forge.port import Comment, Issue, IssueState
from crossdock.gitslice.issues import comment_body, link_line

URL = "https://github.com/acme/app/issues/4"


def a_comment(body: str) -> Comment:
    return Comment(id=7, body=body, author="client", html_url=f"{URL}#issuecomment-7",
                   created_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))


def test_a_copied_comment_names_its_author_and_ends_with_its_link() -> None:
    assert comment_body(a_comment("Same here.")) == \
        f"From @client:\n\nSame here.\n\nPulled from {URL}#issuecomment-7"


def test_an_overlong_comment_is_cut_but_keeps_its_link_back_within_githubs_limit() -> None:
    body = comment_body(a_comment("x" * 70000))
    assert len(body) <= 65536
    assert body.startswith("From @client:\n\nxxx")
    assert body.splitlines()[-3:] == ["[...]", "", f"Pulled from {URL}#issuecomment-7"]


def test_the_link_back_names_the_issue_and_who_opened_it() -> None:
    issue = Issue(number=4, title="Crash", body="", state=IssueState.OPEN, author="client",
                  html_url=URL)
    assert link_line(issue) == f"Pulled from {URL} (opened by @client)"
