"""Naming the upstream issue to pull: a number, OWNER/NAME#N or its link, of the slice's
upstream repository only."""

from __future__ import annotations

import pytest

from crossdock.gitslice.config import ForgeConfig
from crossdock.gitslice.errors import IssueRefused
from crossdock.gitslice.issues import issue_number

GITHUB = ForgeConfig(upstream_repo="acme/app", slice_repo="gitstart/app")
SERVER = ForgeConfig(api_url="https://git.acme.test/api/v3", upstream_repo="acme/app",
                     slice_repo="gitstart/app")


@pytest.mark.parametrize(("given", "number"), [
    ("42", 42), ("#42", 42), (" 7 ", 7), ("acme/app#42", 42), ("ACME/App#3", 3),
    ("https://github.com/acme/app/issues/42", 42),
    ("https://github.com/acme/app/issues/42/", 42),
])
def test_an_issue_of_the_upstream_repository_is_taken(given: str, number: int) -> None:
    assert issue_number(given, GITHUB) == number


def test_a_link_on_an_enterprise_server_is_taken_from_its_own_host() -> None:
    assert issue_number("https://git.acme.test/acme/app/issues/9", SERVER) == 9
    with pytest.raises(IssueRefused, match="not an issue of the slice's upstream"):
        issue_number("https://github.com/acme/app/issues/9", SERVER)


@pytest.mark.parametrize("given", [
    "other/app#42", "https://github.com/other/app/issues/42",
    "https://evil.test/acme/app/issues/42",
])
def test_an_issue_of_another_repository_is_refused(given: str) -> None:
    with pytest.raises(IssueRefused, match="only its issues are pulled"):
        issue_number(given, GITHUB)


@pytest.mark.parametrize("given", ["", "abc", "#", "acme/app", "https://github.com/acme/app",
                                   "https://github.com/acme/app/issues/x", "-3", "4.5"])
def test_what_names_no_issue_is_refused_saying_what_to_give(given: str) -> None:
    with pytest.raises(IssueRefused, match="give its number"):
        issue_number(given, GITHUB)


@pytest.mark.parametrize("given", ["0", "#0", str(2**31), "99999999999999999999"])
def test_a_number_out_of_range_is_refused(given: str) -> None:
    with pytest.raises(IssueRefused, match="is not an issue number"):
        issue_number(given, GITHUB)
