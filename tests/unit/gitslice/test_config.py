"""A slice's settings are checked when the slice is created, not at its first pull or push."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.gitslice.config import SliceConfig, checked
from crossdock.gitslice.errors import SliceConfigError


def _config(**changes: object) -> SliceConfig:
    values: dict[str, object] = {"name": "web", "upstream_url": "/srv/app.git",
                                 "slice_url": "/srv/app-public.git"}
    values.update(changes)
    return SliceConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", [
    "https://github.com/acme/app.git", "ssh://git@github.com/acme/app.git",
    "git@github.com:acme/app.git", "git://example.test/app.git", "file:///srv/app.git",
])
def test_a_url_git_can_reach_is_kept_as_given(url: str) -> None:
    assert checked(_config(upstream_url=url)).upstream_url == url


def test_a_relative_path_becomes_absolute_against_the_current_folder(tmp_path: Path) -> None:
    config = checked(_config(upstream_url="repos/../app.git", slice_url="~/public.git"),
                     cwd=tmp_path)
    assert config.upstream_url == str(tmp_path.resolve() / "app.git")
    assert config.slice_url == str(Path.home().resolve() / "public.git")


@pytest.mark.parametrize(("changes", "message"), [
    ({"push_commit_msg_regex": "[unclosed"}, "commit message regex '[unclosed' is not a valid"),
    ({"upstream_branch": "a branch"}, "upstream branch 'a branch' is not a valid branch name"),
    ({"slice_branch": ""}, "slice branch '' is not a valid branch name"),
    ({"push_branch_template": "<branch_name>~1"}, "push branch template"),
    ({"folders": ("/etc",)}, "folder '/etc'"),
    ({"folders": ("web/../..",)}, "folder 'web/../..'"),
    ({"upstream_url": "htps://github.com/acme/app.git"}, "unknown scheme 'htps'"),
    ({"upstream_url": "https://[::1/app.git"}, "is not a valid URL"),
    ({"slice_url": "http:///app.git"}, "slice repository 'http:///app.git' has no host"),
    ({"slice_url": " /srv/app.git"}, "is not a URL or a path"),
    ({"upstream_url": "https://x:tok@host:notaport/a.git"}, "'https://***@host:notaport/a.git'"),
])
def test_a_setting_that_would_fail_later_is_refused(changes: dict[str, object],
                                                    message: str) -> None:
    with pytest.raises(SliceConfigError) as caught:
        checked(_config(**changes))
    assert message in str(caught.value)
