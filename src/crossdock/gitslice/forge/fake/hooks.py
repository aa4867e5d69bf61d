"""Signed webhook deliveries, with GitHub's headers, one at a time in the order of events."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import hmac
import itertools
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from crossdock.gitslice.forge.fake.state import Repo

#: GitHub's sender names itself ``GitHub-Hookshot/<build>``; receivers match the prefix.
USER_AGENT = "GitHub-Hookshot/crossdock"

#: GitHub gives a receiver ten seconds to answer.
DEADLINE = 10.0


@dataclass(slots=True, kw_only=True)
class Delivery:
    """One attempt to deliver an event to one hook, and how it went.

    ``id`` is the ``X-GitHub-Delivery`` GUID, which a redelivery keeps; ``number`` is the
    attempt's own id in the REST API.
    """

    id: str
    number: int
    repository_id: int
    hook_id: int
    url: str
    event: str
    action: str | None
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None
    redelivery: bool = False
    delivered_at: datetime.datetime | None = None
    duration: float = 0.0


def signature_headers(secret: str, body: bytes) -> dict[str, str]:
    """``X-Hub-Signature`` (SHA-1, legacy) and ``X-Hub-Signature-256`` over the raw body."""
    sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    sha256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha1={sha1}", "X-Hub-Signature-256": f"sha256={sha256}"}


class Deliverer:
    """Sends each event to the repository's hooks that asked for it."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=DEADLINE, trust_env=False)
        self.deliveries: list[Delivery] = []
        self._order = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    def send(self, repo: Repo, event: str, payload: dict[str, Any]) -> None:
        """Queue the event for every active hook of ``repo`` subscribed to it."""
        body = orjson.dumps(payload)
        for hook in repo.hooks:
            if not hook.active or not ({event, "*"} & set(hook.events)):
                continue
            delivery_id = str(uuid.uuid4())
            headers = {
                "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id,
                "X-GitHub-Hook-ID": str(hook.id),
                "X-GitHub-Hook-Installation-Target-ID": str(repo.id),
                "X-GitHub-Hook-Installation-Target-Type": "repository",
            }
            if hook.secret:
                headers.update(signature_headers(hook.secret, body))
            self._queue(Delivery(id=delivery_id, number=next(self._numbers),
                                 repository_id=repo.id, hook_id=hook.id, url=hook.url,
                                 event=event, action=payload.get("action"), body=body,
                                 headers=headers))

    def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivery again, as it was: same GUID, body and signature."""
        again = dataclasses.replace(delivery, number=next(self._numbers), redelivery=True,
                                    status=None, error=None, delivered_at=None, duration=0.0)
        self._queue(again)
        return again

    def _queue(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        async with self._order:
            delivery.delivered_at = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            started = time.monotonic()
            try:
                response = await self.client.post(delivery.url, content=delivery.body,
                                                   headers=delivery.headers)
            except httpx.HTTPError as exc:
                delivery.error = f"{type(exc).__name__}: {exc}"
            else:
                delivery.status = response.status_code
            delivery.duration = time.monotonic() - started

    async def drain(self) -> None:
        """Wait until every queued delivery was attempted."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def aclose(self) -> None:
        await self.drain()
        await self.client.aclose()
