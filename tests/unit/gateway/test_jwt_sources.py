"""Where a request's token is read from, and what a malformed header answers."""

from __future__ import annotations

import pytest

from crossdock.gateway.errors import TokenError
from crossdock.gateway.plugins.jwt import TokenSource

BEARER = TokenSource(kind="header", name="authorization", prefix="Bearer")


def test_the_token_follows_the_prefix_and_a_space() -> None:
    assert BEARER.read({"authorization": "Bearer abc.def.ghi "},
                       ignore_other_prefixes=False) == "abc.def.ghi"
    assert BEARER.read({}, ignore_other_prefixes=False) is None


@pytest.mark.parametrize(("value", "message"), [
    ("Basic dXNlcjpwYXNz", "is not correctly formatted. prefix should be 'Bearer'"),
    ("Bearer", "is not correctly formatted. Missing JWT"),
    ("Bearer   ", "is not correctly formatted. Missing JWT"),
    ("bearer abc", "prefix should be 'Bearer'"),
], ids=["other-prefix", "no-token", "blank-token", "prefix-case"])
def test_a_malformed_header_is_a_400_in_the_routers_words(value: str, message: str) -> None:
    with pytest.raises(TokenError, match=message) as caught:
        BEARER.read({"authorization": value}, ignore_other_prefixes=False)
    assert caught.value.status == 400


def test_ignore_other_prefixes_lets_another_scheme_through_without_a_token() -> None:
    assert BEARER.read({"authorization": "Basic dXNlcjpwYXNz"},
                       ignore_other_prefixes=True) is None
    with pytest.raises(TokenError, match="Missing JWT"):
        BEARER.read({"authorization": "Bearer"}, ignore_other_prefixes=True)


def test_an_empty_prefix_takes_the_whole_value_and_a_cookie_its_own() -> None:
    raw = TokenSource(kind="header", name="x-token")
    assert raw.read({"x-token": " abc "}, ignore_other_prefixes=False) == "abc"
    cookie = TokenSource(kind="cookie", name="session")
    assert cookie.read({"cookie": "a=1; session=tok; b=2"}, ignore_other_prefixes=False) == "tok"
    assert cookie.read({"cookie": "sessionx=tok"}, ignore_other_prefixes=False) is None
