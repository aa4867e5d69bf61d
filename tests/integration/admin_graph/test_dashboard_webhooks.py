"""The dashboard's webhooks page in headless Chromium: a search, a replay of selected deliveries
and of a page of dead letters followed until they settle, a route added and removed, a secret
rotated, and a read token's change refused, against the gateway and workers of ``crossdock up``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

from crossdock.core.runtime import Runtime
from crossdock.webhooks import operations
from tests.integration.admin_graph.browser import WAIT, dashboard, log_in, shot

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"
NEW_SECRET = "the-rotated-secret-of-32-bytes!!"
#: GitHub's X-GitHub-Delivery of the delivery the search looks for.
WANTED = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


async def _seed(runtime: Runtime) -> dict[str, list[int]]:
    """Source ``demo`` routing pushes to the bus; deliveries by status: six processed (one of
    them ``WANTED``), two failed, three dead, one refused. Their ids, by status."""
    await operations.add_source(runtime.database, operations.build_source(
        "demo", "github", [SECRET]))
    await operations.add_route(runtime.database, source="demo", handler="bus",
                               event_type="push")
    ids: dict[str, list[int]] = {}
    async with runtime.database.transaction() as conn:
        for status, count, error in (("processed", 6, None), ("failed", 2, "handler bus: boom"),
                                     ("dead", 3, "handler bus: gave up after 8 tries"),
                                     ("rejected", 1, None)):
            cursor = await conn.execute(
                "INSERT INTO webhooks_deliveries (source, provider, provider_delivery_id,"
                " event_type, action, status, reason, headers, body, body_size, last_error,"
                " tries, received_at)"
                " SELECT 'demo', 'github',"
                "  CASE WHEN %(status)s::text = 'processed' AND n = 3 THEN %(wanted)s::text"
                "   ELSE md5(%(status)s || n) END,"
                "  CASE WHEN n %% 2 = 0 THEN 'push' ELSE 'issues' END,"
                "  CASE WHEN n %% 2 = 0 THEN NULL ELSE 'opened' END, %(status)s,"
                "  CASE WHEN %(status)s = 'rejected' THEN 'bad_signature' END,"
                "  '{\"x-github-event\": \"push\"}',"
                "  CASE WHEN %(status)s <> 'rejected' THEN convert_to('{}', 'UTF8') END, 2,"
                "  %(error)s::text, CASE WHEN %(error)s::text IS NULL THEN 1 ELSE 8 END,"
                "  now() - make_interval(mins => n) - make_interval(hours => length(%(status)s))"
                " FROM generate_series(1, %(count)s) AS n RETURNING id",
                {"status": status, "count": count, "error": error, "wanted": WANTED})
            ids[status] = [row["id"] for row in await cursor.fetchall()]
    return ids


async def _shown(page: Page, route: str) -> None:
    await page.locator(f"main[data-route='{route}']").wait_for(timeout=WAIT)


async def _rows(page: Page) -> list[str]:
    return [str(await row.get_attribute("data-delivery"))
            for row in await page.locator("#deliveries tr[data-delivery]").all()]


async def _statuses(runtime: Runtime, ids: list[int]) -> set[str]:
    async with runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT DISTINCT status FROM webhooks_deliveries WHERE id = ANY(%s)", [ids])
        return {row["status"] for row in await cursor.fetchall()}


async def _search(page: Page, ids: dict[str, list[int]]) -> None:
    """The sender's delivery id finds its delivery; a search that is no id says so, under the
    form that can mend it."""
    await page.locator("#filter-search").fill(WANTED)
    await page.locator("#filters button[type=submit]").click()
    await _shown(page, f"#/webhooks?search={WANTED}")
    assert await _rows(page) == [str(ids["processed"][2])]
    assert await page.locator("#filter-search").input_value() == WANTED
    await page.locator("#filter-search").fill("#abc")
    await page.locator("#filters button[type=submit]").click()
    await _shown(page, "#/webhooks?search=%23abc")
    refusal = page.locator("#filters + [role=alert]")
    assert "is not a delivery id" in await refusal.inner_text()
    # Back to the search that worked: the route's query string brought it back.
    await page.go_back()
    await _shown(page, f"#/webhooks?search={WANTED}")
    assert await _rows(page) == [str(ids["processed"][2])]


async def _time_range(page: Page, url: str, failed: list[int]) -> None:
    """A time range in the route's query string (as a reload or a shared link has it) is shown
    in the form and narrows the list; the form keeps it when another filter is added."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    # The failed deliveries were received 6 h and a minute or two ago, the others 4 h or 8 h+.
    start, end = (f"{(now - dt.timedelta(hours=hours)).isoformat()[:16]}:00.000Z"
                  for hours in (7, 5))
    await page.goto(f"{url}/#/webhooks?{urlencode({'from': start, 'until': end})}")
    await page.locator("main[data-route*='until=']").wait_for(timeout=WAIT)
    assert sorted(await _rows(page)) == sorted(str(i) for i in failed)
    assert await page.locator("#filter-from").input_value() != ""
    await page.locator("#filter-status").select_option("FAILED")
    await page.locator("#filters button[type=submit]").click()
    await page.locator("main[data-route^='#/webhooks?status=FAILED&from=']").wait_for(
        timeout=WAIT)
    assert sorted(await _rows(page)) == sorted(str(i) for i in failed)
    # An empty range is refused under the form.
    await page.goto(f"{url}/#/webhooks?{urlencode({'from': end, 'until': start})}")
    refusal = page.locator("#filters + [role=alert]")
    await refusal.wait_for(timeout=WAIT)
    assert "must come before" in await refusal.inner_text()
    await page.goto(f"{url}/#/webhooks")
    await _shown(page, "#/webhooks")


async def _replay_selected(page: Page, runtime: Runtime, failed: list[int]) -> None:
    """Both failed deliveries selected and replayed, followed until both are processed."""
    await page.locator("#filter-search").fill("")
    await page.locator("#filter-status").select_option("FAILED")
    await page.locator("#filter-event").fill("push")
    await page.locator("#filters button[type=submit]").click()
    await _shown(page, "#/webhooks?status=FAILED&event=push")
    assert await _rows(page) == [str(failed[1])]
    await page.locator("#filter-event").fill("")
    await page.locator("#filters button[type=submit]").click()
    await _shown(page, "#/webhooks?status=FAILED")
    assert sorted(await _rows(page)) == sorted(str(i) for i in failed)
    assert await page.locator("#replay-selected").is_disabled()
    for delivery in failed:
        await page.locator(f"input.pick[data-delivery='{delivery}']").check()
    await page.locator("#replay-selected").click()
    result = page.locator("#bulk-result")
    await result.get_by_text("settled").wait_for(timeout=WAIT)
    assert await result.locator("[data-outcome=PROCESSED]").inner_text() == "2 PROCESSED"
    assert await page.locator("#deliveries [data-status=PROCESSED]").count() == 2
    assert await _statuses(runtime, failed) == {"processed"}
    await shot(page, "webhooks")


async def _replay_dead_letters(page: Page, runtime: Runtime, dead: list[int]) -> None:
    await page.locator("#dead-letters").click()
    await _shown(page, "#/webhooks?status=DEAD")
    await page.get_by_role("heading", name="Dead letters").wait_for(timeout=WAIT)
    assert sorted(await _rows(page)) == sorted(str(i) for i in dead)
    await shot(page, "dead-letters")
    await page.locator("#replay-page").click()
    result = page.locator("#bulk-result")
    await result.get_by_text("settled").wait_for(timeout=WAIT)
    assert await result.locator("[data-outcome=PROCESSED]").inner_text() == "3 PROCESSED"
    # Nothing is selected: Replay selected stays off once the page's replay is done.
    assert await page.locator("#replay-selected").is_disabled()
    assert await _statuses(runtime, dead) == {"processed"}


async def _routes(page: Page, runtime: Runtime) -> None:
    """A route added from the form appears under its source, then is removed (asked twice)."""
    row = page.locator("#sources tr[data-source=demo]")
    await row.locator("button.add-route").click()
    await page.locator("#route-event").fill("issues")
    await page.locator("#route-action").fill("opened")
    await page.locator("#route-handler").select_option("log")
    await shot(page, "routes")
    await page.locator("#route-form button[type=submit]").click()
    added = row.locator("li[data-route]", has_text="issues.opened → log")
    await added.wait_for(timeout=WAIT)
    route = await added.get_attribute("data-route")
    async with runtime.database.connection() as conn:
        cursor = await conn.execute("SELECT source, event_type, action, handler"
                                    " FROM webhooks_routes WHERE id = %s", [int(str(route))])
        assert await cursor.fetchone() == {"source": "demo", "event_type": "issues",
                                           "action": "opened", "handler": "log"}
    await added.locator("button.remove-route").click()
    await added.locator("button.confirm-remove").click()
    await page.locator("#source-result").get_by_text("removed from demo").wait_for(timeout=WAIT)
    assert await added.count() == 0
    async with runtime.database.connection() as conn:
        cursor = await conn.execute("SELECT id FROM webhooks_routes WHERE id = %s",
                                    [int(str(route))])
        assert await cursor.fetchall() == []


async def _rotate(page: Page, runtime: Runtime) -> None:
    """A new secret, the old one removed at once: the database keeps only the new one, and the
    page never shows it."""
    row = page.locator("#sources tr[data-source=demo]")
    await row.locator("button.rotate-secret").click()
    await page.locator("#new-secret").fill(NEW_SECRET)
    await page.locator("#remove-old").check()
    await page.locator("#secret-form button[type=submit]").click()
    await page.locator("#source-result").get_by_text("new secret only").wait_for(timeout=WAIT)
    async with runtime.database.connection() as conn:
        cursor = await conn.execute("SELECT secrets FROM webhooks_sources WHERE name = 'demo'")
        assert await cursor.fetchone() == {"secrets": [NEW_SECRET]}
    assert await row.locator("td.secrets").inner_text() == "literal:***"
    assert NEW_SECRET not in await page.content()


async def test_a_person_finds_replays_and_reroutes_deliveries_and_rotates_a_secret(
        gateway: tuple[str, Runtime]) -> None:
    graphql, runtime = gateway
    ids = await _seed(runtime)
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await page.locator("nav a[data-page=webhooks]").click()
        await page.locator("#sources tr[data-source=demo]").wait_for(timeout=WAIT)
        await _search(page, ids)
        await _time_range(page, session.url, ids["failed"])
        await _replay_selected(page, runtime, ids["failed"])
        await _replay_dead_letters(page, runtime, ids["dead"])
        await _routes(page, runtime)
        await _rotate(page, runtime)
        # A read token's change is refused, in one message that says why.
        await page.locator("#logout").click()
        await log_in(page, session.url, session.read)
        await page.locator("#services").wait_for(timeout=WAIT)
        await page.locator("nav a[data-page=webhooks]").click()
        await page.locator("#sources tr[data-source=demo] button.add-route").click()
        await page.locator("#route-form button[type=submit]").click()
        refused = page.locator("#source-result [role=alert]")
        await refused.wait_for(timeout=WAIT)
        assert "read role" in await refused.inner_text()
