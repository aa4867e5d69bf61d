"""Review links: what ``pull-review -from LINK`` takes, and what it refuses."""

from __future__ import annotations

import pytest

from crossdock.gitslice.config import ForgeConfig, SliceConfig
from crossdock.gitslice.errors import BadLink
from crossdock.gitslice.forges import NoForge
from crossdock.gitslice.reviews import ReviewLink, parse_review_link, review_link_for


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/acme/web/pull/12#pullrequestreview-345",
     ReviewLink(repo="acme/web", pull=12, review_id=345)),
    ("  https://github.com/acme/web/pull/12/#pullrequestreview-345\n",
     ReviewLink(repo="acme/web", pull=12, review_id=345)),
    ("https://ghe.example.test/team/app.js/pull/3#pullrequestreview-9",
     ReviewLink(repo="team/app.js", pull=3, review_id=9)),
    # The in-package forge's review links, as it renders them.
    ("http://127.0.0.1:8765/alice/upstream/pull/1#pullrequestreview-1006",
     ReviewLink(repo="alice/upstream", pull=1, review_id=1006)),
])
def test_a_review_link_gives_its_repository_pull_request_and_review(
    url: str, expected: ReviewLink
) -> None:
    assert parse_review_link(url) == expected
    repo, pull, review = parse_review_link(url)  # it unpacks as a plain triple too
    assert (repo, pull, review) == tuple(expected)


@pytest.mark.parametrize("url", [
    "https://github.com/acme/web/pull/12",
    "https://github.com/acme/web/pull/12#discussion_r345",
    "https://github.com/acme/web/pull/12#pullrequestreview-",
    "https://github.com/acme/web/pull/12#pullrequestreview-34x",
    "https://github.com/acme/web/issues/12#pullrequestreview-345",
    "https://github.com/acme/pull/12#pullrequestreview-345",
    "https://github.com/org/acme/web/pull/12#pullrequestreview-345",
    "https://github.com/acme/web/pull/twelve#pullrequestreview-345",
    "ftp://github.com/acme/web/pull/12#pullrequestreview-345",
    "github.com/acme/web/pull/12#pullrequestreview-345",
    "/acme/web/pull/12#pullrequestreview-345",
    "345",
    "",
])
def test_anything_else_is_refused_saying_what_a_review_link_looks_like(url: str) -> None:
    with pytest.raises(BadLink, match=r"is not a pull request review link: a review link "
                                      r"looks like https://github.com/OWNER/NAME/pull/12#"):
        parse_review_link(url)


WEB = SliceConfig(name="web", upstream_url="https://github.com/acme/web.git",
                  slice_url="https://github.com/gitstart/web.git",
                  forge=ForgeConfig(upstream_repo="acme/web", slice_repo="gitstart/web"))


def test_a_link_must_be_to_the_slice_upstream_repository() -> None:
    link = "https://github.com/ACME/Web/pull/12#pullrequestreview-345"
    assert review_link_for(WEB, link) == ReviewLink(repo="ACME/Web", pull=12,
                                                          review_id=345)
    with pytest.raises(BadLink, match=r"is a link to another repository: slice 'web' pulls "
                                      r"reviews from acme/web"):
        review_link_for(WEB, "https://github.com/gitstart/web/pull/12"
                                   "#pullrequestreview-345")


def test_a_slice_without_forge_repositories_takes_no_link() -> None:
    config = SliceConfig(name="web", upstream_url="https://x.test/a.git",
                         slice_url="https://x.test/b.git")
    with pytest.raises(NoForge, match="has no forge repositories"):
        review_link_for(config, "https://github.com/acme/web/pull/12#pullrequestreview-345")
