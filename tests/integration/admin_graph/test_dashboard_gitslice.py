"""The GitSlice page in headless Chromium, against the gateway and admin subgraphs as
``crossdock up`` wires them, over real git repositories: pull, a refused push and a push from
the page, each followed until its job ends and its sync run's result shown; the runs as bars
on the timeline; a run's commits; the linked pull requests and issues."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.core.runtime import Runtime
from crossdock.gitslice.config import SliceConfig
from crossdock.gitslice.jobs import syncer_for
from tests.integration.admin_graph.browser import WAIT, dashboard, shot
from tests.integration.admin_graph.test_gitslice_runs import slice_world
from tests.integration.gitslice.gitrepos import WorkRepo, bare, git

pytestmark = pytest.mark.anyio


async def _seed(runtime: Runtime, tmp_path: Path) -> tuple[Path, WorkRepo]:
    """Slice ``web`` of an upstream with two commits, not pulled yet, with a linked upstream
    pull request and a copied issue, and slice ``docs`` of it, pulled; returns the upstream
    and a clone of ``web``."""
    upstream, _, dev = await slice_world(tmp_path, runtime)
    # A second slice of the same upstream, pulled by hand: a lane of its own.
    docs = SliceConfig(name="docs", upstream_url=str(upstream), upstream_branch="main",
                       slice_url=str(bare(tmp_path / "docs.git")), slice_branch="main")
    await syncer_for(runtime).init(docs)
    await syncer_for(runtime).pull("docs")
    async with runtime.database.transaction() as conn:
        await conn.execute(
            "INSERT INTO gitslice_pull_links (slice_name, upstream_pr, slice_pr,"
            " upstream_branch, slice_branch, upstream_url) VALUES ('web', 7, 3, 'dev/fix',"
            " 'fix', 'https://forge.test/acme/up/pull/7')")
        await conn.execute(
            "INSERT INTO gitslice_copies (slice_name, kind, upstream_id, slice_id, slice_url)"
            " VALUES ('web', 'issue', 11, 21, 'https://forge.test/acme/web/issues/21')")
    return upstream, dev


async def test_pull_and_push_from_the_page_show_their_runs_on_the_timeline(
        gateway: tuple[str, Runtime], tmp_path: Path) -> None:
    url, runtime = gateway
    upstream, dev = await _seed(runtime, tmp_path)
    async with dashboard(url, runtime) as session:
        page = session.page
        await page.locator("nav a[data-page=gitslice]").click()
        linked = page.locator("#linked")
        await linked.get_by_text("upstream #7").wait_for(timeout=WAIT)
        assert "slice 21" in await linked.inner_text()
        # Only docs has run yet: one lane, one bar.
        lanes = page.locator("svg.timeline g.lane")
        await lanes.first.wait_for(timeout=WAIT)
        assert [await lane.get_attribute("data-slice") for lane in await lanes.all()] == \
            ["docs"]

        await page.locator("button.pull[data-slice=web]").click()
        result = page.locator("#run-result")
        await result.get_by_text("succeeded: 2 commit(s) mapped").wait_for(timeout=WAIT)
        await page.locator("#jobs tr[data-job]", has_text="gitslice.pull").locator(
            "[data-status=SUCCEEDED]").wait_for(timeout=WAIT)
        await page.locator("svg.timeline g.lane[data-slice=web]").wait_for(timeout=WAIT)
        assert [await lane.get_attribute("data-slice") for lane in await lanes.all()] == \
            ["docs", "web"]

        dev.fetch()
        dev.checkout("feature", create=True, start="origin/main")
        dev.commit("work", {"b.txt": "2"})
        dev.push("feature")
        push = page.locator("button.push[data-slice=web]")
        # A branch the slice lacks: the job ends and the run says why it failed.
        await push.click()
        await page.locator("#push-branch").fill("nowhere")
        await page.locator("#push-form button[type=submit]").click()
        await result.locator(".error").get_by_text("nowhere").wait_for(timeout=WAIT)
        await push.click()
        await page.locator("#push-branch").fill("feature")
        await page.locator("#push-message").fill("feat: from the dashboard")
        await page.locator("#push-form button[type=submit]").click()
        await result.get_by_text(
            "succeeded: 1 slice commit(s) of feature to upstream feature").wait_for(timeout=WAIT)
        assert git(upstream, "log", "-1", "--format=%s", "feature") == "feat: from the dashboard"
        head = git(upstream, "rev-parse", "feature")
        assert head[:12] in await result.inner_text()

        # Four runs, four bars in their lanes, each with its state and summary.
        await page.locator("svg.timeline rect.run[data-state=failed]").wait_for(timeout=WAIT)
        bars = page.locator("svg.timeline rect.run")
        assert await bars.count() == 4
        states = [(await bar.get_attribute("data-slice"), await bar.get_attribute("data-state"))
                  for bar in await bars.all()]
        assert states == [("web", "succeeded"), ("web", "failed"), ("web", "succeeded"),
                          ("docs", "succeeded")]
        titles = [await bar.locator("title").text_content() for bar in await bars.all()]
        assert any(title and title.startswith("push #") and "1 commit(s)" in title
                   and "took" in title for title in titles)
        assert any(title and "error:" in title and "nowhere" in title for title in titles)

        # web's pull's bar, clicked: the commits it mapped.
        pull_bar = bars.nth(2)
        await pull_bar.click()
        commits = page.locator("#run-detail #run-commits")
        await commits.wait_for(timeout=WAIT)
        for sha in git(upstream, "rev-list", "main").split():
            await commits.get_by_text(sha, exact=True).wait_for(timeout=WAIT)
        await shot(page, "gitslice")
