"""The in-package forge served over HTTP: REST API, git over HTTP, admin endpoints, a server.

One origin serves everything, in GitHub Enterprise Server's layout:

- ``/api/v3/...``: the REST API (``forge.fake.api``), with GitHub's rate limit headers;
- ``/{owner}/{repo}.git/...``: git's smart HTTP protocol (``forge.fake.githttp``);
- ``/_forge/...``: the forge's own admin endpoints, behind the admin token: add a user,
  plan faults (a 5xx, a rate limit) for the next API requests, list webhook deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from crossdock.core.server import bind, make_server
from crossdock.gitslice.forge.fake import api, rest
from crossdock.gitslice.forge.fake.auth import App, credential
from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.forge import Exchange, FakeForge, Fault
from crossdock.gitslice.forge.fake.githttp import git_http
from crossdock.gitslice.forge.fake.state import now

SECONDARY = ("You have exceeded a secondary rate limit. Please wait a few minutes before you "
             "try again.")


def build_app(forge: FakeForge) -> Starlette:
    """The forge's one ASGI app: REST API, admin endpoints and git over HTTP."""
    app = Starlette(routes=[
        Mount("/api/v3", app=_Limits(forge, api.build_api(forge))),
        Route("/_forge/users", add_user, methods=["POST"]),
        Route("/_forge/faults", add_fault, methods=["POST"]),
        Route("/_forge/deliveries", list_deliveries, methods=["GET"]),
        Route("/{owner}/{repo}/{rest:path}", git_http, methods=["GET", "POST"]),
    ], exception_handlers={ForgeFault: rest.on_fault})
    app.state.forge = forge
    return app


class _Limits:
    """Wraps the API: records requests, plays planned faults, adds rate limit headers."""

    def __init__(self, forge: FakeForge, app: Starlette) -> None:
        self.forge = forge
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        exchange = Exchange(method=request.method, path=scope["path"],
                            query=request.url.query, body=await request.body())
        self.forge.exchanges.append(exchange)

        async def replay() -> Message:
            return {"type": "http.request", "body": exchange.body, "more_body": False}

        extra: list[tuple[bytes, bytes]] = []

        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            elif message["type"] == "http.response.body":
                exchange.answer += message.get("body", b"")
            await send(message)

        fault = self.forge.take_fault(scope["path"])
        if fault is not None:
            await _fault_response(fault)(scope, replay, recorded)
            return
        remaining, reset = self.forge.spend()
        extra.extend((key.lower().encode(), value.encode())
                     for key, value in rest.rate_headers(remaining, reset).items())
        await self.app(scope, replay, recorded)


def _fault_response(fault: Fault) -> Response:
    if fault.rate_limited:
        reset = now() + datetime.timedelta(seconds=fault.reset_in)
        response = rest.fault_response(ForgeFault(fault.status, "API rate limit exceeded"))
        response.headers.update(rest.rate_headers(0, reset))
        return response
    if fault.retry_after is not None:
        response = rest.fault_response(ForgeFault(fault.status, SECONDARY))
        response.headers["Retry-After"] = str(fault.retry_after)
        return response
    return rest.fault_response(ForgeFault(fault.status, "Server Error"))


def _admin(request: Request) -> FakeForge:
    forge: FakeForge = request.app.state.forge
    token = credential(request.headers.get("authorization", ""))
    if token is None or not secrets.compare_digest(token, forge.admin_token):
        raise ForgeFault(401, "the forge's admin token is required")
    return forge


async def add_user(request: Request) -> Response:
    forge = _admin(request)
    data = await rest.body_of(request)
    login = rest.field(data, "login", str, required=True)
    token = forge.state.add_user(login, rest.field(data, "token", str))
    return rest.json({"login": login, "token": token}, 201)


async def add_fault(request: Request) -> Response:
    forge = _admin(request)
    data = await rest.body_of(request)
    forge.faults.append(Fault(
        status=rest.field(data, "status", int, required=True),
        times=rest.field(data, "times", int, default=1),
        path=rest.field(data, "path", str, default=""),
        retry_after=rest.field(data, "retry_after", int),
        rate_limited=rest.field(data, "rate_limited", bool, default=False),
        reset_in=rest.field(data, "reset_in", int, default=60)))
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    forge = _admin(request)
    return rest.json([{"id": delivery.number, "guid": delivery.id,
                      "redelivery": delivery.redelivery, "hook_id": delivery.hook_id,
                      "url": delivery.url,
                      "event": delivery.event, "action": delivery.action,
                      "status": delivery.status, "error": delivery.error}
                     for delivery in forge.deliverer.deliveries])


@contextlib.asynccontextmanager
async def serve(root: Path, *, host: str = "127.0.0.1", port: int = 0,
                admin_token: str | None = None, app: App | None = None
                ) -> AsyncIterator[FakeForge]:
    """Run a forge on ``host:port`` (0: any free port) in the running event loop."""
    sock = bind(host, port, option="--port")
    bound = sock.getsockname()[1]
    forge = FakeForge(root, origin=f"http://{host}:{bound}", admin_token=admin_token, app=app)
    server = make_server(build_app(forge))
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield forge
    finally:
        server.stop()
        await task
        await forge.deliverer.aclose()
        sock.close()
