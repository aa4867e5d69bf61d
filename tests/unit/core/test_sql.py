"""Named queries are split out of .sql files by their ``-- name:`` lines."""

from __future__ import annotations

from crossdock.core.sql import load_queries, parse_queries


def test_queries_are_split_by_name_and_comments_dropped() -> None:
    text = "-- a header\n\n-- name: one\n-- why\nSELECT 1\n\n-- name: two\nSELECT %(x)s\n"
    assert parse_queries(text) == {"one": "SELECT 1", "two": "SELECT %(x)s"}


def test_the_core_query_files_load() -> None:
    assert "insert_event" in load_queries("crossdock.core", "bus.sql")
