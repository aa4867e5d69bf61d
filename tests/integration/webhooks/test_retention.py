"""Retention: finished deliveries past their age are pruned, waiting ones never."""

from __future__ import annotations

import pytest

from crossdock.core.database import Database
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.webhooks import operations, service
from tests.integration.webhooks.conftest import SECRET

pytestmark = pytest.mark.anyio


async def _deliveries(database: Database) -> list[tuple[str, str]]:
    async with database.connection() as conn:
        cursor = await conn.execute(
            "SELECT provider_delivery_id, status FROM webhooks_deliveries ORDER BY id")
        return [(row["provider_delivery_id"], row["status"]) for row in await cursor.fetchall()]


async def test_finished_deliveries_older_than_the_retention_are_pruned_in_batches(
    database: Database,
) -> None:
    await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
    async with database.transaction() as conn:
        for status in ("processed", "dead", "rejected", "received", "failed"):
            for age, label in (("40 days", "old"), ("1 day", "new")):
                await conn.execute(
                    "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
                    "status, body, received_at) VALUES ('gh', 'github', %s, %s, "
                    "CASE WHEN %s = 'rejected' THEN NULL ELSE '{}'::bytea END, "
                    "now() - %s::interval)", (f"{label}-{status}", status, status, age))
        await conn.execute(
            "INSERT INTO webhooks_attempts (delivery_id, generation, try, route, handler, "
            "status, duration_ms) SELECT id, 0, 1, 'default:bus', 'bus', 'succeeded', 1 "
            "FROM webhooks_deliveries WHERE provider_delivery_id = 'old-processed'")

    pruned = await operations.prune(database, older_than_days=30, batch=2)

    assert pruned == 3
    assert await _deliveries(database) == [
        ("new-processed", "processed"), ("new-dead", "dead"), ("new-rejected", "rejected"),
        ("old-received", "received"), ("new-received", "received"),
        ("old-failed", "failed"), ("new-failed", "failed")]
    async with database.connection() as conn:
        cursor = await conn.execute("SELECT count(*) AS n FROM webhooks_attempts")
        assert (await cursor.fetchone())["n"] == 0
    assert await operations.prune(database, older_than_days=30) == 0


async def test_every_runtime_schedules_the_hourly_prune(database_url: str) -> None:
    runtime = Runtime.create(CoreSettings(database_url=database_url), database_url)
    periodic = {task.periodic_id: task for task in
                runtime.jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic[service.PRUNE_TASK].cron == "17 * * * *"

    await runtime.open()
    try:
        database = runtime.database
        await operations.add_source(database, operations.build_source("gh", "github", [SECRET]))
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, "
                "status, body, received_at) VALUES ('gh', 'github', 'x', 'processed', '{}', "
                "now() - interval '31 days'), ('gh', 'github', 'y', 'processed', '{}', now())")
        await runtime.jobs.defer(service.PRUNE_TASK, timestamp=0)
        await runtime.jobs.run_worker(queues=["periodic"], wait=False)
        assert await _deliveries(database) == [("y", "processed")]
    finally:
        await runtime.close()
