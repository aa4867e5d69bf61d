"""The ceiling peer: the same server stack (uvicorn, the core's ops wrapper, a bare ASGI app)
answering 200 after reading the body, with no verification and no storage.

    python bench/webhooks/bare.py PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from crossdock.core.asgi import OpsApp, read_body, send_bytes
from crossdock.core.entry import run
from crossdock.core.server import bind, make_server


async def bare(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await read_body(receive, limit=25 * 1024 * 1024)
    await send_bytes(send, 200, b'{"status":"ok"}')


async def main(port: int) -> None:
    sock = bind("127.0.0.1", port, option="PORT")
    server = make_server(OpsApp(bare))
    await server.serve(sockets=[sock])


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        run(main(int(sys.argv[1])))
