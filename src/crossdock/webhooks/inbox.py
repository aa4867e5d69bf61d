"""Group commit of accepted deliveries: requests waiting at the same moment share a commit.

Every accepted delivery must be committed before its 202 (the deliveries table is the
processing queue, so stored is queued). One transaction per request pays a commit (a WAL
flush, and the NOTIFY that wakes the workers, which PostgreSQL serialises across all
committing transactions) per delivery. Here each request hands its row to
:meth:`DeliveryWriter.store` and waits; up to ``writers`` writers run at once, each taking
every row that is waiting (up to ``max_batch``), so under load many deliveries share one
commit while a lone request still goes straight through. A writer that finds nothing waiting
keeps its connection ``linger`` seconds for the next rows before it ends. A row's future
resolves only after its commit; when the commit fails every row in it gets the error (the
receiver answers 503) and nothing of it is stored. A request waits at most
``commit_timeout`` seconds: then it gets :class:`CommitTimeout` (503), and its row is dropped
if no writer has taken it yet; one already being written may still be stored, and the
sender's retry then gets the duplicate's 200. A commit is one multi-row INSERT in
autocommit, whose statement trigger notifies the workers once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crossdock.core.database import Connection, Database
from crossdock.webhooks import store
from crossdock.webhooks.errors import CommitTimeout, StoreError, StoreUnavailable

Row = dict[str, Any]
#: Rows waiting for a commit, each with the future its request awaits.
Batch = list[tuple[Row, "asyncio.Future[int | None]"]]


class DeliveryWriter:
    """Stores accepted deliveries (and so queues them), in shared transactions."""

    def __init__(
        self,
        database: Database,
        *,
        timeout: float,
        commit_timeout: float = 5.0,
        writers: int = 2,
        max_batch: int = 200,
        linger: float = 0.005,
    ) -> None:
        self.database = database
        self.timeout = timeout
        self.commit_timeout = commit_timeout
        self.writers = writers
        self.max_batch = max_batch
        self.linger = linger
        self._waiting: Batch = []
        self._running = 0
        #: Writers between commits, waiting for rows with their connection in hand.
        self._idle: list[asyncio.Future[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, row: Row) -> int | None:
        """The new delivery's id once committed; None for a duplicate.

        :class:`CommitTimeout` after ``commit_timeout`` seconds (a blocked or stalled
        database); the connection's errors as they come.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        self._waiting.append((row, future))
        if self._idle:
            _resolve(self._idle.pop())
        elif self._running < self.writers:
            self._running += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # A timer per request, not asyncio.timeout: that costs a task cancellation to fire
        # and more to arm, on every request's path.
        timer = loop.call_later(self.commit_timeout, _expire, future, self.commit_timeout)
        try:
            return await future
        finally:
            timer.cancel()

    async def _drain(self) -> None:
        # A writer lives while rows wait, and ``linger`` seconds more, so no task outlives
        # the requests that need it for long. It keeps its connection meanwhile: taking one
        # from the pool costs a round trip (the pool's check) and two switches of
        # autocommit, and under load the next rows come within a millisecond of a commit.
        try:
            while self._waiting:
                try:
                    async with store.connection(self.database, within=self.timeout) as conn:
                        await conn.set_autocommit(True)
                        try:
                            while not conn.closed and (self._waiting or await self._more()):
                                await self._commit(conn, self._take())
                        finally:
                            if not conn.closed:
                                await conn.set_autocommit(False)
                except StoreUnavailable as exc:  # no connection within the timeout, or lost
                    _fail(self._take(), exc)
        finally:
            self._running -= 1

    async def _more(self) -> bool:
        """Wait up to ``linger`` seconds for rows; whether some are waiting."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        self._idle.append(woken)
        timer = loop.call_later(self.linger, _resolve, woken)
        try:
            await woken
        finally:
            timer.cancel()
            if woken in self._idle:
                self._idle.remove(woken)
        return bool(self._waiting)

    def _take(self) -> Batch:
        # A row whose request gave up (its future is done) is not written.
        batch = [item for item in self._waiting[: self.max_batch] if not item[1].done()]
        del self._waiting[: self.max_batch]
        return batch

    async def _commit(self, conn: Connection, batch: Batch) -> None:
        # One statement per commit whatever the batch size (a row each cost a round trip),
        # in autocommit: a single statement is its own transaction, and BEGIN and COMMIT
        # were two more round trips per commit.
        if not batch:
            return
        try:
            ids = await store.insert_deliveries(conn, [row for row, _ in batch])
        except StoreUnavailable as exc:
            _fail(batch, exc)
            return
        except StoreError as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            # One bad row must not refuse the others: write them one by one.
            for item in batch:
                await self._commit(conn, [item])
            return
        except BaseException as exc:  # cancellation
            _fail(batch, exc)
            raise
        for (_, future), delivery_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(delivery_id)


def _expire(future: asyncio.Future[int | None], seconds: float) -> None:
    if not future.done():
        future.set_exception(CommitTimeout(f"the delivery was not committed within {seconds} s"))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail(batch: Batch, exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc if isinstance(exc, Exception) else
                                 StoreUnavailable("the write was cancelled"))
