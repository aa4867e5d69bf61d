"""The gateway page's latency table in headless Chromium: each subgraph's fetches of the last
five minutes beside those since the gateway's process started."""

from __future__ import annotations

import pytest

from crossdock.core.runtime import Runtime
from tests.integration.admin_graph.browser import WAIT, dashboard

pytestmark = pytest.mark.anyio


async def test_the_latency_table_shows_the_last_minutes_beside_the_whole_process(
        gateway: tuple[str, Runtime]) -> None:
    graphql, runtime = gateway
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await page.locator("nav a[data-page=gateway]").click()
        await page.locator("main[data-route='#/gateway']").wait_for(timeout=WAIT)
        table = page.locator("#subgraphs")
        await table.locator("tr[data-subgraph=core]").wait_for(timeout=WAIT)
        assert await table.locator("th.period").all_inner_texts() == [
            "last 5 minutes", "since the gateway started"]
        # The overview page, shown first, fetched the core just now: in both periods.
        row = table.locator("tr[data-subgraph=core]")
        recent = int(await row.locator("td[data-period=recent]").inner_text())
        total = int(await row.locator("td[data-period=total]").inner_text())
        assert 1 <= recent <= total
        cells = row.locator("td")
        assert await cells.count() == 11
        for p50_or_p95 in (4, 5, 8, 9):
            assert (await cells.nth(p50_or_p95).inner_text()).endswith(" ms")
        assert (await cells.nth(10).inner_text()).endswith(" ms")  # the mean since start
