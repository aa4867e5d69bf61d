"""The overview page in headless Chromium: charts of the last hour drawn from seeded rows, the
backlog, failed deliveries and jobs, and a refresh every 10 s that stops once the person
leaves the page.

Rows are seeded whole minutes back from now, 1 to 50 minutes, so they stay inside the hour's
window whenever the page asks. The job worker runs (as under ``crossdock up``) and its
periodic pull succeeds once a minute, so succeeded jobs are counted at least as seeded.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from crossdock.webhooks import operations
from tests.integration.admin_graph.browser import WAIT, dashboard, shot

if TYPE_CHECKING:
    from playwright.async_api import Page, Request

    from crossdock.core.runtime import Runtime

pytestmark = pytest.mark.anyio

#: Deliveries by status and how many minutes ago they came: 10 in all.
DELIVERIES = [("processed", 50), ("processed", 50), ("processed", 30), ("processed", 30),
              ("processed", 30), ("processed", 5), ("failed", 30), ("failed", 2),
              ("dead", 12), ("rejected", 20)]
#: Jobs by outcome and how many minutes ago they ended: 7 succeeded, 3 failed.
JOBS = [("succeeded", 40)] * 4 + [("succeeded", 10)] * 3 + [("failed", 10)] * 2 + [
    ("failed", 3)]


async def _seed(runtime: Runtime) -> None:
    await operations.add_source(runtime.database, operations.build_source(
        "demo", "github", ["a-secret-of-more-than-16-bytes"]))
    async with runtime.database.transaction() as conn:
        for state, minutes in DELIVERIES:
            await conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, event_type, status, body,"
                " last_error, received_at) VALUES ('demo', 'github', 'push', %s, %s, %s,"
                " now() - make_interval(mins => %s))",
                [state, None if state == "rejected" else b"{}",
                 f"handler bus: boom {minutes}" if state == "failed" else None, minutes])
        for outcome, minutes in JOBS:
            cursor = await conn.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts)"
                " VALUES ('gitslice', 'gitslice.pull', '{\"slice_name\": \"web\"}',"
                " %s::procrastinate_job_status, 1) RETURNING id", [outcome])
            job = await cursor.fetchone()
            assert job is not None
            await conn.execute(
                "INSERT INTO procrastinate_events (job_id, type, at) VALUES"
                " (%s, %s::procrastinate_job_event_type, now() - make_interval(mins => %s))",
                [job["id"], outcome, minutes])
        await conn.execute(
            "INSERT INTO crossdock_events (event_type, payload, published_at, fanned_out_at)"
            " SELECT 'github.push', '{}', now() - make_interval(mins => n), now()"
            " FROM generate_series(1, 5) AS n")
        await conn.execute("INSERT INTO webhooks_out_applications (name) VALUES ('app')")
        cursor = await conn.execute(
            "INSERT INTO webhooks_out_endpoints (app, url, secret)"
            " VALUES ('app', 'https://hooks.example/in', 'a-secret-of-more-than-16') RETURNING id")
        endpoint = await cursor.fetchone()
        assert endpoint is not None
        for outcome in ("succeeded", "succeeded", "exhausted"):
            cursor = await conn.execute(
                "INSERT INTO webhooks_out_messages (app, event_type, payload, created_at)"
                " VALUES ('app', 'slice.pulled', '{}', now() - interval '8 minutes')"
                " RETURNING id")
            message = await cursor.fetchone()
            assert message is not None
            await conn.execute(
                "INSERT INTO webhooks_out_destinations (message_id, endpoint_id, status)"
                " VALUES (%s, %s, %s)", [message["id"], endpoint["id"], outcome])


async def _legend(page: Page, chart: str, series: str) -> int:
    text = await page.locator(f"#{chart} .chart-legend [data-series='{series}'] strong"
                              ).inner_text()
    return int(text)


async def _see_the_charts(page: Page) -> None:
    deliveries = page.locator("#chart-deliveries")
    await deliveries.wait_for(timeout=WAIT)
    # One bar a minute for the hour, zeros included; the totals in text.
    assert await deliveries.locator("svg g.bar").count() == 60
    assert await deliveries.locator(".chart-total").inner_text() == "10 in 60 min"
    assert [await _legend(page, "chart-deliveries", name)
            for name in ("processed", "failed", "pending")] == [6, 4, 0]
    svg = deliveries.locator("svg[role=img]")
    label = await svg.get_attribute("aria-label")
    assert label is not None
    assert label.startswith("Deliveries per minute: 10 in the last 60 min (processed 6, "
                            "failed 4, pending 0)")
    assert await svg.locator("> title").text_content() == label
    # The bar of 30 minutes ago: three processed and one failed, stacked, with its tooltip.
    busiest = deliveries.locator("g.bar[data-total='4']")
    assert await busiest.count() == 1
    assert await busiest.locator("rect[data-series]").count() == 2
    assert (await busiest.locator("title").text_content() or "").endswith(
        ": processed 3, failed 1, pending 0")
    assert await deliveries.locator("g.bar[data-total='0']").count() == 60 - 6

    jobs = page.locator("#chart-jobs")
    assert await jobs.locator("svg g.bar").count() == 60
    assert await _legend(page, "chart-jobs", "failed") == 3
    succeeded = await _legend(page, "chart-jobs", "succeeded")
    assert succeeded >= 7
    assert await jobs.locator(".chart-total").inner_text() == f"{succeeded + 3} in 60 min"

    assert await page.locator("#chart-events .chart-total").inner_text() == "5 in 60 min"
    assert await page.locator("#chart-events svg g.bar[data-total='1']").count() == 5
    assert [await _legend(page, "chart-outbound", name)
            for name in ("sent", "failed", "pending")] == [2, 1, 0]

    backlog = page.locator("#chart-backlog")
    assert await backlog.locator("svg g.level").count() == 3
    # The two failed deliveries wait for their next try.
    assert await backlog.locator("g.level[data-level='deliveries waiting']").get_attribute(
        "data-value") == "2"


async def _see_the_failures(page: Page) -> None:
    failed = page.locator("#failed-deliveries")
    await failed.get_by_text("handler bus: boom 2", exact=True).wait_for(timeout=WAIT)
    await failed.get_by_text("handler bus: boom 30", exact=True).wait_for(timeout=WAIT)
    jobs = page.locator("#failed-jobs tr[data-job]")
    assert await jobs.count() == 3
    # Each links to its job's page.
    newest = await jobs.first.get_attribute("data-job")
    assert await jobs.first.get_by_role("link").get_attribute("href") == f"#/jobs/{newest}"


async def _refreshes_while_shown(page: Page, runtime: Runtime) -> None:
    """A job that fails now appears within a refresh (10 s), without a reload."""
    async with runtime.database.transaction() as conn:
        await conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
            " VALUES ('default', 'webhooks.prune', '{}', 'failed')")
    await page.locator("#failed-jobs").get_by_text("webhooks.prune").wait_for(timeout=WAIT)
    assert int(await page.locator("#overview").get_attribute("data-refreshed") or 0) >= 1


async def _stops_once_left(page: Page) -> None:
    """Once the person is on another page, the overview asks nothing more."""
    asked: list[str] = []

    def seen(request: Request) -> None:
        if "deliveriesPerMinute" in (request.post_data or ""):
            asked.append(request.url)

    await page.locator("nav a[data-page=jobs]").click()
    await page.locator("main[data-route='#/jobs']").wait_for(timeout=WAIT)
    page.on("request", seen)
    await asyncio.sleep(11)
    assert asked == []


async def test_the_overview_charts_the_last_hour_lists_failures_and_refreshes_while_shown(
        gateway: tuple[str, Runtime]) -> None:
    graphql, runtime = gateway
    await _seed(runtime)
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await _see_the_charts(page)
        await _see_the_failures(page)
        await _refreshes_while_shown(page, runtime)
        await _see_the_charts(page)
        await shot(page, "overview")
        await _stops_once_left(page)
