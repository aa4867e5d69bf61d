"""JSON text for jsonb: U+0000 found and replaced in strings, never a backslash's text."""

from __future__ import annotations

import orjson
import pytest

from crossdock.core.jsontext import has_nul, without_nul


@pytest.mark.parametrize(("value", "nul", "replaced"), [
    ("plain", False, "plain"),
    ("a\x00b", True, "a\ufffdb"),
    ("\\u0000", False, "\\u0000"),  # a backslash, then the letters
    ("\\\x00", True, "\\\ufffd"),  # a backslash, then U+0000
    ("\\\\u0000", False, "\\\\u0000"),
    ("\x00\x00", True, "\ufffd\ufffd"),
])
def test_nul_in_a_string_and_only_there(value: str, nul: bool, replaced: str) -> None:
    text = orjson.dumps({"k" + value: [value]})
    assert has_nul(text) is nul
    assert orjson.loads(without_nul(text)) == {"k" + replaced: [replaced]}
