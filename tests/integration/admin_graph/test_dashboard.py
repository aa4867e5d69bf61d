"""The dashboard in headless Chromium, against the gateway and admin subgraphs of ``crossdock up``.

A seeded database (a source with a failed delivery, a slice), a job worker and the webhooks
worker running, as under ``crossdock up``; the browser and what it may reach are
``browser.py``'s, shared with the other pages' tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crossdock.core.runtime import Runtime
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.jobs import syncer_for
from crossdock.webhooks import operations
from tests.integration.admin_graph.browser import (
    WAIT,
    dashboard,
    log_in,
    refused_to_a_reader,
    shot,
)
from tests.integration.gitslice.gitrepos import WorkRepo, bare, git

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.anyio


async def _seed(runtime: Runtime, tmp_path: Path) -> tuple[int, str]:
    """Source ``demo`` with one failed delivery (headers, body, an attempt); slice ``web`` of
    an upstream repository with one commit. Returns the delivery's id and that commit."""
    await operations.add_source(runtime.database, operations.build_source(
        "demo", "github", ["a-secret-of-more-than-16-bytes"]))
    async with runtime.database.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id, event_type,"
            " action, status, headers, body, body_size, last_error, tries)"
            " VALUES ('demo', 'github', 'gh-1', 'issues', 'opened', 'failed',"
            " '{\"x-github-event\": \"issues\", \"user-agent\": \"GitHub-Hookshot\"}',"
            " convert_to('{\"action\": \"opened\", \"issue\": {\"number\": 7}}', 'UTF8'), 45,"
            " 'handler bus: boom', 1) RETURNING id")
        row = await cursor.fetchone()
        assert row is not None
        await conn.execute(
            "INSERT INTO webhooks_attempts (delivery_id, generation, try, route, handler,"
            " status, duration_ms, error) VALUES (%s, 0, 1, 'default:bus', 'bus', 'failed',"
            " 2.5, 'boom')", [row["id"]])
    upstream, slice_repo = bare(tmp_path / "upstream.git"), bare(tmp_path / "slice.git")
    work = WorkRepo(tmp_path / "work", upstream)
    work.commit("first", {"README.md": "hello"})
    work.push()
    await syncer_for(runtime).init(SliceConfig(
        name="web", upstream_url=str(upstream), upstream_branch="main",
        slice_url=str(slice_repo), slice_branch="main"))
    return int(row["id"]), git(upstream, "rev-parse", "main")


async def _see_the_overview(page: Page) -> None:
    services = page.locator("#services")
    await services.get_by_text("webhooks", exact=True).wait_for(timeout=WAIT)
    await services.get_by_text("gitslice", exact=True).wait_for(timeout=WAIT)
    await page.locator("#failed-deliveries").get_by_text("handler bus: boom").wait_for(
        timeout=WAIT)


async def _replay(page: Page, delivery: int) -> None:
    """Filter the deliveries, open one, read it, replay it and wait until it settles."""
    await page.locator("nav a[data-page=webhooks]").click()
    await page.locator("#sources tr[data-source=demo]").get_by_text("github").wait_for(
        timeout=WAIT)
    await page.locator("#filter-status").select_option("FAILED")
    await page.locator("#filters button[type=submit]").click()
    await page.locator("main[data-route='#/webhooks?status=FAILED']").wait_for(timeout=WAIT)
    row = page.locator(f"#deliveries tr[data-delivery='{delivery}']")
    await row.wait_for(timeout=WAIT)
    await row.get_by_role("link").click()
    await page.locator("#headers").get_by_text("GitHub-Hookshot").wait_for(timeout=WAIT)
    assert '"number": 7' in await page.locator("#body").inner_text()
    assert "boom" in await page.locator("#attempts").inner_text()
    await page.locator("#replay").click()
    notice = page.locator("#replay-notice")
    await notice.get_by_text("Replay settled").wait_for(timeout=WAIT)
    # A failed delivery resumes: its handler runs again, and now succeeds.
    assert "PROCESSED" in await notice.inner_text()
    await page.locator("#delivery-status [data-status=PROCESSED]").wait_for(timeout=WAIT)
    await shot(page, "delivery")


async def _pull(page: Page, head: str) -> None:
    """Start a slice pull: its job appears and is followed until it ends."""
    await page.locator("nav a[data-page=gitslice]").click()
    await page.locator("button.pull[data-slice=web]").click()
    job = page.locator("#jobs tr[data-job]")
    await job.get_by_text("gitslice.pull").wait_for(timeout=WAIT)
    await job.locator("[data-status=SUCCEEDED]").wait_for(timeout=WAIT)
    # The slice's row then shows the upstream commit the pull reached.
    upstream = page.locator("tr[data-slice=web] td.last-upstream")
    await upstream.get_by_text(head[:12], exact=True).wait_for(timeout=WAIT)
    # The pull's sync run is listed, with the commit it brought.
    await page.locator("#runs tr[data-run]", has_text="pull").wait_for(timeout=WAIT)
    # The commit map says where that commit went in the slice.
    await page.locator("#lookup-sha").fill(head)
    await page.locator("#lookup button[type=submit]").click()
    await page.locator("#lookup-table").get_by_text(head, exact=True).wait_for(timeout=WAIT)


async def _retry(page: Page, runtime: Runtime) -> None:
    """The pull's job, marked failed, is retried from the jobs page and runs again."""
    async with runtime.database.transaction() as conn:
        await conn.execute("UPDATE procrastinate_jobs SET status = 'failed'"
                           " WHERE task_name = 'gitslice.pull'")
    await page.locator("nav a[data-page=jobs]").click()
    await page.locator("#filter-job-status").select_option("FAILED")
    await page.locator("#job-filters button[type=submit]").click()
    await page.locator("main[data-route='#/jobs?status=FAILED']").wait_for(timeout=WAIT)
    row = page.locator("#all-jobs tr[data-job]", has_text="gitslice.pull")
    await row.locator("button.retry").click()
    await page.locator("#job-result").get_by_text("retry asked").wait_for(timeout=WAIT)
    await row.locator("[data-status=SUCCEEDED]").wait_for(timeout=WAIT)
    await page.locator("#job-result").get_by_text("it ended SUCCEEDED").wait_for(timeout=WAIT)
    await shot(page, "jobs")


async def test_a_person_logs_in_replays_a_delivery_pulls_a_slice_and_retries_its_job(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    graphql, runtime = gateway
    delivery, head = await _seed(runtime, tmp_path)
    async with dashboard(graphql, runtime, logged_in=False) as session:
        page, url = session.page, session.url
        # A wrong token keeps the login form, with a message.
        await log_in(page, url, "cdx_not-a-token")
        await page.get_by_text("That token is unknown").wait_for(timeout=WAIT)
        session.browser.problems.clear()  # Chromium logs the 401 itself as a console error
        await shot(page, "login")
        await page.locator("#token").fill(session.admin)
        await page.locator("#login button[type=submit]").click()
        await _see_the_overview(page)
        await _replay(page, delivery)
        await _pull(page, head)
        await _retry(page, runtime)
        # A read token sees the same pages, and its replay is refused, clearly.
        await refused_to_a_reader(session, f"#/webhooks/{delivery}", "#replay",
                                  "#replay-result")
