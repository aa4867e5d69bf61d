"""The job queue's own schema, as the pinned procrastinate release ships it.

A procrastinate upgrade that changes its schema comes with a new migration here that applies
procrastinate's own migration files between the two releases.
"""

from __future__ import annotations

from procrastinate.schema import SchemaManager


def statements() -> str:
    """procrastinate's schema SQL."""
    return SchemaManager.get_schema()
