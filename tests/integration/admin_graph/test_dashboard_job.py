"""A job's own page in headless Chromium, against the gateway and admin subgraphs as
``crossdock up`` wires them: a job that really failed, opened from the overview, with its
arguments and history, retried from its page until it succeeds; a pull job's page with the
sync run it ran (from GitSlice's subgraph, through the gateway), linked both ways with the
GitSlice page.

The failing job is a task of the test's own, run by the real worker: it fails until the test
lets it succeed, so its failure, retry and success are the queue's, not rows written by hand.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from crossdock.core.jobs import JOB_RETRY
from crossdock.core.runtime import Runtime
from tests.integration.admin_graph.browser import WAIT, dashboard, shot
from tests.integration.admin_graph.test_gitslice_runs import slice_world

pytestmark = pytest.mark.anyio

#: The test's task: one try, then it fails for good (a retry from the page is the next try).
FLAKY = "tests.report"
ARGS = {"report": "weekly", "recipients": ["ops@example.test"]}


async def _seed(runtime: Runtime, tmp_path: Path) -> tuple[int, int, Path]:
    """A failed job of the test's task and a pull of slice ``web`` that succeeded, both run
    by the worker; returns their ids and the file whose presence lets the task succeed."""
    ready = tmp_path / "ready"

    @runtime.jobs.task(FLAKY, retry=dataclasses.replace(JOB_RETRY, max_tries=1))
    async def report(**arguments: Any) -> None:
        if not ready.exists():
            raise RuntimeError(f"the {arguments['report']} report's data is not ready")

    await slice_world(tmp_path, runtime)
    failing = await runtime.jobs.defer(FLAKY, **ARGS)
    pull = await runtime.jobs.defer("gitslice.pull", lock="slice:web", slice_name="web")
    await runtime.jobs.run_worker(concurrency=1, queues=["default", "gitslice"], wait=False)
    async with runtime.database.transaction() as conn:
        cursor = await conn.execute("SELECT id, status::text FROM procrastinate_jobs"
                                    " WHERE id = ANY(%s) ORDER BY id", [[failing, pull]])
        assert [row["status"] for row in await cursor.fetchall()] == ["failed", "succeeded"]
    return failing, pull, ready


async def test_a_failed_job_opened_from_the_overview_is_retried_from_its_page(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    graphql, runtime = gateway
    failing, pull, ready = await _seed(runtime, tmp_path)
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await page.locator(f"#failed-jobs tr[data-job='{failing}'] a").click()
        await page.locator(f"main[data-route='#/jobs/{failing}']").wait_for(timeout=WAIT)
        await page.locator("#job-status [data-status=FAILED]").wait_for(timeout=WAIT)
        assert await page.locator("#job-facts").get_by_text(FLAKY).count() == 1
        args = await page.locator("#job-args").inner_text()
        assert '"report": "weekly"' in args
        assert '"ops@example.test"' in args
        events = page.locator("#job-events tr[data-event]")
        assert [await row.get_attribute("data-event") for row in await events.all()] == [
            "deferred", "started", "failed"]
        # The queue keeps no exception; the page says where it is instead of inventing one.
        assert f"job_id={failing}" in await page.locator("#job-error").inner_text()
        assert await page.locator("#job-runs").get_by_text("nothing here").count() == 1

        ready.touch()
        await page.locator("#job button.retry").click()
        result = page.locator("#job-result")
        await result.get_by_text("retry asked").wait_for(timeout=WAIT)
        await result.get_by_text("it ended SUCCEEDED").wait_for(timeout=WAIT)
        await page.locator("#job-status [data-status=SUCCEEDED]").wait_for(timeout=WAIT)
        assert [await row.get_attribute("data-event") for row in await events.all()] == [
            "deferred", "started", "failed", "retried", "started", "succeeded"]
        assert await page.locator("#job-error").count() == 0
        assert await page.locator("#job button.retry").count() == 0
        await shot(page, "job")

        # The pull, found in the jobs list, lists the sync run it ran; the run's link leads to
        # the GitSlice page, where the run's detail links back to the job.
        await page.locator("nav a[data-page=jobs]").click()
        await page.locator(f"#all-jobs tr[data-job='{pull}'] a").click()
        await page.locator(f"main[data-route='#/jobs/{pull}']").wait_for(timeout=WAIT)
        run = page.locator("#job-runs tr[data-run]")
        await run.wait_for(timeout=WAIT)
        assert await run.count() == 1
        assert "web" in await run.inner_text()
        assert "succeeded" in await run.inner_text()
        run_id = await run.get_attribute("data-run")
        assert '"slice_name": "web"' in await page.locator("#job-args").inner_text()
        await run.get_by_role("link").click()
        await page.locator("main[data-route='#/gitslice']").wait_for(timeout=WAIT)
        await page.locator(f"svg.timeline rect.run[data-run='{run_id}']").click()
        await page.locator("#run-detail").get_by_role("link", name=f"Open job #{pull}").click()
        await page.locator(f"main[data-route='#/jobs/{pull}']").wait_for(timeout=WAIT)

        await page.goto(f"{session.url}/#/jobs/nope")
        await page.locator("main").get_by_text("No such job.").wait_for(timeout=WAIT)
