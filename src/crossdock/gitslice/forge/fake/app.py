"""The in-package forge, whole: state, auth, REST API, git over HTTP, webhooks, and a server.

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
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from crossdock.core.server import bind, make_server
from crossdock.gitslice.forge.fake import api
from crossdock.gitslice.forge.fake.auth import App, Auth, credential
from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.events import Events
from crossdock.gitslice.forge.fake.githttp import git_http
from crossdock.gitslice.forge.fake.hooks import Deliverer
from crossdock.gitslice.forge.fake.render import Renderer
from crossdock.gitslice.forge.fake.state import ForgeState, Repo, now

SECONDARY = ("You have exceeded a secondary rate limit. Please wait a few minutes before you "
             "try again.")


@dataclass(slots=True, kw_only=True)
class Exchange:
    """One API request and the forge's answer, kept so tests can check both."""

    method: str
    path: str
    query: str
    body: bytes
    status: int = 0
    answer: bytes = b""


@dataclass(slots=True, kw_only=True)
class Fault:
    """An answer planned for the next ``times`` API requests whose path holds ``path``."""

    status: int
    times: int = 1
    path: str = ""
    retry_after: int | None = None
    rate_limited: bool = False
    reset_in: int = 60


class FakeForge:
    """A GitHub-compatible forge whose repositories live under ``root``."""

    def __init__(self, root: Path, *, origin: str, admin_token: str | None = None,
                 app: App | None = None, client: httpx.AsyncClient | None = None) -> None:
        self.state = ForgeState(root)
        self.auth = Auth(self.state, app)
        self.render = Renderer(self.state, origin)
        self.deliverer = Deliverer(client)
        self.events = Events(self.render, self.deliverer)
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.faults: list[Fault] = []
        self.exchanges: list[Exchange] = []
        self._remaining = 5000
        self._reset = now() + datetime.timedelta(hours=1)
        self._push_locks: dict[int, asyncio.Lock] = {}
        self.asgi = Starlette(routes=[
            Mount("/api/v3", app=_Limits(self, api.build_api(self))),
            Route("/_forge/users", add_user, methods=["POST"]),
            Route("/_forge/faults", add_fault, methods=["POST"]),
            Route("/_forge/deliveries", list_deliveries, methods=["GET"]),
            Route("/{owner}/{repo}/{rest:path}", git_http, methods=["GET", "POST"]),
        ], exception_handlers={ForgeFault: api.on_fault})
        self.asgi.state.forge = self

    @property
    def origin(self) -> str:
        return self.render.origin

    @property
    def api_url(self) -> str:
        return self.render.api

    def push_lock(self, repo: Repo) -> asyncio.Lock:
        return self._push_locks.setdefault(repo.id, asyncio.Lock())

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in path:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def spend(self) -> tuple[int, datetime.datetime]:
        """Count one API request against the hourly limit; what remains and when it resets."""
        if now() >= self._reset:
            self._remaining, self._reset = 5000, now() + datetime.timedelta(hours=1)
        self._remaining = max(0, self._remaining - 1)
        return self._remaining, self._reset


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
                     for key, value in api.rate_headers(remaining, reset).items())
        await self.app(scope, replay, recorded)


def _fault_response(fault: Fault) -> Response:
    if fault.rate_limited:
        reset = now() + datetime.timedelta(seconds=fault.reset_in)
        response = api.fault_response(ForgeFault(fault.status, "API rate limit exceeded"))
        response.headers.update(api.rate_headers(0, reset))
        return response
    if fault.retry_after is not None:
        response = api.fault_response(ForgeFault(fault.status, SECONDARY))
        response.headers["Retry-After"] = str(fault.retry_after)
        return response
    return api.fault_response(ForgeFault(fault.status, "Server Error"))


def _admin(request: Request) -> FakeForge:
    forge: FakeForge = request.app.state.forge
    token = credential(request.headers.get("authorization", ""))
    if token is None or not secrets.compare_digest(token, forge.admin_token):
        raise ForgeFault(401, "the forge's admin token is required")
    return forge


async def add_user(request: Request) -> Response:
    forge = _admin(request)
    data = await api.body_of(request)
    login = api.field(data, "login", str, required=True)
    token = forge.state.add_user(login, api.field(data, "token", str))
    return api.json({"login": login, "token": token}, 201)


async def add_fault(request: Request) -> Response:
    forge = _admin(request)
    data = await api.body_of(request)
    forge.faults.append(Fault(
        status=api.field(data, "status", int, required=True),
        times=api.field(data, "times", int, default=1),
        path=api.field(data, "path", str, default=""),
        retry_after=api.field(data, "retry_after", int),
        rate_limited=api.field(data, "rate_limited", bool, default=False),
        reset_in=api.field(data, "reset_in", int, default=60)))
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    forge = _admin(request)
    return api.json([{"id": delivery.number, "guid": delivery.id,
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
    server = make_server(forge.asgi)
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
