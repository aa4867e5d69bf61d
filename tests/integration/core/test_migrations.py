"""Migrations: they add up to the declared schema, keep data, and report their state."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from crossdock.core.database import connect
from crossdock.core.errors import MigrationError
from crossdock.core.migrations import MigrationState, Migrator
from crossdock.core.services import CORE, components

pytestmark = pytest.mark.anyio

_CATALOG = """
SELECT 'column' AS kind, table_name || '.' || column_name AS name,
       data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS detail
FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(pg_get_functiondef(p.oid))
FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
UNION ALL
SELECT 'type', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
FROM pg_type t LEFT JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'c') GROUP BY t.typname
UNION ALL
SELECT 'trigger', tgrelid::regclass::text || '.' || tgname, pg_get_triggerdef(oid)
FROM pg_trigger WHERE NOT tgisinternal
ORDER BY 1, 2
"""


def _catalog(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(_CATALOG).fetchall()
    # The ledger is the migrator's own table, not part of any declared schema.
    return [row for row in rows if "crossdock_migrations" not in row[1]]


async def test_all_migrations_give_the_declared_schema(
    database_url: str, empty_database_url: str
) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for component in components():
            conn.execute(component.declared_schema())  # type: ignore[arg-type]
    assert _catalog(database_url) == _catalog(empty_database_url)


async def test_upgrade_keeps_rows_written_before_it(empty_database_url: str) -> None:
    migrator = Migrator(components())
    conn = await connect(empty_database_url)
    try:
        await migrator.upgrade(conn, until={"core": 1})
        await conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
            "VALUES ('default', 'kept', '{}')"
        )
        await conn.commit()
        applied = await migrator.upgrade(conn)
        later = [m.version for m in CORE.migrations() if m.version > 1]
        assert [m.version for m in applied if m.component == "core"] == later
        cursor = await conn.execute("SELECT task_name FROM procrastinate_jobs")
        assert await cursor.fetchall() == [{"task_name": "kept"}]
        assert await migrator.pending(conn) == []
    finally:
        await conn.close()


async def test_status_reports_pending_then_applied(empty_database_url: str) -> None:
    migrator = Migrator(components())
    conn = await connect(empty_database_url)
    try:
        before = await migrator.status(conn)
        assert {s.state for s in before} == {MigrationState.PENDING}
        await migrator.upgrade(conn)
        after = await migrator.status(conn)
        assert {s.state for s in after} == {MigrationState.APPLIED}
    finally:
        await conn.close()


async def test_a_migration_changed_after_it_was_applied_is_refused(database_url: str) -> None:
    conn = await connect(database_url)
    try:
        await conn.execute("UPDATE crossdock_migrations SET checksum = 'x' WHERE version = 1")
        await conn.commit()
        with pytest.raises(MigrationError, match="changed after they were applied"):
            await Migrator(components()).pending(conn)
    finally:
        await conn.close()
