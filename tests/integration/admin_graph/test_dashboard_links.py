"""The links between services on the dashboard, in headless Chromium against the gateway and
admin subgraphs as ``crossdock up`` wires them: a signed GitHub push to a slice's upstream,
through the real receiver, starts a pull; its delivery's page shows the sync run and the
repository, whose page lists the slice and the repository's deliveries."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest

from crossdock.core.runtime import Runtime
from tests.integration.admin_graph.browser import WAIT, dashboard, shot
from tests.integration.admin_graph.test_gitslice_runs import slice_world
from tests.integration.admin_graph.test_repository_links import add_sources, github, send

pytestmark = pytest.mark.anyio


async def _runs_ended(runtime: Runtime) -> None:
    for _ in range(400):
        async with runtime.database.connection() as conn:
            states = [row["state"] for row in await (await conn.execute(
                "SELECT state FROM gitslice_runs")).fetchall()]
        if states and "running" not in states:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pull did not end: {states}")


async def test_a_delivery_that_started_a_pull_links_its_run_and_its_repository(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    url, runtime = gateway
    upstream, _, _ = await slice_world(tmp_path, runtime)
    await add_sources(runtime, ("hub", "github"))
    key = str(upstream).lower().removesuffix(".git")
    async with dashboard(url, runtime) as session:
        page = session.page
        # An issue opened on the upstream (no pull), then a push to its main branch (a pull).
        opened, pushed = await send(runtime, [
            ("hub", "issues", github({"clone_url": f"file://{upstream}"}, action="opened")),
            ("hub", "push", github({"clone_url": f"file://{upstream}"}))])
        await _runs_ended(runtime)

        await page.goto(f"{session.url}/#/webhooks/{pushed}")
        run = page.locator("#delivery-runs tr[data-run]")
        await run.locator("[data-status=succeeded]").wait_for(timeout=WAIT)
        cells = await run.locator("td").all_inner_texts()
        assert (cells[1], cells[2], cells[4]) == ("web", "pull", "2")
        assert await run.locator("a[href='#/gitslice']").count() == 1
        job = await run.locator("a[href^='#/jobs/']").get_attribute("href")
        assert job is not None
        line = page.locator("#delivery-repository")
        assert await line.locator("a").inner_text() == key
        assert "slices web" in await line.inner_text()
        await shot(page, "delivery-links")

        # The delivery names the repository and started nothing.
        await page.goto(f"{session.url}/#/webhooks/{opened}")
        await page.locator("#delivery-repository a").wait_for(timeout=WAIT)
        assert await page.locator("#delivery-runs td.muted").inner_text() == "nothing here"

        await page.locator("#delivery-repository a").click()
        await page.wait_for_function(
            "route => document.querySelector('main').dataset.route === route",
            arg=f"#/repositories/{quote(key, safe='')}", timeout=WAIT)
        assert await page.locator("#repository").inner_text() == key
        slice_row = page.locator("#repository-slices tr[data-slice=web]")
        assert (await slice_row.locator("td").all_inner_texts())[:3] == \
            ["web", "upstream", "main"]
        listed = page.locator("#repository-deliveries tr[data-delivery]")
        assert [await row.get_attribute("data-delivery") for row in await listed.all()] == \
            [str(pushed), str(opened)]
        assert "issues.opened" in await listed.nth(1).inner_text()
        await shot(page, "repository")

        # Any spelling of the URL finds it; the delivery's link leads back.
        await page.locator("#repository-url").fill(f"FILE://{upstream}/")
        await page.locator("#repository-lookup button[type=submit]").click()
        await page.locator("#repository-deliveries tr[data-delivery]").first.wait_for(
            timeout=WAIT)
        assert await page.locator("#repository").inner_text() == key
        await listed.first.locator("a").click()
        await page.locator("#delivery-runs tr[data-run]").wait_for(timeout=WAIT)


async def test_a_repository_nobody_named_and_a_broken_address_say_so(
        gateway: tuple[str, Runtime]) -> None:
    url, runtime = gateway
    async with dashboard(url, runtime) as session:
        page = session.page
        for route in (quote("https://github.com/a/b.git", safe=""), "github.com/A/b"):
            await page.goto(f"{session.url}/#/repositories/{route}")
            await page.wait_for_function(
                "route => document.querySelector('main').dataset.route === route",
                arg=f"#/repositories/{route}", timeout=WAIT)
            assert await page.locator("#repository").inner_text() == "github.com/a/b"
            assert await page.locator("#repository-deliveries td.muted").inner_text() == \
                "nothing here"
        assert await page.locator("#repository-slices td.muted").inner_text() == "nothing here"
        await page.goto(f"{session.url}/#/repositories/%E0%A4%A")
        alert = page.locator("main [role=alert]")
        await alert.wait_for(timeout=WAIT)
        assert await alert.inner_text() == "That address does not hold a repository URL."
