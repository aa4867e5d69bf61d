"""Processing: the deliveries table is the queue; workers run handlers on it in batches.

A worker's drain loop (:meth:`Processor.run`) claims up to ``batch`` runnable deliveries at a
time with ``FOR UPDATE SKIP LOCKED``, counting a try on each and leasing them until
``claimed_until`` (renewed while it works), so workers never share a delivery and the claims
of a worker that died expire by themselves. The receiver's INSERT wakes it (a statement
trigger NOTIFYs); a poll every ``poll_seconds`` finds due retries and expired claims.

A batch runs in one transaction: every matching route whose handler has not yet succeeded
on the delivery runs inside a savepoint, so a failing handler's writes roll back alone, and
its success is recorded in that same transaction; a handler that succeeded is never run
again, even if the worker dies. Attempts are recorded with one INSERT, successes marked with
one UPDATE, which also records the repository each body names (read here, where the body is
parsed anyway, rather than on the receiver's path; a failed delivery's in one more UPDATE). A
handler with a batch form (the bus) runs once for all its deliveries. A failed delivery gets
``next_attempt_at`` after its source's backoff (with jitter); after the last try it is dead.
If the batch's transaction fails as a whole (a concurrent run recorded one of its successes
first), its deliveries run again one per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from crossdock.core.bus import EventBus
from crossdock.core.database import Connection, Database
from crossdock.core.errors import DatabaseUnreachable
from crossdock.core.logging import get_logger
from crossdock.webhooks import metrics, store
from crossdock.webhooks.errors import Rejected, StoreError, StoreUnavailable
from crossdock.webhooks.handlers import BatchHandler, Handler, Work, get_batch_handler, get_handler
from crossdock.webhooks.models import AttemptStatus, Delivery, Route, Source
from crossdock.webhooks.providers import repository_of
from crossdock.webhooks.providers.base import json_payload
from crossdock.webhooks.routing import default_routes, select_routes
from crossdock.webhooks.store import AttemptRecord

logger = get_logger("crossdock.webhooks")

#: Most deliveries one transaction of the worker takes.
BATCH = 200
_DB_ERRORS = (StoreError, DatabaseUnreachable)


@dataclasses.dataclass(slots=True)
class _Outcome:
    """What a committed batch did, for the metrics (counted only after the commit)."""

    lags: list[tuple[str, float]] = dataclasses.field(default_factory=list)
    retried: list[str] = dataclasses.field(default_factory=list)
    dead: list[str] = dataclasses.field(default_factory=list)
    attempts: list[AttemptRecord] = dataclasses.field(default_factory=list)


class Processor:
    """Runs deliveries' handlers on a worker."""

    def __init__(
        self,
        database: Database,
        bus: EventBus,
        *,
        batch: int = BATCH,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        reconnect_seconds: float = 1.0,
        gather_seconds: float = 0.02,
    ) -> None:
        self.database = database
        self.bus = bus
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.reconnect_seconds = reconnect_seconds
        self.gather_seconds = gather_seconds

    async def run(self) -> None:
        """Process deliveries until cancelled, surviving database restarts."""
        while True:
            try:
                async with store.listening(self.database) as listener:
                    while True:
                        await self.run_pending()
                        # Woken by the next commit of deliveries, or by the poll; then a
                        # moment for the commits right behind it, so that a batch is not
                        # one commit's few deliveries: a batch costs a dozen round trips.
                        await store.wait_for_deliveries(listener, within=self.poll_seconds)
                        await asyncio.sleep(self.gather_seconds)
            except _DB_ERRORS as exc:
                logger.warning("webhooks_processing_interrupted", error=str(exc))
                await asyncio.sleep(self.reconnect_seconds)

    async def run_pending(self) -> int:
        """Process batches until one comes back short; how many deliveries were claimed."""
        total = 0
        while True:
            async with store.transaction(self.database) as conn:
                claimed = await store.claim_batch(conn, limit=self.batch,
                                                  lease=self.lease_seconds)
            total += len(claimed)
            if claimed:
                async with self._claims_kept([d.id for d in claimed]):
                    await self._process_claimed(claimed)
            if len(claimed) < self.batch:
                return total

    @contextlib.asynccontextmanager
    async def _claims_kept(self, ids: list[int]) -> AsyncIterator[None]:
        """Renew the lease on ``ids`` while the block runs (a slow handler keeps its claim)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease_seconds / 3)
                try:
                    async with store.transaction(self.database) as conn:
                        await store.extend_claims(conn, ids, lease=self.lease_seconds)
                except _DB_ERRORS as exc:
                    logger.warning("webhooks_claim_not_renewed", error=str(exc))

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _process_claimed(self, deliveries: list[Delivery]) -> None:
        try:
            await self._process(deliveries)
        except StoreUnavailable:
            raise  # the database is gone: run() reconnects, and the claims expire meanwhile
        except Exception as exc:
            if len(deliveries) == 1:
                # Another run recorded this success first (its effects stand), or this
                # delivery trips the processor itself: its claim expires, and a later run
                # sorts it out or tries again, counting a try.
                logger.warning("webhooks_delivery_left_to_its_lease",
                               delivery_id=deliveries[0].id,
                               error=f"{type(exc).__name__}: {exc}")
                return
            for delivery in deliveries:
                await self._process_claimed([delivery])

    async def _process(self, deliveries: list[Delivery]) -> None:
        outcome = _Outcome()
        async with store.transaction(self.database) as conn:
            names = {d.source for d in deliveries}
            sources = {name: await store.get_source(conn, name) for name in names}
            # A source without routes gets its default once per batch, not per delivery.
            routes = {name: await store.list_routes(conn, name) or default_routes(name)
                      for name in names}
            done = await store.succeeded_routes(conn, [d.id for d in deliveries])
            errors: dict[int, list[str]] = {}
            payloads = _payloads(deliveries, errors)
            repositories = _repositories(deliveries, payloads)
            works = _works(deliveries, payloads, routes, done, self.bus)
            outcome.attempts = await _run_handlers(conn, works)
            await store.record_attempts(conn, outcome.attempts)
            for attempt in outcome.attempts:
                if attempt.status is AttemptStatus.FAILED:
                    errors.setdefault(attempt.delivery.id, []).append(
                        f"{attempt.route.key} ({attempt.route.handler}): {attempt.error}")
            processed = [d.id for d in deliveries if d.id not in errors]
            if processed:
                outcome.lags = await store.mark_processed(conn, processed, repositories)
            await store.record_repositories(conn, {
                key: url for key, url in repositories.items() if key in errors})
            for delivery in deliveries:
                if delivery.id in errors:
                    await _fail(conn, delivery, sources[delivery.source],
                                "; ".join(errors[delivery.id]), outcome)
        _count(outcome)


def _payloads(deliveries: Sequence[Delivery], errors: dict[int, list[str]]) -> dict[int, Any]:
    """Each delivery's body parsed, by id; one that does not parse gets its error instead."""
    payloads: dict[int, Any] = {}
    for delivery in deliveries:
        try:
            payloads[delivery.id] = json_payload(delivery.body or b"null")
        except Rejected as exc:
            errors[delivery.id] = [f"the stored body does not parse: {exc}"]
    return payloads


def _repositories(deliveries: Sequence[Delivery], payloads: dict[int, Any]) -> dict[int, str]:
    """The repositories the bodies name that their rows do not record yet, by delivery id."""
    found: dict[int, str] = {}
    for delivery in deliveries:
        if delivery.id in payloads:
            url = repository_of(delivery.provider, payloads[delivery.id])
            if url is not None and url != delivery.repository:
                found[delivery.id] = url
    return found


def _works(
    deliveries: Sequence[Delivery], payloads: dict[int, Any], routes: dict[str, list[Route]],
    done: dict[int, set[str]], bus: EventBus,
) -> list[Work]:
    """Each delivery's pending handler runs, in delivery then route order."""
    works: list[Work] = []
    for delivery in deliveries:
        if delivery.id not in payloads:
            continue
        payload = payloads[delivery.id]
        finished = done.get(delivery.id, set())
        works.extend(Work(delivery=delivery, payload=payload, route=route, bus=bus)
                     for route in select_routes(routes[delivery.source], delivery, payload)
                     if route.key not in finished)
    return works


async def _run_handlers(conn: Connection, works: Sequence[Work]) -> list[AttemptRecord]:
    """Run the works, a handler's works together; one attempt record per work."""
    by_handler: dict[str, list[Work]] = {}
    for work in works:
        by_handler.setdefault(work.route.handler, []).append(work)
    attempts: list[AttemptRecord] = []
    for name, group in by_handler.items():
        batch = get_batch_handler(name)
        if batch is not None and len(group) > 1:
            together = await _attempt_batch(conn, batch, group)
            if together is not None:
                attempts.extend(together)
                continue
        handler = get_handler(name) or _missing(name)
        attempts.extend([await _attempt(conn, handler, work) for work in group])
    return attempts


async def _attempt_batch(
    conn: Connection, handler: BatchHandler, works: Sequence[Work]
) -> list[AttemptRecord] | None:
    """Run a batch handler on all ``works``; None when it failed (each then runs alone)."""
    started = time.perf_counter()
    try:
        async with conn.transaction():
            await handler(works, conn)
    except Exception as exc:
        logger.info("webhook_batch_attempt_failed", handler=works[0].route.handler,
                    size=len(works), error=f"{type(exc).__name__}: {exc}")
        return None
    each = (time.perf_counter() - started) * 1000 / len(works)
    return [AttemptRecord(delivery=work.delivery, route=work.route,
                          status=AttemptStatus.SUCCEEDED, duration_ms=each) for work in works]


async def _attempt(conn: Connection, handler: Handler, work: Work) -> AttemptRecord:
    """Run one handler in a savepoint (its writes roll back alone when it fails)."""
    started = time.perf_counter()
    # The handler's own log lines say which delivery they are about.
    with structlog.contextvars.bound_contextvars(delivery_id=work.delivery.id):
        try:
            async with conn.transaction():
                await handler(work, conn)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.info("webhook_attempt_failed", handler=work.route.handler, error=error)
            return AttemptRecord(delivery=work.delivery, route=work.route,
                                 status=AttemptStatus.FAILED,
                                 duration_ms=(time.perf_counter() - started) * 1000,
                                 error=error[:2000])
    return AttemptRecord(delivery=work.delivery, route=work.route,
                         status=AttemptStatus.SUCCEEDED,
                         duration_ms=(time.perf_counter() - started) * 1000)


async def _fail(conn: Connection, delivery: Delivery, source: Source, message: str,
                outcome: _Outcome) -> None:
    delay = source.retry.delay(delivery.tries)
    if delay is None:
        await store.mark_dead(conn, delivery.id, error=message)
        outcome.dead.append(delivery.source)
        logger.warning("webhook_dead", delivery_id=delivery.id, tries=delivery.tries,
                       error=message)
        return
    await store.mark_failed(conn, delivery.id, error=message, delay=delay)
    outcome.retried.append(delivery.source)
    logger.info("webhook_retry_scheduled", delivery_id=delivery.id,
                tries=delivery.tries, delay_seconds=round(delay, 3))


def _count(outcome: _Outcome) -> None:
    # One label lookup per label set and batch: a lookup takes a lock and hashes the labels.
    for source, n in Counter(source for source, _ in outcome.lags).items():
        metrics.PROCESSED.labels(source).inc(n)
    for _, lag in outcome.lags:
        metrics.PROCESSING_LAG.observe(lag)
    for source, n in Counter(outcome.retried).items():
        metrics.RETRIED.labels(source).inc(n)
    for source, n in Counter(outcome.dead).items():
        metrics.DEAD.labels(source).inc(n)
    attempts = Counter((a.route.handler, str(a.status)) for a in outcome.attempts)
    for (handler, status), n in attempts.items():
        metrics.ATTEMPTS.labels(handler, status).inc(n)


def _missing(name: str) -> Handler:
    async def missing(work: Work, conn: Connection) -> None:  # noqa: ARG001 (interface)
        raise LookupError(f"no handler named {name!r} in this worker")

    return missing


async def replay(database: Database, ids: Sequence[int]) -> list[int]:
    """Make deliveries runnable again (and wake the workers); returns those queued."""
    async with store.transaction(database) as conn:
        queued = await store.reset_for_replay(conn, ids)
    logger.info("webhooks_replayed", count=len(queued))
    return queued

