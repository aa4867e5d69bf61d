"""Job queues compared: procrastinate against pgqueuer, on this machine, on a real PostgreSQL.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        uv run --group bench python bench/jobs.py [--only speed|features]

Measures, for each library (pgqueuer twice: with its psycopg driver, the platform's, and with
its asyncpg driver), with the same no-op job and the same worker processes:
- jobs deferred per second, one ``defer`` call per job and in batches of 1000;
- jobs completed per second by 1 and by 4 worker processes draining a pre-filled queue;
- latency from the ``defer`` call to the job starting, at a fixed moderate rate, 1 worker;
then checks the features the platform needs by running them: retries with backoff, a job
scheduled for later, per-key serialisation, periodic jobs, a worker killed with SIGKILL whose
job runs again elsewhere, and a defer inside a transaction that rolls back.

Every measurement runs in its own scratch database (copied from a per-library template) that
the script drops at the end; each one is bounded in time, the whole run takes 3 to 5 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing as mp
import os
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import version
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Self

import asyncpg  # type: ignore[import-untyped]
import procrastinate
import psycopg
from pgqueuer import DatabaseRetryEntrypointExecutor, PgQueuer, PsycopgDriver, Queries
from pgqueuer.errors import DuplicateJobError
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

# pgqueuer is run with both of its drivers: psycopg (the platform's driver) and asyncpg (its
# documented default), because its psycopg driver holds the connection while it waits for
# notifications, which shows in every delay-bound figure.
LIBS = ("procrastinate", "pgqueuer", "pgqueuer-asyncpg")
BATCH = 1000
PREFILL = 8_000           # jobs waiting when the workers start; more than a window drains here
DRAIN_WINDOW = 6.0        # seconds each throughput run may last
DEFER_WINDOW = 3.0        # seconds each defer run may last
# The latency run offers a fixed rate well below what the slower library completes with one
# worker on this machine (a fixed figure would measure a growing backlog on a slow or busy
# machine, not latency): a third of it, within these bounds, for enough samples for a p99.
LATENCY_RATE = (5.0, 100.0)
LATENCY_SAMPLES = 150
LATENCY_MAX_SECONDS = 20.0
CONCURRENCY = 10          # jobs in flight per worker process (procrastinate concurrency,
                          # pgqueuer batch_size: its default)
RETRY_BASE = 0.5          # seconds; backoff doubles each try
LATER = 1.5               # seconds a job is scheduled ahead
STALLED = 2.0             # seconds without heartbeat after which a worker counts as dead


# ---------------------------------------------------------------------------------------------
# Worker processes: one function per library, run in a spawned process.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    periodic: bool = False
    # Seconds between polls when no notification arrives: procrastinate's
    # fetch_job_polling_interval (default 5), pgqueuer's dequeue_timeout (default 30).
    # None keeps the library's default.
    poll: float | None = None
    recover_stalled: bool = False


def worker_main(lib: str, url: str, opts: WorkerOptions, pipes: tuple[Any, Any, Any]) -> None:
    """Entry point of a worker process: register the bench tasks, wait for ``go``, run.

    ``pipes`` is (a queue the tasks report to, an event set once ready, the ``go`` event).
    """
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    q, ready, go = pipes
    with contextlib.suppress(KeyboardInterrupt):
        if lib == "procrastinate":
            asyncio.run(_run_procrastinate_worker(url, opts, q, ready, go))
        else:
            asyncio.run(_run_pgqueuer_worker(url, opts, q, ready, go,
                                             asyncpg_driver=lib == "pgqueuer-asyncpg"))


async def connect_asyncpg(url: str) -> Any:
    params = conninfo_to_dict(url)
    return await asyncpg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"),
        password=params.get("password"), database=params.get("dbname"),
    )


async def _wait_event(event: Any) -> None:
    while not event.is_set():  # noqa: ASYNC110 - a multiprocessing Event has no async wait
        await asyncio.sleep(0.005)


async def _keyed(q: Any, i: int, key: str) -> None:
    start = time.time()
    await asyncio.sleep(0.05)
    q.put(("span", i, key, start, time.time()))


async def _run_procrastinate_worker(  # noqa: C901 - one nested function per bench task
    url: str, opts: WorkerOptions, q: Any, ready: Any, go: Any
) -> None:
    class Backoff(procrastinate.BaseRetryStrategy):
        def get_retry_decision(self, *, exception: BaseException, job: Any) -> Any:  # noqa: ARG002 - procrastinate's signature
            if job.attempts >= 3:
                return None
            return procrastinate.RetryDecision(
                retry_in={"seconds": RETRY_BASE * 2**job.attempts}
            )

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    @app.task(name="stamp")
    async def stamp(i: int, t: float) -> None:
        q.put(("start", i, t, time.time(), os.getpid()))

    @app.task(name="flaky", retry=Backoff(), pass_context=True)
    async def flaky(context: Any, i: int) -> None:
        q.put(("attempt", i, context.job.attempts, time.time()))
        if context.job.attempts < 2:
            raise RuntimeError("fails twice, then succeeds")

    @app.task(name="keyed")
    async def keyed(i: int, key: str) -> None:
        await _keyed(q, i, key)

    @app.task(name="hang")
    async def hang(i: int) -> None:
        q.put(("start", i, 0.0, time.time(), os.getpid()))
        await asyncio.sleep(60)

    if opts.periodic:
        # A sixth cron field is seconds (croniter), so the check needs no minute-long wait.
        @app.periodic(cron="* * * * * *", periodic_id="tick")
        @app.task(name="tick")
        async def tick(timestamp: int) -> None:
            q.put(("tick", time.time(), timestamp))

    async def recover() -> None:
        # procrastinate documents this recipe: find jobs of workers without heartbeat, retry.
        while True:
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED):
                await app.job_manager.retry_job(job)
            await asyncio.sleep(0.25)

    async with app.open_async():
        ready.set()
        await _wait_event(go)
        tasks = [asyncio.create_task(recover())] if opts.recover_stalled else []
        await app.run_worker_async(
            concurrency=CONCURRENCY,
            wait=True,
            install_signal_handlers=False,
            listen_notify=True,
            fetch_job_polling_interval=5.0 if opts.poll is None else opts.poll,
            update_heartbeat_interval=STALLED / 4,
            stalled_worker_timeout=STALLED,
        )
        for task in tasks:
            task.cancel()


async def _run_pgqueuer_worker(  # noqa: C901 - one nested function per bench task
    url: str, opts: WorkerOptions, q: Any, ready: Any, go: Any, *, asyncpg_driver: bool
) -> None:
    if asyncpg_driver:
        pgq = PgQueuer.from_asyncpg_connection(await connect_asyncpg(url))
    else:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        pgq = PgQueuer.from_psycopg_connection(conn)

    @pgq.entrypoint("noop")
    async def noop(_job: Any) -> None:
        return None

    @pgq.entrypoint("stamp")
    async def stamp(job: Any) -> None:
        args = json.loads(job.payload)
        q.put(("start", args["i"], args["t"], time.time(), os.getpid()))

    def backoff(params: Any) -> DatabaseRetryEntrypointExecutor:
        return DatabaseRetryEntrypointExecutor(
            parameters=params, max_attempts=3, initial_delay=timedelta(seconds=RETRY_BASE)
        )

    @pgq.entrypoint("flaky", executor_factory=backoff)
    async def flaky(job: Any) -> None:
        q.put(("attempt", json.loads(job.payload)["i"], job.attempts, time.time()))
        if job.attempts < 2:
            raise RuntimeError("fails twice, then succeeds")

    # pgqueuer has no per-key lock; its closest tool is a concurrency limit per entrypoint.
    @pgq.entrypoint("keyed", concurrency_limit=1)
    async def keyed(job: Any) -> None:
        args = json.loads(job.payload)
        await _keyed(q, args["i"], args["key"])

    @pgq.entrypoint("hang")
    async def hang(job: Any) -> None:
        q.put(("start", json.loads(job.payload)["i"], 0.0, time.time(), os.getpid()))
        await asyncio.sleep(60)

    if opts.periodic:
        @pgq.schedule("tick", "* * * * * *")
        async def tick(schedule: Any) -> None:
            q.put(("tick", time.time(), schedule.next_run.timestamp()))

    ready.set()
    await _wait_event(go)
    await pgq.run(
        batch_size=CONCURRENCY,
        # A short heartbeat timeout only where the check needs it: a job whose heartbeat is
        # late (this driver's can be, see LIBS) would otherwise be re-picked while it runs.
        heartbeat_timeout=timedelta(seconds=STALLED if opts.recover_stalled else 30),
        dequeue_timeout=timedelta(seconds=30 if opts.poll is None else opts.poll),
    )


# ---------------------------------------------------------------------------------------------
# The deferring side, in this process.
# ---------------------------------------------------------------------------------------------

class Client:
    """Defers jobs with one library's public API."""

    lib: str

    def __init__(self, url: str) -> None:
        self.url = url

    async def install(self) -> None: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def defer(self, task: str, args: dict[str, Any], *, lock: str | None = None,
                    dedupe: str | None = None, delay: float | None = None) -> None: ...
    async def defer_batch(self, task: str, args: list[dict[str, Any]]) -> None: ...
    async def defer_in_rolled_back_transaction(self) -> None: ...
    def completed_sql(self) -> str:
        raise NotImplementedError


class ProcrastinateClient(Client):
    lib = "procrastinate"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    async def install(self) -> None:
        async with self.app.open_async():
            await self.app.schema_manager.apply_schema_async()

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()

    async def defer(self, task: str, args: dict[str, Any], *, lock: str | None = None,
                    dedupe: str | None = None, delay: float | None = None) -> None:
        options: dict[str, Any] = {"lock": lock, "queueing_lock": dedupe}
        if delay:
            options["schedule_in"] = {"seconds": delay}
        await self.app.configure_task(task, **options).defer_async(**args)

    async def defer_batch(self, task: str, args: list[dict[str, Any]]) -> None:
        await self.app.configure_task(task).batch_defer_async(*args)

    async def defer_in_rolled_back_transaction(self) -> None:
        # configure(connection=...) runs the INSERT on the caller's connection (since 3.x).
        async with self.app.open_async(), await psycopg.AsyncConnection.connect(self.url) as conn:
            with contextlib.suppress(_RollbackError):
                async with conn.transaction():
                    await self.app.configure_task("noop", connection=conn).defer_async()
                    raise _RollbackError

    def completed_sql(self) -> str:
        return "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"


class PgqueuerClient(Client):
    lib = "pgqueuer"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.conn: Any = None
        self.queries: Any = None

    async def _connect(self) -> Any:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        return conn, Queries(PsycopgDriver(conn))

    async def install(self) -> None:
        conn, queries = await self._connect()
        async with conn:
            await queries.install()

    async def open(self) -> None:
        self.conn, self.queries = await self._connect()

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def defer(self, task: str, args: dict[str, Any], *, lock: str | None = None,
                    dedupe: str | None = None, delay: float | None = None) -> None:
        assert lock is None, "pgqueuer has no per-key lock"
        await self.queries.enqueue(
            task,
            json.dumps(args).encode(),
            execute_after=timedelta(seconds=delay) if delay else None,
            dedupe_key=dedupe,
        )

    async def defer_batch(self, task: str, args: list[dict[str, Any]]) -> None:
        await self.queries.enqueue(
            [task] * len(args), [json.dumps(a).encode() for a in args], [0] * len(args)
        )

    async def defer_in_rolled_back_transaction(self) -> None:
        # The driver wants an autocommit connection; an explicit transaction block still
        # groups the caller's writes and the enqueue into one commit.
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            with contextlib.suppress(_RollbackError):
                async with conn.transaction():
                    await Queries(PsycopgDriver(conn)).enqueue("noop", None)
                    raise _RollbackError

    def completed_sql(self) -> str:
        # Finished jobs leave the queue table (they are logged elsewhere).
        return f"SELECT {PREFILL} - count(*) FROM pgqueuer"


class PgqueuerAsyncpgClient(PgqueuerClient):
    lib = "pgqueuer-asyncpg"

    async def _connect(self) -> Any:
        conn = await connect_asyncpg(self.url)
        return _AsyncpgClosing(conn), Queries.from_asyncpg_connection(conn)

    async def defer_in_rolled_back_transaction(self) -> None:
        conn = await connect_asyncpg(self.url)
        try:
            with contextlib.suppress(_RollbackError):
                async with conn.transaction():
                    await Queries.from_asyncpg_connection(conn).enqueue("noop", None)
                    raise _RollbackError
        finally:
            await conn.close()


@dataclass(slots=True)
class _AsyncpgClosing:
    """An asyncpg connection that, like psycopg's, is an async context manager."""

    conn: Any

    async def close(self) -> None:
        await self.conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _RollbackError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Scratch databases and worker processes.
# ---------------------------------------------------------------------------------------------

def _context() -> Any:
    # Workers fork from a server that has imported the libraries once: a fresh interpreter
    # per worker would spend seconds importing them (longer on a busy machine), and no worker
    # inherits this process's connections or event loop, as a plain fork would.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["psycopg", "procrastinate", "pgqueuer", "asyncpg"])
    return ctx


@dataclass(slots=True)
class Bench:
    admin_url: str
    prefix: str = field(default_factory=lambda: f"crossdock_bench_{os.getpid()}")
    templates: list[str] = field(default_factory=list)
    scratches: list[str] = field(default_factory=list)
    counter: int = 0
    ctx: Any = field(default_factory=_context)

    def url(self, name: str) -> str:
        return make_conninfo(self.admin_url, dbname=name)

    async def _admin(self, statement: sql.Composed) -> None:
        async with await psycopg.AsyncConnection.connect(self.admin_url, autocommit=True) as c:
            await c.execute(statement)

    async def template(self, client_class: type[Client]) -> str:
        name = f"{self.prefix}_{client_class.lib}"
        await self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.templates.append(name)
        await client_class(self.url(name)).install()
        return name

    async def scratch(self, template: str) -> str:
        """A fresh database with the library's schema, for one measurement."""
        self.counter += 1
        name = f"{self.prefix}_{self.counter}"
        await self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
        self.scratches.append(name)
        return self.url(name)

    async def _drop(self, names: list[str]) -> None:
        for name in names:
            await self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        names.clear()

    async def drop_scratch(self) -> None:
        await self._drop(self.scratches)

    async def drop_templates(self) -> None:
        await self._drop(self.templates)

    @contextlib.asynccontextmanager
    async def workers(self, lib: str, url: str, n: int, opts: WorkerOptions | None = None,
                      *, start: bool = True) -> AsyncIterator[Workers]:
        """``n`` worker processes, imported and connected; running once ``go`` is set."""
        q, go = self.ctx.Queue(), self.ctx.Event()
        procs = []
        for _ in range(n):
            ready = self.ctx.Event()
            p = self.ctx.Process(target=worker_main,
                                 args=(lib, url, opts or WorkerOptions(), (q, ready, go)))
            p.start()
            procs.append((p, ready))
        workers = Workers(q=q, go=go, procs=[p for p, _ in procs])
        try:
            deadline = time.monotonic() + 30
            for p, ready in procs:
                while not ready.is_set():
                    if not p.is_alive() or time.monotonic() > deadline:
                        raise RuntimeError(f"a {lib} worker did not start (exit {p.exitcode})")
                    await asyncio.sleep(0.01)
            if start:
                go.set()
            yield workers
        finally:
            for p in workers.procs:
                p.terminate()
            deadline = time.monotonic() + 5
            # Not join(): the feature checks share this event loop.
            while any(p.is_alive() for p in workers.procs) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            for p in workers.procs:
                if p.is_alive():
                    p.kill()
                p.join()


@dataclass(slots=True)
class Workers:
    q: Any
    go: Any
    procs: list[Any]
    messages: list[tuple[Any, ...]] = field(default_factory=list)

    def drain(self) -> list[tuple[Any, ...]]:
        while True:
            try:
                self.messages.append(self.q.get_nowait())
            except Exception:  # queue.Empty, under a name private to multiprocessing
                return self.messages

    async def until(self, done: Callable[[list[tuple[Any, ...]]], bool], within: float) -> bool:
        deadline = time.monotonic() + within
        while not done(self.drain()):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True


# ---------------------------------------------------------------------------------------------
# Measurements.
# ---------------------------------------------------------------------------------------------

async def measure_defers(client: Client) -> tuple[float, float]:
    await client.open()
    try:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < DEFER_WINDOW:
            await client.defer("noop", {})
            n += 1
        single = n / (time.perf_counter() - start)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < DEFER_WINDOW:
            await client.defer_batch("noop", [{}] * BATCH)
            n += BATCH
        batch = n / (time.perf_counter() - start)
    finally:
        await client.close()
    return single, batch


async def measure_drain(bench: Bench, client: Client, n_workers: int) -> float:
    await client.open()
    try:
        for _ in range(PREFILL // BATCH):
            await client.defer_batch("noop", [{}] * BATCH)
    finally:
        await client.close()
    async with (
        await psycopg.AsyncConnection.connect(client.url, autocommit=True) as conn,
        bench.workers(client.lib, client.url, n_workers, start=False) as workers,
    ):
        start = time.perf_counter()
        workers.go.set()
        done = 0
        while time.perf_counter() - start < DRAIN_WINDOW and done < PREFILL:
            await asyncio.sleep(0.05)
            row = await (await conn.execute(client.completed_sql())).fetchone()
            done = row[0] if row else 0
        return done / (time.perf_counter() - start)


def latency_rate(one_worker_rates: list[float]) -> tuple[float, int]:
    """The rate (jobs/s) and the number of jobs of the latency run."""
    low, high = LATENCY_RATE
    rate = max(low, min(high, min(one_worker_rates, default=high) / 3))
    return rate, int(min(LATENCY_SAMPLES, rate * LATENCY_MAX_SECONDS))


async def measure_latency(bench: Bench, client: Client, rate: float, total: int
                          ) -> dict[str, float]:
    await client.open()
    try:
        async with bench.workers(client.lib, client.url, 1) as workers:
            await asyncio.sleep(0.5)  # let the worker reach its LISTEN before the first job
            start = time.perf_counter()
            for i in range(total):
                await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                await client.defer("stamp", {"i": i, "t": time.time()})
            await workers.until(lambda m: len(m) >= total, within=15)
            starts = [m for m in workers.drain() if m[0] == "start"]
    finally:
        await client.close()
    latencies = sorted((m[3] - m[2]) * 1000 for m in starts)
    cut = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cut[49], "p95": cut[94], "p99": cut[98], "rate": rate,
            "ran": len(starts), "distinct": len({m[1] for m in starts}), "deferred": total}


# ---------------------------------------------------------------------------------------------
# Feature checks: each returns a short verdict that goes into the table.
# ---------------------------------------------------------------------------------------------

async def check_retries(bench: Bench, client: Client) -> str:
    await client.open()
    try:
        async with bench.workers(client.lib, client.url, 1, _timer_poll(client)) as workers:
            await client.defer("flaky", {"i": 1})
            await workers.until(lambda m: len(m) >= 3, within=20)
            tries = sorted(m[3] for m in workers.drain() if m[0] == "attempt")
    finally:
        await client.close()
    if len(tries) < 3:
        return f"NO: {len(tries)} tries seen"
    gaps = [b - a for a, b in pairwise(tries)]
    asked = [RETRY_BASE, RETRY_BASE * 2]
    # Not earlier than asked; how much later is the worker's wake-up delay, shown as is.
    ok = all(g >= a * 0.95 for g, a in zip(gaps, asked, strict=True))
    return (f"{'yes' if ok else 'NO'}: 3 tries, asked "
            + "/".join(f"{a:.1f}" for a in asked) + " s, waited "
            + "/".join(f"{g:.2f}" for g in gaps) + " s")


async def check_later(bench: Bench, client: Client) -> str:
    await client.open()
    try:
        async with bench.workers(client.lib, client.url, 1, _timer_poll(client)) as workers:
            await asyncio.sleep(0.3)
            t = time.time()
            await client.defer("stamp", {"i": 1, "t": t}, delay=LATER)
            await workers.until(lambda m: len(m) >= 1, within=LATER + 8)
            starts = [m for m in workers.drain() if m[0] == "start"]
    finally:
        await client.close()
    if not starts:
        return "NO: never ran"
    waited = starts[0][3] - t
    ok = waited >= LATER - 0.05
    return f"{'yes' if ok else 'NO'}: asked {LATER:.1f} s, ran after {waited:.2f} s"


def _timer_poll(client: Client) -> WorkerOptions:
    # procrastinate finds a job whose time has come only when it polls (5 s by default, too
    # coarse for a check of seconds); pgqueuer sleeps until the next job is due by itself.
    return WorkerOptions(poll=0.5 if client.lib == "procrastinate" else None)


def _overlaps(spans: list[tuple[float, float]]) -> int:
    spans = sorted(spans)
    return sum(1 for (_, end), (start, _) in pairwise(spans) if start < end)


def _cross_overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


async def check_keyed(bench: Bench, client: Client) -> str:
    """Two workers x CONCURRENCY slots; 8 jobs on key A, 8 on key B, 50 ms each."""
    per_key = 8
    keyed = client.lib == "procrastinate"
    await client.open()
    try:
        async with bench.workers(client.lib, client.url, 2, WorkerOptions(poll=0.25)) as workers:
            began = time.time()
            for i in range(per_key * 2):
                key = "AB"[i % 2]
                await client.defer("keyed", {"i": i, "key": key}, lock=key if keyed else None)
            await workers.until(lambda m: len(m) >= per_key * 2, within=15)
            spans = [m for m in workers.drain() if m[0] == "span"]
            took = max((m[4] for m in spans), default=began) - began
            rejected = 0
            if not keyed:
                # Its dedupe_key refuses a second job while one with that key waits or runs.
                for i in range(2):
                    try:
                        await client.defer("noop", {"i": i}, dedupe="A")
                    except DuplicateJobError:
                        rejected += 1
    finally:
        await client.close()
    by_key = {k: [(m[3], m[4]) for m in spans if m[2] == k] for k in "AB"}
    same = _overlaps(by_key["A"]) + _overlaps(by_key["B"])
    cross = _cross_overlap(by_key["A"], by_key["B"])
    ran, twice = len(spans), len(spans) - len({m[1] for m in spans})
    done = f"{ran}/{per_key * 2} ran in {took:.1f} s ({twice} twice)"
    if keyed:
        ok = same == 0 and cross and ran == per_key * 2 and twice == 0
        return (f"{'yes' if ok else 'NO'}: {done}, same-key overlaps {same}, "
                f"keys A and B {'in parallel' if cross else 'never in parallel'}")
    return (f"NO per-key lock. concurrency_limit=1 serialises the whole entrypoint: {done}, "
            f"same-key overlaps {same}, A/B {'in parallel' if cross else 'never in parallel'}; "
            f"dedupe_key refused {rejected}/2 jobs instead of queueing them")


async def check_periodic(bench: Bench, client: Client) -> str:
    window = 4.5
    async with bench.workers(client.lib, client.url, 2, WorkerOptions(periodic=True)) as workers:
        await asyncio.sleep(window)
        ticks = [m for m in workers.drain() if m[0] == "tick"]
    once = len({m[2] for m in ticks}) == len(ticks)  # m[2] names the cron tick
    ok = len(ticks) >= 1 and once
    return (f"{'yes' if ok else 'NO'}: every-second cron, 2 workers, {len(ticks)} runs in "
            f"{window:.1f} s, {'once' if once else 'MORE THAN ONCE'} per tick")


async def check_stalled(bench: Bench, client: Client) -> str:
    opts = WorkerOptions(recover_stalled=True, poll=STALLED / 4)
    await client.open()
    try:
        async with bench.workers(client.lib, client.url, 1, opts) as first:
            await client.defer("hang", {"i": 1})
            if not await first.until(lambda m: len(m) >= 1, within=10):
                return "NO: the job never started"
            async with bench.workers(client.lib, client.url, 1, opts) as second:
                await asyncio.sleep(0.3)
                os.kill(first.procs[0].pid, signal.SIGKILL)
                killed = time.time()
                rerun = await second.until(lambda m: len(m) >= 1, within=STALLED * 5)
                after = second.drain()[0][3] - killed if rerun else None
    finally:
        await client.close()
    if after is None:
        return f"NO: not run again within {STALLED * 5:.0f} s of SIGKILL"
    how = ("our loop over get_stalled_jobs/retry_job" if client.lib == "procrastinate"
           else "built in: heartbeat_timeout re-pick")
    return f"yes ({how}): ran again {after:.2f} s after SIGKILL, timeout {STALLED:.0f} s"


async def check_transaction(_bench: Bench, client: Client) -> str:
    await client.defer_in_rolled_back_transaction()
    async with await psycopg.AsyncConnection.connect(client.url) as conn:
        table = "procrastinate_jobs" if client.lib == "procrastinate" else "pgqueuer"
        row = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
    left = row[0] if row else -1
    return f"{'yes' if left == 0 else 'NO'}: rolled back, {left} job left"


CHECKS: dict[str, Callable[[Bench, Client], Any]] = {
    "retries with backoff": check_retries,
    "scheduled for later": check_later,
    "per-key serialisation": check_keyed,
    "periodic jobs": check_periodic,
    "stalled-worker recovery": check_stalled,
    "defer in caller's transaction": check_transaction,
}


# ---------------------------------------------------------------------------------------------

CLASSES: dict[str, type[Client]] = {
    "procrastinate": ProcrastinateClient,
    "pgqueuer": PgqueuerClient,
    "pgqueuer-asyncpg": PgqueuerAsyncpgClient,
}


@dataclass(slots=True)
class Run:
    """One run of the bench: its databases, its clock, its results."""

    bench: Bench
    templates: dict[str, str] = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)
    figures: dict[str, dict[str, float]] = field(default_factory=lambda: {x: {} for x in LIBS})
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    verdicts: dict[str, dict[str, str]] = field(default_factory=lambda: {x: {} for x in LIBS})

    def step(self, what: str) -> None:
        print(f"{time.perf_counter() - self.began:6.1f} s  {what}", file=sys.stderr)

    async def fresh(self, lib: str) -> Client:
        if lib not in self.templates:
            self.templates[lib] = await self.bench.template(CLASSES[lib])
        return CLASSES[lib](await self.bench.scratch(self.templates[lib]))

    # Each measurement runs for every library back to back, so that a change in the load of
    # this machine hits them alike; feature checks run side by side, they time nothing tight.
    async def speed(self) -> None:
        for lib in LIBS:
            self.step(f"[{lib}] defers")
            single, batch = await measure_defers(await self.fresh(lib))
            self.figures[lib]["defer/s (single)"] = single
            self.figures[lib][f"defer/s (batch of {BATCH})"] = batch
            await self.bench.drop_scratch()
        for n in (1, 4):
            for lib in LIBS:
                self.step(f"[{lib}] drain with {n} worker(s)")
                rate = await measure_drain(self.bench, await self.fresh(lib), n)
                self.figures[lib][f"done/s ({n} worker{'s' if n > 1 else ''})"] = rate
                await self.bench.drop_scratch()
        rate, total = latency_rate([self.figures[lib]["done/s (1 worker)"] for lib in LIBS])
        for lib in LIBS:
            self.step(f"[{lib}] latency, {total} jobs at {rate:.0f}/s")
            self.latency[lib] = await measure_latency(
                self.bench, await self.fresh(lib), rate, total)
            await self.bench.drop_scratch()

    async def features(self) -> None:
        for name, check in CHECKS.items():
            self.step(f"[all] {name}")
            clients = [await self.fresh(lib) for lib in LIBS]
            results = await asyncio.gather(*(check(self.bench, c) for c in clients))
            for lib, verdict in zip(LIBS, results, strict=True):
                self.verdicts[lib][name] = verdict
            await self.bench.drop_scratch()


async def run(admin_url: str, only: str | None) -> int:
    load_start = os.getloadavg()[0]
    bench = Bench(admin_url)
    this = Run(bench)
    try:
        if only in (None, "speed"):
            await this.speed()
        if only in (None, "features"):
            await this.features()
    finally:
        await bench.drop_scratch()
        await bench.drop_templates()
    report(this.figures, this.latency, this.verdicts)
    print(f"\n(whole run: {time.perf_counter() - this.began:.0f} s; {os.cpu_count()} CPUs; "
          f"load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
          f"PostgreSQL on {conninfo_to_dict(admin_url).get('host', 'a local socket')}; "
          f"procrastinate {version('procrastinate')}, pgqueuer {version('pgqueuer')}, "
          f"psycopg {version('psycopg')}, asyncpg {version('asyncpg')})")
    return 0


def report(figures: dict[str, dict[str, float]], latency: dict[str, dict[str, float]],
           verdicts: dict[str, dict[str, str]]) -> None:
    base, *others = LIBS
    if figures[base]:
        head = " | ".join(LIBS)
        ratios = " | ".join(f"{o} / {base}" for o in others)
        print(f"\n| measure | {head} | {ratios} |\n|---|" + "---:|" * (2 * len(LIBS) - 1))
        for key, value in figures[base].items():
            row = [figures[lib][key] for lib in LIBS]
            print(f"| {key} | " + " | ".join(f"{v:,.0f}" for v in row) + " | "
                  + " | ".join(f"{v / value:.2f}x" for v in row[1:]) + " |")
        for p in ("p50", "p95", "p99"):
            row = [latency[lib][p] for lib in LIBS]
            print(f"| defer-to-start {p} (ms) | " + " | ".join(f"{v:.1f}" for v in row) + " | "
                  + " | ".join(f"{v / row[0]:.2f}x" for v in row[1:]) + " |")
        lat = latency[base]
        print(f"\nLatency: {lat['deferred']:.0f} jobs at {lat['rate']:.0f}/s "
              f"(a third of the slower one-worker rate), 1 worker process; "
              + "; ".join(f"{lib} ran {latency[lib]['ran']:.0f} of {latency[lib]['deferred']:.0f}"
                          f" ({latency[lib]['distinct']:.0f} distinct)" for lib in LIBS))
        print(f"Workers: separate processes, {CONCURRENCY} jobs in flight each; "
              f"throughput drains {PREFILL:,} queued no-op jobs for at most {DRAIN_WINDOW:.0f} s.")
    if verdicts[base]:
        print(f"\n| feature | {' | '.join(LIBS)} |\n|---|" + "---|" * len(LIBS))
        for name in CHECKS:
            print(f"| {name} | " + " | ".join(verdicts[lib].get(name, "") for lib in LIBS) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["speed", "features"], default=None)
    args = parser.parse_args()
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return asyncio.run(run(url, args.only))


if __name__ == "__main__":
    sys.exit(main())
