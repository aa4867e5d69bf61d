"""Commit messages: the ``Upstream-Commit`` trailer, ``git-slice:<sha>`` subjects, co-authors."""

from __future__ import annotations

import re

UPSTREAM_TRAILER = "Upstream-Commit"
#: git-slice-tools' subject for a squashed pull.
SQUASH_PREFIX = "git-slice:"

_TRAILER_LINE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9-]*: ")
_UPSTREAM = re.compile(rb"^Upstream-Commit: ([0-9a-f]{40,64})\s*$", re.MULTILINE)
_SQUASH = re.compile(rb"^git-slice:([0-9a-f]{40,64})\s*$", re.MULTILINE)


def add_trailer(message: bytes, key: str, value: str) -> bytes:
    """``message`` with ``key: value`` added to its trailer block (made if there is none)."""
    body = message.rstrip(b"\n")
    line = f"{key}: {value}".encode()
    head, sep, last = body.rpartition(b"\n\n")
    if sep and head and all(_TRAILER_LINE.match(row) for row in last.split(b"\n")):
        return body + b"\n" + line + b"\n"
    return (body + b"\n\n" if body else b"") + line + b"\n"


def upstream_sha(message: bytes) -> str | None:
    """The upstream commit a slice commit was made from: its trailer or its squash subject."""
    found = _UPSTREAM.findall(message)
    if found:
        return str(found[-1].decode())
    subject = message.split(b"\n", 1)[0]
    match = _SQUASH.match(subject)
    return match[1].decode() if match else None


def with_co_authors(message: str, co_authors: list[str]) -> str:
    """``message`` with a ``Co-authored-by`` trailer for each of ``co_authors`` (deduplicated)."""
    seen: list[str] = []
    for person in co_authors:
        line = f"Co-authored-by: {person}"
        if line not in seen and line not in message:
            seen.append(line)
    result = message.encode()
    for line in seen:
        key, _, value = line.partition(": ")
        result = add_trailer(result, key, value)
    return result.decode()
