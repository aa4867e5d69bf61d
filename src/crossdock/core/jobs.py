"""The job queue: procrastinate behind a small port (see docs/design/jobs.md for the choice).

Services register tasks with :meth:`JobQueue.task` and defer them with :meth:`JobQueue.defer`,
optionally inside the caller's own transaction. ``lock`` gives per-key serialisation: two jobs
with the same lock never run at once. Failed jobs retry after a :class:`Backoff`, or at the time a
:class:`RetryLater` names (a rate limit's reset); a job whose worker died (no heartbeat) is put
back in the queue by a periodic task. A task learns which try it is on from :func:`current_try`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Callable, Coroutine
from typing import Any

import procrastinate
import structlog

from crossdock.core.backoff import Backoff
from crossdock.core.database import Connection
from crossdock.core.errors import JobError, RetryLater
from crossdock.core.logging import get_logger

logger = get_logger("crossdock.jobs")

Task = Callable[..., Coroutine[Any, Any, Any]]

#: Seconds without a heartbeat after which a worker counts as dead and its jobs are retried.
STALLED_AFTER = 30.0

#: A worker hears of each new job at once (LISTEN/NOTIFY); it also looks this often for jobs
#: no notification announces: scheduled ones, due retries, locks released elsewhere.
FETCH_POLL_SECONDS = 1.0


#: A job's retries unless its task says otherwise: 8 tries, 2 s, 4 s, 8 s, ... apart, capped at
#: an hour, without jitter (a task that fails with many others at once passes one with jitter).
JOB_RETRY = Backoff(max_tries=8, base_seconds=2.0, max_seconds=3600.0, jitter=0.0)


_try: contextvars.ContextVar[int] = contextvars.ContextVar("crossdock_job_try", default=1)
_job: contextvars.ContextVar[int | None] = contextvars.ContextVar("crossdock_job", default=None)


def current_try() -> int:
    """The try the running job is on: 1 for its first (also outside any job)."""
    return _try.get()


def current_job() -> int | None:
    """The running job's id (None outside any job)."""
    return _job.get()


def retry_strategy(backoff: Backoff) -> procrastinate.BaseRetryStrategy:
    """``backoff`` as procrastinate's retry strategy."""
    return _BackoffRetry(backoff)


class _BackoffRetry(procrastinate.BaseRetryStrategy):
    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> procrastinate.RetryDecision | None:
        # procrastinate counts the tries before this one: this failure is try attempts + 1.
        delay = self.backoff.delay(job.attempts + 1)
        if delay is None:
            return None
        retry_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay)
        if isinstance(exception, RetryLater):
            # Sooner would fail again for the same reason; the try still counts, so a reset
            # that never comes cannot keep the job forever.
            retry_at = max(retry_at, exception.retry_at)
        return procrastinate.RetryDecision(retry_at=retry_at)


def _logged(name: str, func: Task) -> Task:
    """``func`` as procrastinate runs it: ``job_id`` bound, and one line when it ends."""

    async def run(context: procrastinate.JobContext, **arguments: Any) -> Any:
        job = context.job
        # Every line the job writes, its handlers' included, says which job wrote it.
        with structlog.contextvars.bound_contextvars(job_id=job.id, task=name):
            token, running = _try.set(job.attempts + 1), _job.set(job.id)
            started = time.perf_counter()
            try:
                result = await func(**arguments)
            except Exception as exc:
                logger.warning("job_failed", attempts=job.attempts + 1,
                               duration_ms=round((time.perf_counter() - started) * 1000, 3),
                               error=f"{type(exc).__name__}: {exc}")
                raise
            finally:
                _try.reset(token)
                _job.reset(running)
            logger.info("job_done", attempts=job.attempts + 1,
                        duration_ms=round((time.perf_counter() - started) * 1000, 3))
            return result

    run.__name__ = run.__qualname__ = getattr(func, "__name__", name)
    return run


class JobQueue:
    """Defers and runs jobs stored in PostgreSQL."""

    def __init__(
        self, url: str, *, stalled_after: float = STALLED_AFTER, heartbeat_every: float = 5.0
    ) -> None:
        self.url = url
        self.stalled_after = stalled_after
        self.heartbeat_every = heartbeat_every
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=url),
            import_paths=[],
        )
        self._register_builtins()

    async def open(self) -> None:
        """Open the queue's own connection pool."""
        await self.app.open_async()

    async def close(self) -> None:
        """Close it."""
        await self.app.close_async()

    def task(
        self,
        name: str,
        *,
        queue: str = "default",
        retry: Backoff = JOB_RETRY,
    ) -> Callable[[Task], Task]:
        """Register an async function as the task ``name``."""

        def register(func: Task) -> Task:
            self.app.task(
                name=name,
                queue=queue,
                retry=retry_strategy(retry),
                pass_context=True,
            )(_logged(name, func))
            return func

        return register

    def periodic(self, name: str, *, cron: str) -> Callable[[Task], Task]:
        """Register an async function to run on a cron schedule (at most once per tick)."""

        def register(func: Task) -> Task:
            task = self.app.task(name=name, queue="periodic", retry=False,
                                 pass_context=True)(_logged(name, func))
            self.app.periodic(cron=cron, periodic_id=name)(task)
            return func

        return register

    def queues(self) -> set[str]:
        """The queues of the registered tasks."""
        return {task.queue for task in self.app.tasks.values()}

    async def defer(
        self,
        name: str,
        *,
        connection: Connection | None = None,
        lock: str | None = None,
        queueing_lock: str | None = None,
        delay_seconds: float | None = None,
        priority: int = 0,
        **arguments: Any,
    ) -> int:
        """Queue one run of task ``name``; with ``connection``, inside its transaction."""
        if name not in self.app.tasks:
            raise JobError(f"unknown task {name!r}")
        options: dict[str, Any] = {"lock": lock, "queueing_lock": queueing_lock,
                                   "priority": priority}
        if delay_seconds:
            options["schedule_in"] = {"seconds": delay_seconds}
        if connection is not None:
            # procrastinate runs the INSERT on the caller's connection, inside its
            # transaction, and nothing else of this process goes through it.
            options["connection"] = connection
        try:
            return await self.app.tasks[name].configure(**options).defer_async(**arguments)
        except procrastinate.exceptions.AlreadyEnqueued as exc:
            raise JobError(f"a job with queueing lock {queueing_lock!r} is already waiting") \
                from exc

    async def run_worker(
        self,
        *,
        concurrency: int = 4,
        queues: list[str] | None = None,
        wait: bool = True,
        name: str | None = None,
    ) -> None:
        """Run a worker until cancelled (or, with ``wait=False``, until the queue is empty)."""
        options: dict[str, Any] = {"queues": queues} if queues else {}
        if name:
            options["name"] = name
        await self.app.run_worker_async(
            concurrency=concurrency,
            wait=wait,
            install_signal_handlers=False,
            **options,
            update_heartbeat_interval=self.heartbeat_every,
            # The 5 s default left per-key jobs waiting (docs/design/jobs.md).
            fetch_job_polling_interval=FETCH_POLL_SECONDS,
            stalled_worker_timeout=self.stalled_after,
            listen_notify=True,
        )

    async def cancel(self, job_id: int) -> bool:
        """Cancel a queued job, or ask a running one to abort; False if it is neither."""
        manager = self.app.job_manager
        return bool(await manager.cancel_job_by_id_async(job_id, abort=True))

    async def retry_stalled_jobs(self) -> int:
        """Put back in the queue the jobs of workers that stopped sending heartbeats."""
        manager = self.app.job_manager
        stalled = list(
            await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after)
        )
        for job in stalled:
            logger.warning("job_stalled_retried", job_id=job.id, task=job.task_name)
            await manager.retry_job(job)
        return len(stalled)

    def _register_builtins(self) -> None:
        @self.periodic("crossdock.jobs.retry_stalled", cron="* * * * *")
        async def retry_stalled(timestamp: int) -> None:  # noqa: ARG001 (periodic jobs get it)
            await self.retry_stalled_jobs()
