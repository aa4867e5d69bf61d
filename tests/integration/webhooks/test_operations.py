"""What the CLI and the admin API both call checks its input where it comes in, with the same
rules as the database and the handlers the installed services register."""

from __future__ import annotations

import math
import re

import pytest

from crossdock.core.backoff import Backoff
from crossdock.core.database import Database
from crossdock.core.errors import ConfigError
from crossdock.webhooks import handlers, operations
from crossdock.webhooks.errors import InvalidInput, InvalidRoute, InvalidSource
from crossdock.webhooks.handlers import Work
from tests.integration.webhooks.conftest import SECRET

pytestmark = pytest.mark.anyio

NAMES = ["gh", "gh-main", "a.b_c-9", "A", "9", "a/b", "-a", ".a", "_a", "", "a b", "a\n",
         "\na", "é", "aé", "\uff21", "a%2Fb", "a?b", "a:b", "gh..", "a\u200b"]


async def test_a_source_name_is_checked_with_the_rule_the_database_uses(
    database: Database,
) -> None:
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT pg_get_constraintdef(oid) AS rule FROM pg_constraint "
            "WHERE conname = 'webhooks_sources_name_check'")
        row = await cursor.fetchone()
        assert row is not None
        pattern = re.search(r"'(.*)'::text", row["rule"])
        assert pattern is not None
        for name in NAMES:
            cursor = await conn.execute("SELECT %s ~ %s AS ok", (name, pattern.group(1)))
            verdict = await cursor.fetchone()
            assert verdict is not None
            try:
                operations.check_source_name(name)
            except InvalidSource:
                accepted = False
            else:
                accepted = True
            assert accepted == verdict["ok"], name


def test_a_source_name_the_database_would_refuse_is_refused_before_it_is_stored() -> None:
    with pytest.raises(InvalidSource, match="invalid source name 'team/gh'") as caught:
        operations.build_source("team/gh", "github", [SECRET])
    assert isinstance(caught.value, ConfigError)  # the command exits 2


@pytest.mark.parametrize(("retry", "message"), [
    (Backoff(max_tries=0), "max_tries must be a whole number from 1 to 1000"),
    (Backoff(max_tries=-3), "not -3"),
    (Backoff(max_tries=10**12), "from 1 to 1000"),
    (Backoff(base_seconds=0), "base_seconds must be a positive number"),
    (Backoff(base_seconds=math.nan), "not nan"),
    (Backoff(max_seconds=math.inf), "max_seconds must be a positive number"),
    (Backoff(base_seconds=60, max_seconds=10), "must not be less than base_seconds"),
    (Backoff(factor=0.5), "factor must be from 1 to 10"),
    (Backoff(jitter=1.5), "jitter must be from 0 up to 1"),
])
def test_a_retry_schedule_that_makes_no_sense_is_refused(retry: Backoff,
                                                         message: str) -> None:
    with pytest.raises(InvalidSource, match=message):
        operations.build_source("gh", "github", [SECRET], retry=retry)


async def test_an_update_that_would_leave_a_schedule_without_sense_is_refused(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    for retry in ({"max_tries": 0}, {"max_seconds": 1.0}, {"base_seconds": "5"}):
        with pytest.raises(InvalidSource):
            await operations.update_source(database, "gh", retry=retry)
    with pytest.raises(InvalidSource, match="max_body_bytes must be from 1"):
        await operations.update_source(database, "gh", max_body_bytes=2**40)
    changed = await operations.update_source(database, "gh", retry={"max_tries": 2})
    assert changed.retry.max_tries == 2


async def test_a_route_naming_a_handler_nobody_registers_is_refused_with_the_known_ones(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    with pytest.raises(InvalidRoute) as caught:
        await operations.add_route(database, source="gh", handler="slack")
    assert str(caught.value) == ("no handler named 'slack': the installed services register "
                                 "bus, log")

    async def slack(work: Work, conn: object) -> None:
        """Registered as a service's ``register`` hook would."""

    handlers.register_handler("slack", slack)
    route = await operations.add_route(database, source="gh", handler="slack")
    assert route.handler == "slack"


async def test_a_route_config_must_be_an_object_and_its_position_an_integer_the_table_holds(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    with pytest.raises(InvalidRoute, match="JSON object"):
        await operations.add_route(database, source="gh", handler="log",
                                   config=[1])  # type: ignore[arg-type]
    with pytest.raises(InvalidRoute, match="position must be a whole number"):
        await operations.add_route(database, source="gh", handler="log", position=2**31)


async def test_deliveries_come_oldest_or_newest_first_within_the_limit(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    async with database.transaction() as conn:
        for n in range(3):
            await conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
                "status, body) VALUES ('gh', 'github', %s, 'received', '{}')", (f"d-{n}",))
    oldest = await operations.list_deliveries(database, limit=2)
    newest = await operations.list_deliveries(database, limit=2, order="newest")
    assert [d["provider_delivery_id"] for d in oldest] == ["d-0", "d-1"]
    assert [d["provider_delivery_id"] for d in newest] == ["d-2", "d-1"]
    with pytest.raises(InvalidInput, match="limit must be from 1"):
        await operations.list_deliveries(database, limit=0)


async def test_an_unknown_provider_or_filter_is_an_input_error_the_command_exits_2_on(
    database: Database,
) -> None:
    with pytest.raises(InvalidSource, match="unknown provider 'gihtub'") as caught:
        operations.build_source("gh", "gihtub", [SECRET])
    assert isinstance(caught.value, ConfigError)
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    with pytest.raises(InvalidRoute, match="invalid filter 'action'") as refused:
        await operations.add_route(database, source="gh", handler="log", filters=["action"])
    assert isinstance(refused.value, ConfigError)
