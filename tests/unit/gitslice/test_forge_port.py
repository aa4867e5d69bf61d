"""The forge port's value objects and errors."""

from __future__ import annotations

import datetime

import pytest

from crossdock.gitslice.errors import GitSliceError
from crossdock.gitslice.forge.errors import (
    ForgeAuthError,
    ForgeError,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeRejected,
)
from crossdock.gitslice.forge.port import Permission, RepoRef


def test_roles_are_ordered_from_admin_down_to_none() -> None:
    assert Permission.ADMIN.at_least(Permission.WRITE)
    assert Permission.MAINTAIN.at_least(Permission.WRITE)
    assert Permission.WRITE.at_least(Permission.WRITE)
    assert not Permission.TRIAGE.at_least(Permission.WRITE)
    assert not Permission.NONE.at_least(Permission.READ)


def test_a_repository_name_splits_at_the_last_slash_so_group_paths_fit() -> None:
    assert RepoRef.parse("octo/hello").full_name == "octo/hello"
    nested = RepoRef.parse("group/sub/project")
    assert (nested.owner, nested.name) == ("group/sub", "project")


@pytest.mark.parametrize("bad", ["hello", "/hello", "octo/", ""])
def test_a_repository_name_without_owner_and_name_is_refused(bad: str) -> None:
    with pytest.raises(ForgeRejected, match="owner/name"):
        RepoRef.parse(bad)


def test_forge_errors_sit_under_gitslice_and_speak_by_default() -> None:
    for error in (ForgeNotFound, ForgeAuthError, ForgeRejected):
        assert issubclass(error, ForgeError)
    assert issubclass(ForgeError, GitSliceError)
    assert str(ForgeAuthError()) == "The forge refused the credentials."


def test_a_rate_limit_error_says_when_the_limit_resets() -> None:
    reset = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    error = ForgeRateLimited(reset_at=reset)
    assert error.reset_at == reset
    assert str(error) == "The forge's rate limit is spent."
