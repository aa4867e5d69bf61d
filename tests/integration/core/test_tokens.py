"""Admin tokens are kept as hashes only, and revoking one that does not exist says so."""

from __future__ import annotations

import hashlib

import pytest

from crossdock.core.database import Database
from crossdock.core.errors import TokenError
from crossdock.core.tokens import Role, TokenStore

pytestmark = pytest.mark.anyio


async def test_the_database_keeps_a_sha256_of_the_token_never_the_token(
    database: Database,
) -> None:
    token, value = await TokenStore(database).create(role=Role.READ, name="dash")
    assert value.startswith("cdx_")
    assert len(value) > 40
    async with database.connection() as conn:
        cursor = await conn.execute("SELECT * FROM crossdock_admin_tokens")
        rows = await cursor.fetchall()
    assert len(rows) == 1
    assert bytes(rows[0]["token_sha256"]) == hashlib.sha256(value.encode()).digest()
    assert all(value not in str(v) for v in rows[0].values())
    assert (token.name, token.role) == ("dash", Role.READ)


async def test_revoking_an_unknown_token_is_an_error(database: Database) -> None:
    with pytest.raises(TokenError, match="no admin token with id 42"):
        await TokenStore(database).revoke(42)


async def test_a_replacing_token_revokes_the_tokens_of_its_name_only(database: Database) -> None:
    tokens = TokenStore(database)
    _, first = await tokens.create(role=Role.ADMIN, name="demo", replace=True)
    _, other = await tokens.create(role=Role.READ, name="ci")
    _, second = await tokens.create(role=Role.ADMIN, name="demo", replace=True)
    assert await tokens.authenticate(first) is None
    assert (await tokens.authenticate(second)) is not None
    assert (await tokens.authenticate(other)) is not None
    assert sorted(t.name for t in await tokens.list()) == ["ci", "demo"]


async def test_a_tokens_last_use_is_written_at_most_once_a_minute(database: Database) -> None:
    tokens = TokenStore(database)
    _, value = await tokens.create(role=Role.READ, name="dash")
    first = await tokens.authenticate(value)
    assert first is not None
    assert first.last_used_at is not None
    again = await tokens.authenticate(value)
    assert again is not None
    assert again.last_used_at == first.last_used_at
    async with database.transaction() as conn:
        await conn.execute("UPDATE crossdock_admin_tokens"
                           " SET last_used_at = last_used_at - interval '2 minutes'")
    later = await tokens.authenticate(value)
    assert later is not None
    assert later.last_used_at is not None
    assert later.last_used_at > first.last_used_at
