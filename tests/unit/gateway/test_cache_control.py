"""Merging subgraph answers' ``Cache-Control`` into the most restrictive policy."""

from __future__ import annotations

from functools import reduce

import pytest

from crossdock.gateway.plugins.cache_control import CachePolicy


def merged(*answers: tuple[tuple[str, str], ...]) -> str:
    policies = [CachePolicy.of(headers) for headers in answers]
    return reduce(CachePolicy.merge, policies).header()


@pytest.mark.parametrize(("answers", "expected"), [
    (((("cache-control", "public, max-age=60"),), (("cache-control", "max-age=30"),)),
     "max-age=30, public"),
    (((("cache-control", "public, max-age=60"),), (("cache-control", "private, max-age=90"),)),
     "max-age=60, private"),
    (((("cache-control", "max-age=60"),), (("cache-control", "no-store"),)), "no-store"),
    (((("cache-control", "max-age=60"),), ()), "no-store"),
    (((("cache-control", "max-age=60, s-maxage=20"),), (("cache-control", "max-age=45"),)),
     "max-age=20"),
    (((("cache-control", "max-age=60"), ("age", "50")), (("cache-control", "max-age=45"),)),
     "max-age=10"),
    (((("cache-control", "no-cache, max-age=60"),), (("cache-control", "must-revalidate"),)),
     "no-cache, max-age=60, must-revalidate"),
    (((("cache-control", "max-age=soon"),), (("cache-control", "max-age=45"),)), "no-store"),
    (((("cache-control", 'max-age=60, community="UCI"'),),), "max-age=60"),
    (((("cache-control", "public"), ("cache-control", "max-age=5")),), "max-age=5, public"),
], ids=["min-age", "private-wins", "no-store-wins", "absent-is-no-store", "s-maxage-first",
        "age-subtracted", "flags-kept", "invalid-age", "unknown-ignored", "repeated-header"])
def test_the_merged_policy_is_the_most_restrictive(
        answers: tuple[tuple[tuple[str, str], ...], ...], expected: str) -> None:
    assert merged(*answers) == expected
