"""The dashboard's gateway page in headless Chromium, against the gateway of ``crossdock up``:
its subgraphs with their fetch latency, its types filtered by name, and a query's plan drawn as
an SVG picture with a box per fetch."""

from __future__ import annotations

import pytest

from crossdock.core.runtime import Runtime
from tests.integration.admin_graph.browser import WAIT, dashboard, shot

pytestmark = pytest.mark.anyio

#: Three root fields of three subgraphs: one Parallel of three fetches.
PARALLEL = "{ services { name } sources { name } slices { name } }"
#: GitSlice's mutation returns a Job whose status is the core's: a Sequence of two fetches.
SEQUENCE = 'mutation { pullSlice(name: "web") { id task status } }'


async def test_a_person_sees_the_subgraphs_filters_the_types_and_draws_a_plan(
        gateway: tuple[str, Runtime]) -> None:
    graphql, runtime = gateway
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await page.locator("nav a[data-page=gateway]").click()
        await page.locator("main[data-route='#/gateway']").wait_for(timeout=WAIT)
        # The subgraphs, with the fetches the dashboard's own queries made of them.
        subgraphs = page.locator("#subgraphs")
        for name in ("core", "gateway", "gitslice", "webhooks"):
            await subgraphs.locator(f"tr[data-subgraph={name}]").wait_for(timeout=WAIT)
        row = subgraphs.locator("tr[data-subgraph=core] td")
        assert int(await row.nth(2).inner_text()) >= 1
        assert (await row.nth(4).inner_text()).endswith(" ms")
        assert "admin supergraph" in await page.locator("#supergraph").inner_text()

        # Types: filtered by name, opened for their fields.
        types = page.locator("#types details.type")
        total = await types.count()
        await page.locator("#type-filter").fill("job")
        await page.locator("#types-count").get_by_text("of").wait_for(timeout=WAIT)
        visible = page.locator("#types details.type:visible")
        shown = await visible.count()
        assert 0 < shown < total
        assert await page.locator("#types details[data-type=Delivery]").is_hidden()
        job = page.locator("#types details[data-type=Job]")
        await job.locator("summary").click()
        status = job.locator("tr[data-field=status]")
        await status.wait_for(timeout=WAIT)
        assert "core" in await status.inner_text()

        # Three subgraphs side by side.
        await page.locator("#plan-query").fill(PARALLEL)
        await page.locator("#plan-form button[type=submit]").click()
        picture = page.locator("svg#plan-svg")
        await picture.locator("g.plan-parallel").wait_for(timeout=WAIT)
        boxes = picture.locator("g.plan-fetch")
        assert sorted([await boxes.nth(n).get_attribute("data-subgraph") for n in range(3)]) \
            == ["core", "gitslice", "webhooks"]

        # A plan across two subgraphs: GitSlice's fetch, then the core's.
        await page.locator("#plan-query").fill(SEQUENCE)
        await page.locator("#plan-form button[type=submit]").click()
        await picture.locator("g.plan-sequence").wait_for(timeout=WAIT)
        boxes = picture.locator("g.plan-fetch")
        assert await boxes.count() == 2
        assert [await boxes.nth(n).get_attribute("data-subgraph") for n in range(2)] == [
            "gitslice", "core"]
        assert await picture.locator("g.plan-sequence").count() == 1
        assert await picture.locator("line.plan-arrow").count() == 1
        # The first fetch is shown; a click shows the other's operation.
        assert "pullSlice" in await page.locator("#plan-operation").inner_text()
        await boxes.nth(1).click()
        await page.locator("#plan-operation").get_by_text("_entities").wait_for(timeout=WAIT)
        assert "Flatten" in (await page.locator("#plan-text").text_content() or "")
        await shot(page, "gateway")

        # A query that does not validate: one line saying why, no picture.
        await page.locator("#plan-query").fill("{ nothing }")
        await page.locator("#plan-form button[type=submit]").click()
        alert = page.locator("#plan-result [role=alert]")
        await alert.wait_for(timeout=WAIT)
        assert "Cannot query field 'nothing'" in await alert.inner_text()
        assert await page.locator("svg#plan-svg").count() == 0
