"""What a sending worker does with each attempt's outcome: record it, in batches, and act.

Each outcome becomes one attempt record and the destination's next step: success, a retry
after the schedule's wait (or the endpoint's ``Retry-After``), exhausted after the last try,
or stopped by a 410, which also disables the endpoint at once. An endpoint whose every
attempt failed for ``disable_after`` is disabled too. ``endpoint.disabled`` and
``message.attempt.exhausted`` are published as messages of the system application.

Outcomes wait in a queue and are recorded together, one transaction for what has gathered
(a commit per attempt was the worker's cost at a few hundred deliveries a second); a quiet
worker records each at once. A batch the database refuses is recorded one by one; one that
cannot be recorded at all is sent again when its claim expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt

from crossdock.core.errors import DatabaseUnreachable
from crossdock.core.logging import get_logger
from crossdock.webhooks.errors import StoreError
from crossdock.webhooks.outbound import operational
from crossdock.webhooks.outbound.models import (
    AttemptRecord,
    AttemptStatus,
    Claim,
    NewMessage,
    Next,
    Recorded,
)
from crossdock.webhooks.outbound.outcome import Delivered, Gone, Outcome, RetryAfter
from crossdock.webhooks.outbound.settings import DeliverySettings
from crossdock.webhooks.outbound.store import OutboundStore

logger = get_logger("crossdock.webhooks.outbound")

_DB_ERRORS = (StoreError, DatabaseUnreachable)
#: Most outcomes recorded in one transaction.
BATCH = 200
#: Seconds the recorder waits, once an outcome comes, for the ones right behind it.
GATHER_SECONDS = 0.01
GONE = "the endpoint answered 410 Gone"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Finished:
    claim: Claim
    outcome: Outcome
    record: AttemptRecord


class Recorder:
    """Records outcomes and acts on them, until stopped."""

    def __init__(self, store: OutboundStore, settings: DeliverySettings) -> None:
        self.store = store
        self.settings = settings
        self.backoff = settings.backoff
        self._queue: asyncio.Queue[_Finished | None] = asyncio.Queue()

    def add(self, claim: Claim, outcome: Outcome, started_at: dt.datetime) -> None:
        """Queue an attempt's outcome for recording."""
        following, retry_in, error = self.next_step(claim, outcome)
        response = outcome.response
        record = AttemptRecord(
            destination_id=claim.destination_id,
            status=AttemptStatus.SUCCEEDED if following is Next.DONE else AttemptStatus.FAILED,
            next=following, retry_in=retry_in, duration_ms=response.duration_ms,
            response_code=response.status, response_body=response.body, error=error,
            started_at=started_at)
        self._queue.put_nowait(_Finished(claim=claim, outcome=outcome, record=record))

    def next_step(self, claim: Claim, outcome: Outcome) -> tuple[Next, float | None, str | None]:
        """What the destination does after ``outcome``: next state, retry wait, error."""
        if isinstance(outcome, Delivered):
            return Next.DONE, None, None
        if isinstance(outcome, Gone):
            return Next.STOP, None, GONE
        if isinstance(outcome, RetryAfter):
            error = f"HTTP {outcome.response.status}: Retry-After {outcome.seconds:g} s"
        else:
            error = outcome.reason
        wait = self.backoff.delay(claim.attempt)
        if wait is None:
            return Next.EXHAUSTED, None, error
        return Next.RETRY, outcome.seconds if isinstance(outcome, RetryAfter) else wait, error

    async def run(self) -> None:
        """Record what is queued, a batch at a time, until :meth:`stop` says so."""
        while True:
            first = await self._queue.get()
            if first is None:
                return
            # The outcomes right behind this one share its commit.
            await asyncio.sleep(GATHER_SECONDS)
            batch = [first]
            while len(batch) < BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    await self._record(batch)
                    return
                batch.append(item)
            await self._record(batch)

    async def stop(self, running: asyncio.Task[None], *, within: float) -> None:
        """Record what is queued (for ``within`` seconds at most), then end :meth:`run`."""
        self._queue.put_nowait(None)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(running, within)

    async def _record(self, batch: list[_Finished]) -> None:
        try:
            recorded = await self.store.record_attempts([item.record for item in batch])
        except _DB_ERRORS as exc:
            if len(batch) == 1:
                # Its claim expires and it is sent again.
                logger.warning("outbound_attempt_not_recorded",
                               destination=batch[0].claim.destination_id, error=str(exc))
                return
            for item in batch:
                await self._record([item])
            return
        for item, result in zip(batch, recorded, strict=True):
            if item.record.error is not None:
                try:
                    await self._act(item, result)
                except _DB_ERRORS as exc:
                    logger.warning("outbound_failure_not_acted_on",
                                   destination=item.claim.destination_id, error=str(exc))

    async def _act(self, item: _Finished, recorded: Recorded) -> None:
        claim, record = item.claim, item.record
        logger.info("outbound_attempt_failed", destination=claim.destination_id,
                    endpoint=claim.endpoint.id, attempt=claim.attempt, error=record.error,
                    next=str(record.next))
        if record.next is Next.EXHAUSTED:
            await self._publish(operational.attempt_exhausted(claim, record.error))
        if isinstance(item.outcome, Gone):
            await self._disable(claim, GONE, None)
        elif recorded.failing_since is not None:
            failing_for = dt.datetime.now(dt.UTC) - recorded.failing_since
            if failing_for >= self.settings.disable_after:
                days = failing_for.total_seconds() / 86400
                await self._disable(claim, f"every attempt failed for {days:.1f} days",
                                    recorded.failing_since)

    async def _disable(self, claim: Claim, reason: str,
                       failing_since: dt.datetime | None) -> None:
        if await self.store.disable_endpoint(claim.endpoint.id, reason):
            logger.warning("outbound_endpoint_disabled", endpoint=claim.endpoint.id,
                           app=claim.endpoint.app, reason=reason)
            await self._publish(operational.endpoint_disabled(claim.endpoint, reason,
                                                              failing_since))

    async def _publish(self, message: NewMessage | None) -> None:
        if message is not None:
            await self.store.publish(message)
