"""The webhooks page's sources in headless Chromium: a source added (a short secret refused
first), its retry schedule and body limit changed in its settings, and a source removed with
its deliveries once its name is typed (a wrong name refused), against the gateway of
``crossdock up``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from crossdock.core.runtime import Runtime
from crossdock.webhooks import operations
from tests.integration.admin_graph.browser import WAIT, dashboard, shot

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.anyio

SECRET = "a-secret-of-more-than-16-bytes"
NEW_SECRET = "the-shop-secret-of-32-bytes-long"


async def _seed(runtime: Runtime) -> None:
    """Source ``demo`` routing pushes to the bus, with two deliveries."""
    await operations.add_source(runtime.database, operations.build_source(
        "demo", "github", [SECRET]))
    await operations.add_route(runtime.database, source="demo", handler="bus",
                               event_type="push")
    async with runtime.database.transaction() as conn:
        await conn.execute(
            "INSERT INTO webhooks_deliveries (source, provider, event_type, status, body)"
            " SELECT 'demo', 'github', 'push', 'processed', '{}' FROM generate_series(1, 2)")


async def _sql(runtime: Runtime, query: str) -> list[dict[str, object]]:
    async with runtime.database.connection() as conn:
        cursor = await conn.execute(query)
        return await cursor.fetchall()


async def _refused(page: Page, said: str) -> None:
    refusal = page.locator("#source-result [role=alert]")
    await refusal.get_by_text(said).wait_for(timeout=WAIT)
    assert await refusal.count() == 1


async def _add(page: Page, runtime: Runtime) -> None:
    """A short secret is refused in the graph's words; then the source is added, its secret
    stored and never shown."""
    await page.locator("#add-source").click()
    await page.locator("#source-name").fill("shop")
    await page.locator("#source-provider").select_option("hmac")
    await page.locator("#source-secret").fill("too-short")
    await page.locator("#source-options").fill('{"header": "X-Shop-Signature"}')
    await page.locator("#source-form button[type=submit]").click()
    await _refused(page, "at least 16 bytes")
    await page.locator("#source-secret").fill(NEW_SECRET)
    await page.locator("#source-form button[type=submit]").click()
    row = page.locator("#sources tr[data-source=shop]")
    await row.wait_for(timeout=WAIT)
    await page.locator("#source-result").get_by_text("/webhooks/shop").wait_for(timeout=WAIT)
    assert await row.locator("td.secrets").inner_text() == "literal:***"
    assert await row.locator("td.body-limit").inner_text() == "25 MiB"
    assert NEW_SECRET not in await page.content()
    assert await _sql(runtime, "SELECT provider, secrets, options FROM webhooks_sources"
                      " WHERE name = 'shop'") == [{
        "provider": "hmac", "secrets": [NEW_SECRET], "options": {"header": "X-Shop-Signature"}}]


async def _settings(page: Page, runtime: Runtime) -> None:
    """The settings show the schedule as it is; what is changed is saved, the rest kept."""
    row = page.locator("#sources tr[data-source=shop]")
    await row.locator("button.source-settings").click()
    assert await page.locator("#settings-tries").input_value() == "8"
    assert await page.locator("#settings-base").input_value() == "5"
    await page.locator("#settings-tries").fill("3")
    await page.locator("#settings-base").fill("30")
    await page.locator("#settings-body").fill("1048576")
    await shot(page, "sources")
    await page.locator("#settings-form button[type=submit]").click()
    await page.locator("#source-result").get_by_text("now takes bodies up to 1 MiB").wait_for(
        timeout=WAIT)
    assert await row.locator("td.retry").inner_text() == "3 tries, 30 s doubling up to 3600 s"
    assert await _sql(runtime, "SELECT max_body_bytes, retry_max_tries, retry_base_seconds,"
                      " retry_max_seconds FROM webhooks_sources WHERE name = 'shop'") == [{
        "max_body_bytes": 1048576, "retry_max_tries": 3, "retry_base_seconds": 30,
        "retry_max_seconds": 3600}]
    # A schedule that cannot run is refused in one message, nothing saved.
    await row.locator("button.source-settings").click()
    await page.locator("#settings-max").fill("10")
    await page.locator("#settings-form button[type=submit]").click()
    await _refused(page, "must not be less than")
    await page.locator("#settings-form button[type=button]").click()
    assert await row.locator("td.retry").inner_text() == "3 tries, 30 s doubling up to 3600 s"


async def _remove(page: Page, runtime: Runtime) -> None:
    """A wrong name is refused and removes nothing; the name typed removes the source and its
    two deliveries."""
    row = page.locator("#sources tr[data-source=demo]")
    await row.locator("button.remove-source").click()
    await page.locator("#remove-confirm").fill("dem")
    await page.locator("#remove-source-form button[type=submit]").click()
    await _refused(page, "type the source's name")
    assert len(await _sql(runtime, "SELECT id FROM webhooks_deliveries")) == 2
    await page.locator("#remove-confirm").fill("demo")
    await page.locator("#remove-source-form button[type=submit]").click()
    await page.locator("#source-result").get_by_text(
        "Source demo removed, with 2 deliveries.").wait_for(timeout=WAIT)
    assert await row.count() == 0
    assert await _sql(runtime, "SELECT name FROM webhooks_sources") == [{"name": "shop"}]
    assert await _sql(runtime, "SELECT id FROM webhooks_deliveries") == []


async def test_a_person_adds_a_source_changes_its_retries_and_removes_one_by_its_name(
        gateway: tuple[str, Runtime]) -> None:
    graphql, runtime = gateway
    await _seed(runtime)
    async with dashboard(graphql, runtime) as session:
        page = session.page
        await page.locator("nav a[data-page=webhooks]").click()
        await page.locator("#sources tr[data-source=demo]").wait_for(timeout=WAIT)
        await _add(page, runtime)
        await _settings(page, runtime)
        await _remove(page, runtime)
