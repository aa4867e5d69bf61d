"""JSON text that PostgreSQL's ``jsonb`` can hold.

JSON allows U+0000 in a string (written ``\\u0000``); ``jsonb`` refuses it ("unsupported Unicode
escape sequence"), failing the whole statement. A sender may put one anywhere, so whoever
stores JSON from outside either replaces it (:func:`without_nul`, the event bus) or refuses it
with a clear message (:func:`has_nul`, outbound payloads, which are signed and sent as given).
"""

from __future__ import annotations

import re

#: ``\u0000`` as JSON writes U+0000: preceded by an even number of backslashes, so not a
#: backslash of the text followed by ``u0000``.
_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def has_nul(text: bytes) -> bool:
    """Whether the JSON ``text`` has U+0000 in a string."""
    return b"\\u0000" in text and _NUL.search(text) is not None


def without_nul(text: bytes) -> bytes:
    """The JSON ``text`` with each U+0000 of its strings written as U+FFFD, the replacement
    character."""
    if b"\\u0000" not in text:
        return text
    return _NUL.sub(rb"\1\\ufffd", text)
