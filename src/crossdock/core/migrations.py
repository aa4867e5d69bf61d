"""Versioned schema migrations, one sequence per component (the core, then each service).

A component's migrations live in a package as ``NNNN_name.sql`` files (or ``NNNN_name.py``
modules with a ``statements()`` function, for SQL that a dependency ships). Each migration runs
in its own transaction under an advisory lock, so two processes upgrading at once do not race.
The package also holds ``schema.sql``, the declared schema: a test checks that applying every
migration gives exactly that schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import re
from collections.abc import Sequence
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING, LiteralString

from crossdock.core.errors import MigrationError, PendingMigrations
from crossdock.core.sql import load_queries

if TYPE_CHECKING:
    from crossdock.core.database import Connection

_FILE = re.compile(r"^(\d{4})_(\w+)\.(sql|py)$")
_queries = load_queries("crossdock.core", "migrations.sql")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One step of one component's schema."""

    component: str
    version: int
    name: str
    sql: str
    checksum: str


class MigrationState(StrEnum):
    """Where a migration stands in a database."""

    APPLIED = "applied"
    PENDING = "pending"
    CHANGED = "changed"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MigrationStatus:
    """A migration and its state in one database."""

    migration: Migration
    state: MigrationState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """A named set of migrations kept in one package."""

    name: str
    package: str

    def migrations(self) -> list[Migration]:
        """This component's migrations, in version order."""
        found: list[Migration] = []
        for entry in resources.files(self.package).iterdir():
            match = _FILE.match(entry.name)
            if not match:
                continue
            version, name, kind = int(match[1]), match[2], match[3]
            source = entry.read_text(encoding="utf-8")
            sql = source if kind == "sql" else self._python_statements(entry.name[:-3])
            found.append(Migration(
                component=self.name,
                version=version,
                name=name,
                sql=sql,
                checksum=hashlib.sha256(source.encode()).hexdigest(),
            ))
        found.sort(key=lambda migration: migration.version)
        versions = [migration.version for migration in found]
        if versions != list(range(1, len(found) + 1)):
            raise MigrationError(f"{self.package}: versions must run 1, 2, 3...: got {versions}")
        return found

    def declared_schema(self) -> str:
        """The ``schema.sql`` this component declares (what all migrations must add up to)."""
        declared = resources.files(self.package).joinpath("schema.sql").read_text("utf-8")
        prelude = resources.files(self.package).joinpath("schema.py")
        if prelude.is_file():
            module = importlib.import_module(f"{self.package}.schema")
            declared = module.statements() + "\n" + declared
        return declared

    def _python_statements(self, module_name: str) -> str:
        module = importlib.import_module(f"{self.package}.{module_name}")
        statements: str = module.statements()
        return statements


class Migrator:
    """Applies and reports the migrations of a list of components."""

    def __init__(self, components: Sequence[Component]) -> None:
        self.components = list(components)

    def all(self) -> list[Migration]:
        """Every migration of every component, component by component."""
        return [m for component in self.components for m in component.migrations()]

    async def status(self, conn: Connection) -> list[MigrationStatus]:
        """Each migration with its state in the database behind ``conn``."""
        await self._bootstrap(conn)
        cursor = await conn.execute(_queries["select_applied"])
        applied = {(row["component"], row["version"]): row["checksum"] for row in
                   await cursor.fetchall()}
        statuses = []
        for migration in self.all():
            checksum = applied.get((migration.component, migration.version))
            if checksum is None:
                state = MigrationState.PENDING
            elif checksum != migration.checksum:
                state = MigrationState.CHANGED
            else:
                state = MigrationState.APPLIED
            statuses.append(MigrationStatus(migration=migration, state=state))
        await conn.commit()
        return statuses

    async def pending(self, conn: Connection) -> list[Migration]:
        """The migrations not applied yet; a changed one is an error."""
        statuses = await self.status(conn)
        changed = [s.migration for s in statuses if s.state is MigrationState.CHANGED]
        if changed:
            names = ", ".join(f"{m.component}/{m.version:04d}_{m.name}" for m in changed)
            raise MigrationError(f"migrations changed after they were applied: {names}")
        return [s.migration for s in statuses if s.state is MigrationState.PENDING]

    async def upgrade(
        self, conn: Connection, *, until: dict[str, int] | None = None
    ) -> list[Migration]:
        """Apply pending migrations (each component up to ``until[component]`` if given)."""
        import psycopg  # the CLI imports this module at start; psycopg only when needed

        await self._bootstrap(conn)
        await conn.execute(_queries["lock"])
        try:
            applied = []
            for migration in await self.pending(conn):
                if until is not None and migration.version > until.get(migration.component, 0):
                    continue
                try:
                    async with conn.transaction():
                        sql: LiteralString = migration.sql
                        await conn.execute(sql)
                        await conn.execute(_queries["insert_applied"], {
                            "component": migration.component,
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        })
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"migration {migration.component}/{migration.version:04d}_"
                        f"{migration.name} failed: {exc}"
                    ) from exc
                applied.append(migration)
            return applied
        finally:
            await conn.execute(_queries["unlock"])
            await conn.commit()

    async def bring_current(self, conn: Connection, *, apply: bool, target: str) -> None:
        """Apply the pending migrations if ``apply``; otherwise refuse to go on while any is
        pending, naming them and the command that applies them (``target`` is the URL)."""
        if apply:
            await self.upgrade(conn)
            return
        pending = await self.pending(conn)
        if pending:
            from crossdock.core.database import describe_target

            names = ", ".join(f"{m.component}/{m.version:04d}_{m.name}" for m in pending)
            raise PendingMigrations(
                f"the database at {describe_target(target)} has {len(pending)} pending "
                f"migration(s) ({names}): run `crossdock db upgrade` first, or set "
                "CROSSDOCK_AUTO_MIGRATE=1 to apply them at the start of every command"
            )

    async def _bootstrap(self, conn: Connection) -> None:
        await conn.execute(_queries["create_table"])
        await conn.commit()
