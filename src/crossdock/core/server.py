"""Serving ASGI apps with uvicorn inside our own event loop, several at once.

Sockets are bound here, before uvicorn starts, so a port in use becomes a clear
:class:`PortInUse` naming the port and the option that changes it. Signals are handled by the
caller (``crossdock up`` runs several servers and a worker in one loop).
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator

import uvicorn

from crossdock.core.asgi import ASGIApp
from crossdock.core.errors import ConfigError, PortInUse


def bind(
    host: str, port: int, *, option: str, reuse_port: bool = False, listen: bool = True
) -> socket.socket:
    """A TCP socket bound on ``host:port``; ``option`` is named if the port is taken.

    ``reuse_port`` lets several processes bind the same port (the kernel spreads connections
    over them); ``listen=False`` only reserves the port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OverflowError as exc:  # a port past 65535 that no option or setting refused
        sock.close()
        raise ConfigError(f"{option}: invalid port {port}: expected 0 to 65535") from exc
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is already in use; choose another with {option}"
            ) from exc
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    if listen:
        sock.listen(2048)
        sock.setblocking(False)  # noqa: FBT003
    return sock


class Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        """Ask the server to finish its requests and stop."""
        self.should_exit = True


def make_server(app: ASGIApp, *, lifespan: str = "off") -> Server:
    """A quiet uvicorn server for ``app`` (our structlog lines replace its access log)."""
    config = uvicorn.Config(
        app,
        lifespan=lifespan,  # type: ignore[arg-type]
        log_config=None,
        access_log=False,
        server_header=False,
        loop="none",
        timeout_graceful_shutdown=5,
    )
    return Server(config)
