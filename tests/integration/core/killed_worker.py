"""A worker process for the SIGKILL test: its one task records that it started, then hangs."""

from __future__ import annotations

import asyncio
import sys

from crossdock.core.database import connect
from crossdock.core.jobs import JobQueue


async def main(url: str) -> None:
    jobs = JobQueue(url, stalled_after=2, heartbeat_every=0.5)

    @jobs.task("test.hangs")
    async def hangs(marker: str) -> None:
        conn = await connect(url, autocommit=True)
        await conn.execute("INSERT INTO crossdock_events (event_type, payload) "
                           "VALUES ('started', '{}')")
        await conn.close()
        await asyncio.sleep(3600)

    await jobs.open()
    await jobs.run_worker(concurrency=1)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
