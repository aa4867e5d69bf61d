"""The declared schema's prelude: procrastinate's schema, as in migration 0001."""

from __future__ import annotations

from procrastinate.schema import SchemaManager


def statements() -> str:
    """procrastinate's schema SQL."""
    return SchemaManager.get_schema()
