"""The store is the service's one adapter to the driver: database errors leave it as ours."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from graphql import GraphQLError

from crossdock.core.admin_graph.serving import formatted
from crossdock.core.adminauth import AdminAuth
from crossdock.core.database import Database
from crossdock.core.errors import DatabaseError
from crossdock.core.tokens import Role, TokenStore
from crossdock.webhooks import store
from crossdock.webhooks.api import build_api
from crossdock.webhooks.errors import (
    InvalidSource,
    StoreError,
    StoreUnavailable,
)
from crossdock.webhooks.models import Source
from crossdock.webhooks.outbound.store import OutboundStore

pytestmark = pytest.mark.anyio


@pytest.fixture
async def nowhere() -> AsyncIterator[Database]:
    """A pool on a port where no server listens (opened without waiting for a connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = Database(f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=1")
    await database.open(wait=False)
    yield database
    await database.close()


async def test_a_source_name_the_table_refuses_is_an_invalid_source(database: Database) -> None:
    async with store.transaction(database) as conn:
        with pytest.raises(InvalidSource, match="a source name starts with a letter or digit"):
            await store.add_source(conn, Source(name="a/b", provider="github", secrets=("s",)))


async def test_a_source_without_secrets_is_an_invalid_source(database: Database) -> None:
    async with store.transaction(database) as conn:
        with pytest.raises(InvalidSource, match="at least one secret"):
            await store.add_source(conn, Source(name="gh", provider="github", secrets=()))


async def test_any_other_refused_statement_is_a_store_error(database: Database) -> None:
    async with store.transaction(database) as conn:
        with pytest.raises(StoreError, match="the database refused the statement"):
            await store.insert_rejection(conn, source="nope", provider="github",
                                         provider_delivery_id=None, reason="bad_signature",
                                         headers={}, body_size=0)


async def test_no_connection_in_time_is_store_unavailable(nowhere: Database) -> None:
    with pytest.raises(StoreUnavailable, match="the database is unavailable"):
        async with store.connection(nowhere, within=0.5) as conn:
            await store.list_sources(conn)


async def test_a_refusing_database_is_the_database_down_for_the_outbound_store_too(
    nowhere: Database,
) -> None:
    """The outbound store's unavailability is the core's DatabaseError: the admin graph
    answers SERVICE_UNAVAILABLE for it (not BAD_USER_INPUT), the CLI exits 1 with one line."""
    with pytest.raises(StoreUnavailable, match="the database is unavailable") as caught:
        await OutboundStore(nowhere).list_applications()
    assert isinstance(caught.value, DatabaseError)
    assert caught.value.exit_code == 1
    answer = formatted(GraphQLError(str(caught.value), original_error=caught.value))
    assert answer["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert answer["message"] == "the database is unavailable; retry later"


async def test_a_failed_transaction_is_store_unavailable_when_the_connection_is_lost(
    database: Database,
) -> None:
    with pytest.raises(StoreUnavailable):
        async with store.transaction(database) as conn:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")


async def test_the_admin_api_answers_503_when_the_database_cannot_answer_in_time(
    database_url: str,
) -> None:
    """A table held by another session (a migration, a long lock) is not the client's fault."""
    impatient = Database(
        psycopg.conninfo.make_conninfo(database_url, options="-c lock_timeout=200"), min_size=1)
    await impatient.open()
    try:
        _, token = await TokenStore(impatient).create(role=Role.ADMIN, name="tests")
        transport = httpx.ASGITransport(
            app=build_api(impatient, AdminAuth(TokenStore(impatient))))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api",
            headers={"authorization": f"Bearer {token}"},
        ) as api, await psycopg.AsyncConnection.connect(database_url) as blocker:
            await blocker.execute("LOCK TABLE webhooks_sources IN ACCESS EXCLUSIVE MODE")
            response = await api.get("/api/sources")
        assert response.status_code == 503
        assert "the database is unavailable" in response.json()["error"]
    finally:
        await impatient.close()
