"""The in-package forge's parts in one object: state, auth, rendering, webhooks, and what
tests arrange or inspect (planned faults, the API exchanges so far). ``forge.fake.app`` serves
it over HTTP."""

from __future__ import annotations

import asyncio
import datetime
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx

from crossdock.gitslice.forge.fake.auth import App, Auth
from crossdock.gitslice.forge.fake.events import Events
from crossdock.gitslice.forge.fake.hooks import Deliverer
from crossdock.gitslice.forge.fake.render import Renderer
from crossdock.gitslice.forge.fake.state import ForgeState, Repo, now


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
