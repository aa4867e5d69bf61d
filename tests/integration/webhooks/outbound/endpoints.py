"""Real HTTP endpoints on loopback addresses that record what outbound webhooks send them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from crossdock.core.server import bind, make_server


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """One request an endpoint got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """What the endpoint answers."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


Behaviour = Callable[[Received], Answer | Awaitable[Answer]]


@dataclasses.dataclass
class Endpoint:
    """An ASGI app that records each request and answers as ``behaviour`` says."""

    behaviour: Behaviour = lambda _: Answer()
    received: list[Received] = dataclasses.field(default_factory=list)
    url: str = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender went away before the whole request arrived
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Received(path=scope["path"], body=body, at=time.time(),
                           headers={k.decode(): v.decode() for k, v in scope["headers"]})
        self.received.append(request)
        answer = self.behaviour(request)
        if not isinstance(answer, Answer):
            answer = await answer
        if answer.delay:
            await asyncio.sleep(answer.delay)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items()]})
        await send({"type": "http.response.body", "body": answer.body})


@contextlib.asynccontextmanager
async def serving(endpoint: Endpoint, host: str = "127.0.0.1") -> AsyncIterator[Endpoint]:
    """Serve ``endpoint`` on ``host`` (any free port); its ``url`` says where."""
    sock = bind(host, 0, option="test")
    server = make_server(endpoint)  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    endpoint.url = f"http://{host}:{sock.getsockname()[1]}"
    try:
        yield endpoint
    finally:
        server.stop()
        await task
        sock.close()
