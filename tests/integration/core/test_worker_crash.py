"""A worker killed with SIGKILL mid-job: the job is found stalled and runs again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crossdock.core.database import Database
from crossdock.core.jobs import JobQueue

pytestmark = pytest.mark.anyio

SCRIPT = Path(__file__).with_name("killed_worker.py")


async def _count(database: Database, sql: str) -> int:
    async with database.connection() as conn:
        cursor = await conn.execute(sql)  # type: ignore[arg-type]
        row = await cursor.fetchone()
        assert row is not None
        return int(row["n"])


async def test_a_job_whose_worker_was_killed_runs_again(
    database: Database, database_url: str
) -> None:
    jobs = JobQueue(database_url, stalled_after=2, heartbeat_every=0.5)
    finished: list[str] = []

    @jobs.task("test.hangs")
    async def hangs(marker: str) -> None:
        finished.append(marker)

    await jobs.open()
    try:
        await jobs.defer("test.hangs", marker="m1")
        worker = subprocess.Popen(
            [sys.executable, str(SCRIPT), database_url], env=os.environ.copy()
        )
        try:
            for _ in range(200):
                if await _count(database, "SELECT count(*) AS n FROM crossdock_events "
                                          "WHERE event_type = 'started'"):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the worker never started the job")
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.wait(timeout=10)
        assert await _count(database, "SELECT count(*) AS n FROM procrastinate_jobs "
                                      "WHERE status = 'doing'") == 1
        # Nothing is retried while the dead worker's heartbeat is still fresh.
        await asyncio.sleep(2.5)
        assert await jobs.retry_stalled_jobs() == 1
        await asyncio.wait_for(jobs.run_worker(wait=False, concurrency=1), timeout=30)
        assert finished == ["m1"]
        succeeded = await _count(
            database,
            "SELECT count(*) AS n FROM procrastinate_jobs "
            "WHERE status = 'succeeded' AND task_name = 'test.hangs'",
        )
        assert succeeded == 1
    finally:
        await jobs.close()
