"""Shared fixtures: a clean environment, and real PostgreSQL databases.

The server is ``DATABASE_URL`` when set (CI points it at 127.0.0.1:5432), else an embedded
PostgreSQL started once per session. A template database with every migration applied is built
once per session (and per xdist worker); each test that asks for ``database_url`` gets a fresh
copy made with ``CREATE DATABASE ... TEMPLATE``, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

from crossdock.core.database import Database, connect
from crossdock.core.embedded import EmbeddedPostgres
from crossdock.core.migrations import Migrator
from crossdock.core.services import components

#: Environment variables of ours that must not leak from the developer's shell into tests.
_PREFIXES = ("CROSSDOCK_", "GIT_SLICE_")
_SECRET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    # Outbound signing secrets are encrypted with the session's key, here and in the
    # processes tests start, not with a key file made in the developer's data folder.
    monkeypatch.setenv("CROSSDOCK_WEBHOOKS_SECRET_KEY", _SECRET_KEY)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _with_dbname(url: str, dbname: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**params)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of an admin database on a real PostgreSQL server."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    data_dir = embedded_data_dir()
    server = EmbeddedPostgres(data_dir, delete_on_stop=True)
    yield server.start()
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def embedded_data_dir() -> Path:
    """A folder for an embedded server's data, outside pytest's temporary root.

    As root, the server runs as another user, which must traverse every parent folder; pytest
    keeps its root at mode 0700 (and resets it at each session start, even a concurrent one).
    """
    return Path(tempfile.mkdtemp(prefix="crossdock-test-pg-"))


def create_database(admin_url: str, *, template: str | None = None) -> str:
    """Create a uniquely named database (from ``template`` if given); return its URL."""
    name = f"crossdock_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    return _with_dbname(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database behind ``url``, closing whatever still uses it."""
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def template_database(postgres_server: str) -> Iterator[str]:
    """The name of a database with every migration applied, built once per session."""
    import anyio

    url = create_database(postgres_server)

    async def migrate() -> None:
        conn = await connect(url)
        try:
            await Migrator(components()).upgrade(conn)
        finally:
            await conn.close()

    anyio.run(migrate)
    name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
    yield name
    drop_database(postgres_server, url)


@pytest.fixture
def empty_database_url(postgres_server: str) -> Iterator[str]:
    """A fresh database with nothing in it."""
    url = create_database(postgres_server)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture
def database_url(postgres_server: str, template_database: str) -> Iterator[str]:
    """A fresh database with every migration applied."""
    url = create_database(postgres_server, template=template_database)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An open pool on a fresh migrated database."""
    db = Database(database_url, min_size=1, max_size=4)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
