"""Several gateway processes on one port (``--workers N``), for more than one CPU.

The parent loads the supergraph and checks the port once, then forks N children; each binds
its own socket with ``SO_REUSEPORT`` so the kernel spreads new connections evenly over them
(one shared accept socket lets one busy process take most keep-alive connections). The parent
only forwards SIGINT/SIGTERM and waits; when one child dies the others are stopped too, so a
supervisor (systemd, Kubernetes) sees the failure; when the parent dies, even by SIGKILL, the
children get SIGTERM from the kernel (Linux), so none serves on orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, NoReturn

from crossdock.core.logging import get_logger
from crossdock.core.server import bind

if TYPE_CHECKING:
    from collections.abc import Callable

log = get_logger("crossdock.gateway")

#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def reuseport_socket(host: str, port: int, *, option: str, listen: bool = True) -> socket.socket:
    """A socket bound with SO_REUSEPORT on ``host:port`` (listening unless told)."""
    return bind(host, port, option=option, reuse_port=True, listen=listen)


def run_workers(count: int, host: str, port: int, *, option: str,
                serve: Callable[[socket.socket], None]) -> int:
    """Fork ``count`` processes that each call ``serve`` on their own socket; the exit code."""
    # Bound but not listening: reserves the port (and picks one for port 0) without taking
    # any connection; the children's listening sockets share it.
    reservation = reuseport_socket(host, port, option=option, listen=False)
    port = reservation.getsockname()[1]
    children: list[int] = []
    stopping: list[bool] = []  # not empty once the parent has passed a stop on

    def stop(*_: object) -> None:
        stopping.append(True)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    # A stop that comes while the children are forked waits (blocked) until the parent's
    # handler is in place, so it reaches every child; each child unblocks at once and gets
    # its own handlers when its server starts.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    parent = os.getpid()
    try:
        for _ in range(count):
            pid = os.fork()
            if pid == 0:  # the child: serve, never return into the parent's code
                signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
                _stop_with(parent)
                _child(reservation, host, port, option=option, serve=serve)
            children.append(pid)
        log.info("gateway_workers_started", workers=count, pids=children, port=port)
        previous = {sig: signal.signal(sig, stop) for sig in stop_signals}
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    try:
        return _wait(children, stop, stopping)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reservation.close()


def _stop_with(parent: int) -> None:
    """Have the kernel send this child SIGTERM when the parent dies (Linux).

    A parent killed with SIGKILL (the OOM killer, ``kill -9``) cannot pass the stop on; without
    this its workers would serve on, orphaned, holding the port.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(0)


def _child(reservation: socket.socket, host: str, port: int, *, option: str,
           serve: Callable[[socket.socket], None]) -> NoReturn:
    """Serve in a forked child on a socket of its own; exit, never return."""
    code = 0
    try:
        reservation.close()
        serve(reuseport_socket(host, port, option=option))
    except BaseException:
        log.exception("gateway_worker_failed")
        code = 1
    os._exit(code)


def _wait(children: list[int], stop: Callable[[], None], stopping: list[bool]) -> int:
    """Wait for every child; once one has ended, stop the others. 1 if any failed.

    A child that the parent's SIGTERM ended before its server had set its own handlers (it was
    still starting) stopped as asked: that is not a failure.
    """
    status = 0
    remaining = set(children)
    while remaining:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        remaining.discard(pid)
        exit_code = os.waitstatus_to_exitcode(code)
        if exit_code != 0 and not (stopping and exit_code == -signal.SIGTERM):
            status = 1
        if remaining:
            stop()
    return status
