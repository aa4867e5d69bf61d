"""Ignore rules, trailers, redaction and git-slice-tools settings, without I/O."""

from __future__ import annotations

import pytest

from crossdock.gitslice.config import Mode, from_git_slice_env
from crossdock.gitslice.errors import CommitMessageRejected, SliceConfigError
from crossdock.gitslice.ignore import IgnoreRules
from crossdock.gitslice.messages import add_trailer, upstream_sha, with_co_authors
from crossdock.gitslice.pushing import check_message, target_branch
from crossdock.gitslice.remote import Remote, redact

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_settings_globs_and_the_ignore_file_combine_with_reincludes() -> None:
    rules = IgnoreRules(patterns=("*.key", "dev/*"), ignore_file="!dev/keep.md\nbuild/\n")
    assert rules.excluded("a/b.key")
    assert rules.excluded("dev/x.md")
    assert not rules.excluded("dev/keep.md")
    assert rules.dir_excluded("src/build")
    assert rules.excluded("src/build/out.js")
    assert not rules.excluded("src/app.py")


def test_nothing_comes_back_from_under_an_excluded_directory() -> None:
    rules = IgnoreRules(patterns=("dev/", "!dev/keep.md"))
    assert rules.dir_excluded("dev")
    assert rules.excluded("dev/keep.md")


def test_folders_limit_the_slice() -> None:
    rules = IgnoreRules(folders=("web/app",))
    assert not rules.dir_excluded("web")
    assert rules.excluded("web/top.txt")
    assert not rules.excluded("web/app/a.js")
    assert rules.dir_excluded("server")
    assert rules.excluded("README.md")


def test_the_ignore_file_is_upstream_only_and_digests_tell_rules_apart() -> None:
    rules = IgnoreRules(patterns=("x",))
    assert rules.upstream_only(".gitsliceignore")
    assert not rules.upstream_only("y")
    assert rules.digest == IgnoreRules(patterns=("x",)).digest
    assert rules.digest != IgnoreRules(patterns=("x",), ignore_file="y").digest


def test_trailers_join_an_existing_trailer_block_or_start_one() -> None:
    assert add_trailer(b"subject\n", "Upstream-Commit", SHA) == \
        f"subject\n\nUpstream-Commit: {SHA}\n".encode()
    signed = b"subject\n\nbody\n\nSigned-off-by: A <a@x>\n"
    assert add_trailer(signed, "Upstream-Commit", SHA) == \
        f"subject\n\nbody\n\nSigned-off-by: A <a@x>\nUpstream-Commit: {SHA}\n".encode()
    assert add_trailer(b"", "K", "v") == b"K: v\n"
    assert upstream_sha(add_trailer(signed, "Upstream-Commit", SHA)) == SHA
    assert upstream_sha(f"git-slice:{SHA}\n".encode()) == SHA
    assert upstream_sha(b"plain message") is None


def test_co_authors_are_added_once() -> None:
    message = with_co_authors("feat: x", ["A <a@x>", "A <a@x>", "B <b@x>"])
    assert message.count("Co-authored-by: A <a@x>") == 1
    assert message.endswith("Co-authored-by: B <b@x>\n")


def test_branch_template_and_message_regex() -> None:
    assert target_branch("dev/<branch_name>", "fix-1") == "dev/fix-1"
    assert target_branch("", "fix-1") == "fix-1"
    check_message("feat: ok", r"^(feat|fix): ")
    with pytest.raises(CommitMessageRejected, match="does not match"):
        check_message("nope", r"^(feat|fix): ")


def test_tokens_in_urls_are_split_out_and_redacted() -> None:
    remote = Remote.parse("https://bob:s3cret@git.test:8443/r.git")
    assert remote.url == "https://git.test:8443/r.git"
    assert remote.token == "s3cret"
    assert remote.username == "bob"
    assert "s3cret" not in repr(remote)
    text = "fatal: https://bob:s3cret@git.test/r.git not found; token s3cret"
    expected = "fatal: https://***@git.test/r.git not found; token ***"
    assert redact(text, remote.secrets()) == expected
    assert Remote.parse("/srv/repo.git").environment() == {}


def test_git_slice_tools_variables_become_a_slice() -> None:
    env = {
        "GIT_SLICE_UPSTREAM_REPO_URL": "https://github.com/org/up.git",
        "GIT_SLICE_UPSTREAM_REPO_DEFAULT_BRANCH": "trunk",
        "GIT_SLICE_UPSTREAM_REPO_PASSWORD": "up-token",
        "GIT_SLICE_SLICE_REPO_URL": "https://github.com/org/slice.git",
        "GIT_SLICE_SLICE_REPO_USERNAME": "jack",
        "GIT_SLICE_SLICE_IGNORES": "['.git-slice.json', 'dev/*']",
        "GIT_SLICE_PUSH_BRANCH_NAME_TEMPLATE": "dev/<branch_name>",
        "GIT_SLICE_PUSH_COMMIT_MSG_REGEX": ".*",
    }
    config, credentials = from_git_slice_env("s", env)
    assert config is not None
    assert config.upstream_branch == "trunk"
    assert config.slice_branch == "main"
    assert config.ignores == (".git-slice.json", "dev/*")
    assert config.push_branch_template == "dev/<branch_name>"
    assert config.mode is Mode.HISTORY
    assert credentials.upstream_token == "up-token"
    assert credentials.slice_identity()[0] == "jack"
    with pytest.raises(SliceConfigError, match="GIT_SLICE_SLICE_IGNORES"):
        from_git_slice_env("s", {**env, "GIT_SLICE_SLICE_IGNORES": "[oops"})
