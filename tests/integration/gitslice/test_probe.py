"""A new slice's repositories must answer ``git ls-remote``, and within a time limit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crossdock.gitslice.errors import GitCommandError, SliceConfigError
from crossdock.gitslice.remote import Remote, probe
from crossdock.gitslice.settings import GitSliceSettings
from crossdock.gitslice.syncer import Syncer

from .conftest import World

pytestmark = pytest.mark.anyio


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP address that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/app.git"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_repository_that_does_not_answer_fails_within_the_timeout(silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(GitCommandError, match=r"no answer within 0\.5 s"):
        probe(Remote.parse(silent_server), timeout=0.5)
    assert time.monotonic() - started < 5


def test_a_bare_repository_answers(world: World) -> None:
    probe(Remote.parse(str(world.upstream)), timeout=10)


async def test_init_refuses_a_slice_whose_repository_does_not_answer(
    world: World, syncer: Syncer, silent_server: str
) -> None:
    syncer = Syncer(syncer.store, data_dir=syncer.data_dir, probe_timeout=0.5)
    with pytest.raises(SliceConfigError, match=r"the slice repository .* cannot be reached"):
        await syncer.init(world.config(slice_url=silent_server))
    assert await syncer.store.all() == []


async def test_init_refuses_a_local_folder_that_is_not_a_repository(
    world: World, syncer: Syncer, tmp_path: Path
) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(SliceConfigError, match="does not appear to be a git repository"):
        await syncer.init(world.config(upstream_url=str(tmp_path / "plain")))


async def test_the_probe_timeout_setting_bounds_how_long_init_waits(
    world: World, syncer: Syncer, silent_server: str
) -> None:
    settings = GitSliceSettings.from_env({"CROSSDOCK_GITSLICE_PROBE_TIMEOUT": "0.5"})
    configured = Syncer.from_settings(syncer.store, settings, core_data_dir=world.tmp)
    started = time.monotonic()
    with pytest.raises(SliceConfigError, match=r"no answer within 0\.5 s"):
        await configured.init(world.config(slice_url=silent_server))
    assert time.monotonic() - started < 5
