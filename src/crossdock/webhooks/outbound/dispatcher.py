"""The sending worker: claims due destinations and delivers each in a task of its own.

The destinations table is the queue (see :class:`OutboundStore`): a claim takes due rows
with ``FOR UPDATE SKIP LOCKED``, only the head of each ordering key, within each endpoint's
concurrency cap, and leases them. The dispatcher claims no more than it has free slots, and
each claimed destination is one task: a slow endpoint holds its own slots and nothing else.
An endpoint's gate (rate limit, cap) that is shut gives the destination back to the queue,
due when it opens. A commit of new destinations wakes the worker (LISTEN), and so does every
finished attempt (it may have made the next message of its key due); a poll finds retries.

Outcomes go to the :class:`Recorder` (batched records, retries, disabling, operational
events). A worker that dies leaves its claims to expire: they are sent again, with the same
``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import orjson

from crossdock.core.database import Database
from crossdock.core.errors import DatabaseUnreachable
from crossdock.core.logging import get_logger
from crossdock.webhooks.errors import SigningKeyUnavailable, StoreError
from crossdock.webhooks.outbound import operational
from crossdock.webhooks.outbound.limits import Gates
from crossdock.webhooks.outbound.models import Claim, Endpoint
from crossdock.webhooks.outbound.outcome import Failed, Response
from crossdock.webhooks.outbound.recorder import Recorder
from crossdock.webhooks.outbound.sender import Clients, Request, Sender
from crossdock.webhooks.outbound.settings import DeliverySettings
from crossdock.webhooks.outbound.ssrf import AddressPolicy
from crossdock.webhooks.outbound.store import OutboundStore

logger = get_logger("crossdock.webhooks.outbound")

_DB_ERRORS = (StoreError, DatabaseUnreachable)
#: Seconds a worker waits, once woken, for the commits right behind the one that woke it: a
#: claim is a write transaction (a commit, a WAL flush), and claiming per published message
#: cost more than the sending; gathered, one claim takes what a few commits queued.
GATHER_SECONDS = 0.01


class Dispatcher:
    """Sends due messages until cancelled, surviving database restarts."""

    def __init__(self, store: OutboundStore, sender: Sender, settings: DeliverySettings, *,
                 reconnect_seconds: float = 1.0, stop_grace_seconds: float = 5.0) -> None:
        self.store = store
        self.stop_grace_seconds = stop_grace_seconds
        self.sender = sender
        self.settings = settings
        self.backoff = settings.backoff
        self.reconnect_seconds = reconnect_seconds
        self.gates = Gates()
        self.recorder = Recorder(store, settings)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Claim and send until cancelled; in-flight claims go back to the queue on the way out."""
        recording = asyncio.create_task(self.recorder.run())
        try:
            while True:
                try:
                    await operational.install(self.store)
                    async with self.store.listening() as listener:
                        await self._serve(listener)
                except _DB_ERRORS as exc:
                    logger.warning("outbound_sending_interrupted", error=str(exc))
                    await asyncio.sleep(self.reconnect_seconds)
        finally:
            await self._give_back(recording)

    async def _serve(self, listener: object) -> None:
        notified = asyncio.create_task(self._listen(listener))
        try:
            while True:
                self._wake.clear()
                claimed = await self.claim()
                if claimed:
                    await asyncio.sleep(GATHER_SECONDS)
                    continue
                woken = asyncio.create_task(self._wake.wait())
                done, _ = await asyncio.wait({woken, notified}, timeout=self.settings.poll_seconds,
                                             return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                if notified in done:
                    notified.result()  # the listener failed: reconnect
                    return
                if done:
                    await asyncio.sleep(GATHER_SECONDS)
        finally:
            notified.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_DB_ERRORS):
                await notified

    async def _listen(self, listener: object) -> None:
        async for _ in listener.notifies():  # type: ignore[attr-defined]
            self._wake.set()

    async def claim(self) -> int:
        """Claim as many due destinations as there are free slots and start sending them."""
        free = self.settings.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        claims = await self.store.claim_due(free, lease=self.settings.lease_seconds)
        for claim in claims:
            task = asyncio.create_task(self._deliver(claim))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return len(claims)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _give_back(self, recording: asyncio.Task[None]) -> None:
        """On the way out: let attempts in flight finish for a while, then stop the rest;
        then record what finished."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.stop_grace_seconds)
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self.recorder.stop(recording, within=self.stop_grace_seconds)

    async def _deliver(self, claim: Claim) -> None:
        endpoint = claim.endpoint
        settings = endpoint.settings
        try:
            request = self._request(claim)
        except SigningKeyUnavailable as exc:
            # The try is counted and retried on the schedule, so the message waits, visibly,
            # for the right key rather than going unsigned or vanishing.
            logger.warning("outbound_signing_key_unavailable", endpoint=endpoint.id,
                           error=str(exc))
            self.recorder.add(claim, Failed(reason=str(exc), response=Response()),
                              dt.datetime.now(dt.UTC))
            return
        gate = self.gates.get(endpoint.id, rate=settings.rate_limit,
                              cap=self._cap(endpoint))
        try:
            wait = await gate.enter()
            if wait:
                await self.store.reschedule([claim.destination_id], delay=wait)
                return
            started_at = dt.datetime.now(dt.UTC)
            try:
                outcome = await self.sender.send(request)
            except asyncio.CancelledError:
                # Stopping: the attempt may or may not have reached the endpoint; either
                # way it goes again soon (at least once, with the same webhook-id).
                with contextlib.suppress(*_DB_ERRORS):
                    await asyncio.shield(
                        self.store.reschedule([claim.destination_id], delay=0))
                raise
            finally:
                gate.leave()
            self.recorder.add(claim, outcome, started_at)
        except _DB_ERRORS as exc:
            # Its claim expires and it is sent again.
            logger.warning("outbound_attempt_not_recorded", destination=claim.destination_id,
                           error=str(exc))

    def _request(self, claim: Claim) -> Request:
        message = claim.message
        body = orjson.dumps({"type": message.event_type,
                             "timestamp": message.created_at.isoformat(),
                             "data": message.payload})
        endpoint = claim.endpoint
        # An attempt ends before its lease does, so no other worker takes it meanwhile.
        timeout = min(endpoint.settings.timeout_seconds, self.settings.lease_seconds * 0.8)
        return Request(url=endpoint.url, message_id=message.uid, body=body,
                       secrets=endpoint.signing_secrets(dt.datetime.now(dt.UTC)),
                       headers=endpoint.settings.headers, timeout=timeout,
                       endpoint_id=endpoint.id, connections=self._cap(endpoint))

    def _cap(self, endpoint: Endpoint) -> int:
        """Attempts at ``endpoint`` in flight at once in this worker."""
        return endpoint.settings.max_concurrency or self.settings.endpoint_concurrency


async def sending(database: Database, settings: DeliverySettings | None = None) -> None:
    """A worker's outbound part: a dispatcher with its own pooled client, until cancelled."""
    settings = settings or DeliverySettings.from_env()
    policy = AddressPolicy.parse(settings.allow)
    async with Clients(policy, follow_redirects=settings.follow_redirects) as clients:
        sender = Sender(clients, max_retry_after=settings.backoff.max_seconds)
        store = OutboundStore(database)
        with contextlib.suppress(*_DB_ERRORS):
            for endpoint_id in await store.locked_endpoints():
                logger.warning("outbound_signing_key_unavailable", endpoint=endpoint_id,
                               error=f"endpoint {endpoint_id}: its signing secret cannot be "
                               f"decrypted with the keys of {store.secrets.where}")
        await Dispatcher(store, sender, settings).run()
