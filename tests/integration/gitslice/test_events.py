"""GitSlice's events reach a team's endpoint: a pull publishes ``gitslice.slice.pulled`` on the
bus, the webhooks service sends it on as a message of the system application ``crossdock``,
and a real endpoint on 127.0.0.1 receives it signed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from crossdock.core.bus import Event
from crossdock.core.runtime import Runtime
from crossdock.core.settings import CoreSettings
from crossdock.gitslice.errors import IgnoredPathTouched
from crossdock.gitslice.jobs import syncer_for
from crossdock.gitslice.pushing import PushRequest
from crossdock.gitslice.service import service as gitslice
from crossdock.webhooks.outbound import operational
from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.relay import Relay
from crossdock.webhooks.outbound.service import Outbound
from crossdock.webhooks.service import service as webhooks
from tests.integration.webhooks.outbound.endpoints import Endpoint as Receiver
from tests.integration.webhooks.outbound.endpoints import serving
from tests.integration.webhooks.outbound.test_dispatcher import until, worker

from .conftest import World, drain
from .forgeworld import ForgeWorld, forge_world
from .gitrepos import git

pytestmark = pytest.mark.anyio

__all__ = ["forge_world"]


@pytest.fixture
async def both(database_url: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A runtime with the GitSlice and webhooks services."""
    monkeypatch.setenv("CROSSDOCK_GITSLICE_DATA_DIR", str(tmp_path / "data"))
    runtime = Runtime.create(CoreSettings(data_dir=tmp_path), database_url,
                             services=[gitslice, webhooks])
    await runtime.open()
    yield runtime
    await runtime.close()


async def test_a_slice_pull_reaches_a_crossdock_endpoint_as_a_signed_slice_pulled_message(
    world: World, both: Runtime,
) -> None:
    world.work.commit("base", {"a.txt": "1"})
    world.work.commit("more", {"b.txt": "2"})
    world.work.push()
    outbound = Outbound(both.database)
    await operational.install(outbound.store)
    async with serving(Receiver()) as pulls, serving(Receiver()) as pushes:
        endpoint = await outbound.add_endpoint("crossdock", EndpointSettings(
            url=pulls.url + "/hook", event_types=("gitslice.slice.pulled",)))
        await outbound.add_endpoint("crossdock", EndpointSettings(
            url=pushes.url + "/hook", event_types=("gitslice.push.completed",)))
        await syncer_for(both).init(world.config())
        await syncer_for(both).pull("demo")
        await drain(both)  # the bus: fan-out, then the relay to the outbound messages
        async with worker(both.database):
            await until(lambda: bool(pulls.received), timeout=15)
            await asyncio.sleep(0.2)  # time for a wrong delivery to the push endpoint
    [got] = pulls.received
    assert pushes.received == []
    body = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert body["type"] == "gitslice.slice.pulled"
    assert body["data"] == {
        "slice": "demo", "upstream_branch": "main",
        "upstream_head": git(world.upstream, "rev-parse", "main"),
        "slice_branch": "main", "slice_head": git(world.slice, "rev-parse", "main"),
        "commits": 2}
    [message] = await outbound.list_messages(app="crossdock")
    assert got.headers["webhook-id"] == message.uid


async def test_a_bus_event_handled_again_is_the_same_message(
    world: World, both: Runtime,
) -> None:
    world.work.commit("base", {"a.txt": "1"})
    world.work.push()
    await syncer_for(both).init(world.config())
    await syncer_for(both).pull("demo")
    await drain(both)
    async with both.database.connection() as conn:
        cursor = await conn.execute("SELECT * FROM crossdock_events"
                                    " WHERE event_type = 'gitslice.slice.pulled'")
        [row] = await cursor.fetchall()
    event = Event(id=row["id"], type=row["event_type"], key=row["key"],
                  payload=row["payload"], published_at=row["published_at"])
    async with both.database.transaction() as conn:
        await Relay(both.database)(event, conn)
    outbound = Outbound(both.database)
    [message] = await outbound.list_messages(app="crossdock")
    assert (message.event_type, message.payload["slice"]) == ("gitslice.slice.pulled", "demo")


async def _published(runtime: Runtime, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    async with runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT event_type, key, payload FROM crossdock_events"
            " WHERE event_type LIKE %(prefix)s ORDER BY id", {"prefix": prefix + "%"})
        return [(row["event_type"], row["key"], row["payload"])
                for row in await cursor.fetchall()]


async def test_a_refused_push_and_a_completed_one_are_published_on_the_bus(
    world: World, runtime: Runtime,
) -> None:
    syncer = syncer_for(runtime)
    world.work.commit("base", {"a.txt": "1", "secret.env": "x"})
    world.work.push()
    await syncer.init(world.config(ignores=("secret.env",)))
    await syncer.pull("demo")
    world.dev.fetch()
    world.dev.checkout("feature", create=True, start="origin/main")
    world.dev.commit("sneaky", {"secret.env": "y"})
    world.dev.push("feature")
    with pytest.raises(IgnoredPathTouched):
        await syncer.push("demo", PushRequest(branch="feature", message="m"))
    world.dev.checkout("good", create=True, start="origin/main")
    world.dev.commit("fine", {"b.txt": "2"})
    world.dev.push("good")
    plan = await syncer.push("demo", PushRequest(branch="good", message="feat: b"))
    [refused, completed] = await _published(runtime, "gitslice.push.")
    assert refused[:2] == ("gitslice.push.refused", "demo")
    assert refused[2]["branch"] == "feature"
    assert "secret.env" in refused[2]["reason"]
    assert completed == ("gitslice.push.completed", "demo", {
        "slice": "demo", "branch": "good", "upstream_branch": "good",
        "upstream_commit": plan.commit, "commits": 1})


async def test_an_opened_upstream_pull_request_is_published_and_a_reused_one_is_not(
    forge_world: ForgeWorld, runtime: Runtime,
) -> None:
    world = forge_world
    world.store.events = runtime.bus  # the forge world's store, on the runtime's bus
    await world.synced()
    world.slice_branch("feature", {"app.py": "print(2)\n"}, "print two")
    slice_pr = world.slice_pull("feature", "Print two", "The app prints 2.").number
    await world.syncer.push("demo", PushRequest(branch="feature", message="Print two"))
    raised = await world.syncer.raise_pr("demo", "feature")
    await world.syncer.raise_pr("demo", "feature")
    assert await _published(runtime, "gitslice.upstream_pr.") == [
        ("gitslice.upstream_pr.opened", "demo", {
            "slice": "demo", "branch": "feature", "slice_pr": slice_pr,
            "upstream_pr": raised.number, "upstream_url": raised.html_url})]
