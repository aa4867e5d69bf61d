"""Named SQL queries kept in ``.sql`` files beside the code that runs them.

A file holds blocks that start with a ``-- name: query_name`` line; each block is one query
with ``%(param)s`` placeholders. No SQL is built by concatenation.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import LiteralString

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, LiteralString]:
    """Split a ``.sql`` text into its named queries."""
    parts = _NAME.split(text)
    queries: dict[str, LiteralString] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = [line for line in body.strip().splitlines() if not line.lstrip().startswith("--")]
        query: LiteralString = "\n".join(lines).strip()
        queries[name] = query
    return queries


def load_queries(package: str, filename: str = "queries.sql") -> dict[str, LiteralString]:
    """The named queries of ``filename`` in ``package``."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return parse_queries(text)
