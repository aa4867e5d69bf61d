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
from crossdock.webhooks.processing import Processor

LEASE_SECONDS = 2.0


async def main(url: str, markers: Path) -> None:
    runtime = Runtime.create(CoreSettings(database_url=url), url)

    async def effect(work: Work, conn: Connection) -> None:
        await conn.execute("INSERT INTO test_effects VALUES (%s)", (work.delivery.id,))
        (markers / str(work.delivery.id)).touch()
        await asyncio.sleep(3600)

    register_handler("effect", effect)
    await runtime.open()
    await Processor(runtime.database, runtime.bus, lease_seconds=LEASE_SECONDS).run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
