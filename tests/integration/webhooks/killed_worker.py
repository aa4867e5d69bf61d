"""A worker process for the SIGKILL test: its handler writes its effect, marks that it is
inside the handler, then hangs until the test kills the process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from crossdock.core.database import Connection
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.webhooks.handlers import Work, register_handler


async def main(url: str, markers: Path) -> None:
    runtime = Runtime.create(CoreSettings(database_url=url), url)
    runtime.jobs.stalled_after = 2
    runtime.jobs.heartbeat_every = 0.5

    async def effect(work: Work, conn: Connection) -> None:
        await conn.execute("INSERT INTO test_effects VALUES (%s)", (work.delivery.id,))
        (markers / str(work.delivery.id)).touch()
        await asyncio.sleep(3600)

    register_handler("effect", effect)
    await runtime.open()
    await runtime.jobs.run_worker(concurrency=2, queues=["webhooks"])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
