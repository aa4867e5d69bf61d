"""A service's live state is lent on the runtime for as long as the service runs."""

from __future__ import annotations

import pytest

from crossdock.core.errors import NotLive
from crossdock.core.live import LiveKey, LiveStates

KEY: LiveKey[list[str]] = LiveKey("demo", "no demo runs here")


def test_what_is_lent_is_found_until_the_block_ends() -> None:
    states = LiveStates()
    value = ["running"]
    with states.lend(KEY, value):
        assert states.require(KEY) is value
    assert states.get(KEY) is None


def test_requiring_what_is_not_lent_says_the_keys_own_line() -> None:
    with pytest.raises(NotLive, match=r"^no demo runs here$"):
        LiveStates().require(KEY)
    with pytest.raises(NotLive, match=r"^the other service does not run in this process$"):
        LiveStates().require(LiveKey[int]("other"))


def test_a_second_lender_of_one_key_is_refused() -> None:
    states = LiveStates()
    with states.lend(KEY, ["a"]), pytest.raises(ValueError, match="already lent"), \
            states.lend(KEY, ["b"]):
        pass
    assert states.get(KEY) is None
