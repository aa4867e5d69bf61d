"""Processing: run a delivery's handlers, record each attempt, retry, dead-letter, replay.

The receiver queues one ``webhooks.process`` job per group commit, carrying the ids of the
deliveries it stored, in that transaction. The job counts a try on each (one UPDATE), then
runs every matching route whose handler has not yet succeeded on the delivery; each handler
runs in a transaction that also records its success, so a worker killed mid-handler leaves
nothing half done and a handler that succeeded is never run again. When a handler fails, the
job queues that delivery's next try after the source's backoff (with jitter); after the last
try the delivery is dead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg

from crossdock.core.bus import EventBus
from crossdock.core.database import Connection, Database
from crossdock.core.jobs import JobQueue, RetryPolicy
from crossdock.core.logging import get_logger
from crossdock.webhooks import metrics, store
from crossdock.webhooks.handlers import Handler, Work, get_handler
from crossdock.webhooks.models import AttemptStatus, Delivery, Route, Source
from crossdock.webhooks.providers.base import json_payload
from crossdock.webhooks.routing import select_routes

logger = get_logger("crossdock.webhooks")

PROCESS_TASK = "webhooks.process"
QUEUE = "webhooks"
#: Most deliveries one processing job carries: a group commit's batch fits in one.
BATCH = 200


async def defer_processing(
    jobs: JobQueue, conn: Any, delivery_ids: Sequence[int], *,
    delay_seconds: float | None = None,
) -> None:
    """Queue one processing run of deliveries in the caller's transaction."""
    # One job per group commit, not per delivery: a procrastinate job costs a round trip to
    # defer and several to run, which capped ingest and processing (docs/webhooks.md).
    # No job lock: procrastinate's fetch query scans every waiting job that has one, which
    # stalls workers behind a burst of deliveries. Two runs of one delivery at once (a replay
    # during a retry) are safe anyway: a handler's success is recorded under a unique index
    # in its own transaction, so the second run's copy of it rolls back.
    for start in range(0, len(delivery_ids), BATCH):
        await jobs.defer(PROCESS_TASK, connection=conn, delay_seconds=delay_seconds,
                         delivery_ids=list(delivery_ids[start:start + BATCH]))


class Processor:
    """Runs deliveries' handlers on a worker."""

    def __init__(self, database: Database, jobs: JobQueue, bus: EventBus) -> None:
        self.database = database
        self.jobs = jobs
        self.bus = bus

    def register(self) -> None:
        """Register the processing task on the job queue."""
        # Handler failures are retried by us on the source's schedule; the queue's own
        # retries only cover a job that crashed on the database itself.
        self.jobs.task(PROCESS_TASK, queue=QUEUE,
                       retry=RetryPolicy(max_attempts=10, base_seconds=1.0,
                                         max_seconds=60.0))(self.process)

    async def process(self, delivery_ids: list[int] | None = None,
                      delivery_id: int | None = None) -> None:
        """One try at each of a batch of deliveries (``delivery_id``: jobs queued before)."""
        ids = list(delivery_ids or []) + ([delivery_id] if delivery_id is not None else [])
        async with self.database.transaction() as conn:
            deliveries = await store.start_runs(conn, ids)  # with their bodies
            if not deliveries:
                return  # processed, dead or rejected: nothing to do
            sources = {name: await store.get_source(conn, name)
                       for name in {d.source for d in deliveries}}
            routes = {name: await store.list_routes(conn, name) for name in sources}
            done = await store.succeeded_routes(conn, [d.id for d in deliveries])
        processed: list[int] = []
        failed: list[tuple[Delivery, str]] = []
        for delivery in deliveries:
            errors = await self._run(delivery, routes[delivery.source],
                                     done.get(delivery.id, set()))
            if errors:
                failed.append((delivery, "; ".join(errors)))
            else:
                processed.append(delivery.id)
        async with self.database.transaction() as conn:
            if processed:
                for source, lag in await store.mark_processed(conn, processed):
                    metrics.PROCESSED.labels(source).inc()
                    metrics.PROCESSING_LAG.observe(lag)
            for delivery, message in failed:
                await self._fail(conn, delivery, sources[delivery.source], message)

    async def _run(self, delivery: Delivery, routes: list[Route], done: set[str]) -> list[str]:
        """Run the delivery's pending handlers; the errors of those that failed."""
        payload = json_payload(delivery.body or b"null")
        errors = []
        for route in select_routes(routes, delivery, payload):
            if route.key in done:
                continue
            error = await self._attempt(delivery, payload, route)
            if error is not None:
                errors.append(f"{route.key} ({route.handler}): {error}")
        return errors

    async def _fail(self, conn: Connection, delivery: Delivery, source: Source,
                    message: str) -> None:
        delay = source.retry.delay(delivery.tries)
        if delay is None:
            await store.mark_dead(conn, delivery.id, error=message)
            metrics.DEAD.labels(delivery.source).inc()
            logger.warning("webhook_dead", delivery_id=delivery.id, tries=delivery.tries,
                           error=message)
            return
        await store.mark_failed(conn, delivery.id, error=message, delay=delay)
        await defer_processing(self.jobs, conn, [delivery.id], delay_seconds=delay)
        metrics.RETRIED.labels(delivery.source).inc()
        logger.info("webhook_retry_scheduled", delivery_id=delivery.id,
                    tries=delivery.tries, delay_seconds=round(delay, 3))

    async def _attempt(self, delivery: Delivery, payload: Any, route: Route) -> str | None:
        """Run one handler; the error text when it failed."""
        handler = get_handler(route.handler) or _missing(route.handler)
        started = time.perf_counter()
        try:
            async with self.database.transaction() as conn:
                await handler(Work(delivery=delivery, payload=payload, route=route,
                                   bus=self.bus), conn)
                await store.record_attempt(
                    conn, delivery, route, status=AttemptStatus.SUCCEEDED,
                    duration_ms=(time.perf_counter() - started) * 1000)
        except psycopg.errors.UniqueViolation:
            return None  # another run recorded this success first; its effects stand
        except Exception as exc:
            duration = (time.perf_counter() - started) * 1000
            error = f"{type(exc).__name__}: {exc}"
            async with self.database.transaction() as conn:
                await store.record_attempt(conn, delivery, route, status=AttemptStatus.FAILED,
                                           duration_ms=duration, error=error[:2000])
            metrics.ATTEMPTS.labels(route.handler, "failed").inc()
            logger.info("webhook_attempt_failed", delivery_id=delivery.id,
                        handler=route.handler, error=error)
            return error
        metrics.ATTEMPTS.labels(route.handler, "succeeded").inc()
        return None


def _missing(name: str) -> Handler:
    async def missing(work: Work, conn: Connection) -> None:  # noqa: ARG001 (interface)
        raise LookupError(f"no handler named {name!r} in this worker")

    return missing


async def replay(database: Database, jobs: JobQueue, ids: Sequence[int]) -> list[int]:
    """Queue deliveries for processing again; returns those queued."""
    async with database.transaction() as conn:
        queued = await store.reset_for_replay(conn, ids)
        await defer_processing(jobs, conn, queued)
    logger.info("webhooks_replayed", count=len(queued))
    return queued
