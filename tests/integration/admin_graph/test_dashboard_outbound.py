"""The dashboard's outbound page in headless Chromium: a message sent to a real receiver on
127.0.0.1 (the SSRF guard opened for it by configuration, as a deployment would) is seen
delivered; the receiver then fails, the message is resent from the page and the failed attempt
appears; an endpoint is disabled and enabled; a read token's resend is refused."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from crossdock.webhooks.outbound.models import EndpointSettings
from crossdock.webhooks.outbound.service import Outbound
from tests.integration.admin_graph.browser import WAIT, dashboard, refused_to_a_reader, shot
from tests.integration.webhooks.outbound.endpoints import Answer, Received, serving
from tests.integration.webhooks.outbound.endpoints import Endpoint as Receiver

if TYPE_CHECKING:
    from playwright.async_api import Page

    from crossdock.core.runtime import Runtime

pytestmark = pytest.mark.anyio


class Switch:
    """The receiver's answer: 200 until it is told to fail."""

    def __init__(self) -> None:
        self.failing = False

    def __call__(self, _: Received) -> Answer:
        return Answer(status=500, body=b"receiver down") if self.failing else Answer()


async def _delivered(receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + WAIT / 1000
    while len(receiver.received) < count:
        assert time.monotonic() < deadline, f"the receiver got {len(receiver.received)} requests"
        await asyncio.sleep(0.05)


async def _seed(runtime: Runtime, url: str) -> tuple[int, int]:
    """Application ``acme`` with an endpoint at ``url`` and application ``billing`` with one
    disabled by hand, and 26 messages (more than a page) sent to nobody; the event type
    ``invoice.paid``. Returns both endpoints' ids."""
    out = Outbound(runtime.database)
    await out.add_application("acme", "the shop")
    await out.add_application("billing")
    await out.add_event_type("invoice.paid", description="an invoice was paid")
    receiving = await out.add_endpoint("acme", EndpointSettings(url=url + "/hook"))
    other = await out.add_endpoint("billing", EndpointSettings(
        url="https://billing.example/hooks", event_types=("invoice.paid",)))
    await out.disable_endpoint(other.id, "moved to a new host")
    for number in range(26):
        await out.send("billing", "invoice.paid", {"invoice": {"number": number}})
    return receiving.id, other.id


async def _see_it_delivered(page: Page, url: str, message: int, endpoint: int) -> None:
    await page.goto(f"{url}/#/outbound")
    row = page.locator(f"#messages tr[data-message='{message}']")
    await row.locator("[data-status=SUCCEEDED]").wait_for(timeout=WAIT)
    endpoints = page.locator("#endpoints")
    await endpoints.locator(f"tr[data-endpoint='{endpoint}']").get_by_text(
        "100% of 1 attempt").wait_for(timeout=WAIT)
    await endpoints.locator("[data-status=DISABLED]").wait_for(timeout=WAIT)
    # The filters narrow the messages: billing's, 25 a page, then acme's by status.
    await page.locator("#filter-app").select_option("billing")
    await page.locator("#message-filters button[type=submit]").click()
    await page.locator("main[data-route='#/outbound?app=billing']").wait_for(timeout=WAIT)
    billing = page.locator("#messages tr[data-message]")
    assert await billing.count() == 25
    assert await billing.get_by_text("acme").count() == 0
    await page.locator("a.older").click()
    await page.locator("main[data-route*='after=']").wait_for(timeout=WAIT)
    assert await billing.count() == 1
    # The oldest, sent to no endpoint (billing's only one is disabled).
    await billing.get_by_text("no endpoint took it").wait_for(timeout=WAIT)
    await page.goto(f"{url}/#/outbound?app=acme&eventType=invoice.paid&status=SUCCEEDED")
    await row.wait_for(timeout=WAIT)


async def _resend_to_a_failing_receiver(page: Page, message: int, endpoint: int,
                                        switch: Switch, receiver: Receiver) -> None:
    await page.locator(f"#messages tr[data-message='{message}'] a").click()
    assert '"number": 7' in await page.locator("#payload").inner_text()
    attempts = page.locator("#outbound-attempts tr[data-attempt]")
    await attempts.first.wait_for(timeout=WAIT)
    assert await attempts.count() == 1
    switch.failing = True
    await page.locator(f"#destinations button.resend[data-endpoint='{endpoint}']").click()
    notice = page.locator("#resend-notice")
    await notice.get_by_text("settled").wait_for(timeout=WAIT)
    # The new attempt failed: the destination waits for its retry, the 500 is shown.
    assert "failed (HTTP 500), next try" in await notice.inner_text()
    await _delivered(receiver, 2)
    assert await attempts.count() == 2
    failed = attempts.nth(1)
    assert "500" in await failed.inner_text()
    assert "receiver down" in await failed.inner_text()
    destination = page.locator(f"#destinations tr[data-endpoint='{endpoint}']")
    await destination.locator("[data-status=PENDING]").wait_for(timeout=WAIT)
    await shot(page, "outbound-message")


async def _disable_and_enable(page: Page, url: str, endpoint: int) -> None:
    await page.goto(f"{url}/#/outbound?app=acme")
    row = page.locator(f"#endpoints tr[data-endpoint='{endpoint}']")
    # Its last attempt failed: failing, one attempt of two succeeded.
    await row.locator("[data-status=FAILING]").wait_for(timeout=WAIT)
    await row.get_by_text("50% of 2 attempts").wait_for(timeout=WAIT)
    await page.locator("#messages [data-status=PENDING]").wait_for(timeout=WAIT)
    await shot(page, "outbound")
    await row.locator("button.disable").click()
    await row.locator("[data-status=DISABLED]").wait_for(timeout=WAIT)
    await row.get_by_text("disabled from the dashboard").wait_for(timeout=WAIT)
    await row.locator("button.enable").click()
    # Enabled again, its failing streak starts over.
    await row.locator("[data-status=ENABLED]").wait_for(timeout=WAIT)


async def test_a_message_is_seen_delivered_then_resent_to_a_failing_receiver(
        gateway: tuple[str, Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    graphql, runtime = gateway
    # The receiver is on 127.0.0.1, which the SSRF guard refuses unless allowed; a failed
    # try is retried an hour later, so the page shows the retry waiting.
    monkeypatch.setenv("CROSSDOCK_WEBHOOKS_OUTBOUND_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("CROSSDOCK_WEBHOOKS_OUTBOUND_SCHEDULE", "3600")
    switch = Switch()
    async with serving(Receiver(behaviour=switch)) as receiver:
        endpoint, _ = await _seed(runtime, receiver.url)
        async with dashboard(graphql, runtime) as session:
            page = session.page
            sent = await Outbound(runtime.database).send("acme", "invoice.paid",
                                                         {"invoice": {"number": 7}})
            message = sent.message.id
            await _delivered(receiver, 1)
            await _see_it_delivered(page, session.url, message, endpoint)
            await _resend_to_a_failing_receiver(page, message, endpoint, switch, receiver)
            await _disable_and_enable(page, session.url, endpoint)
            # A read token sees the message, and its resend is refused, clearly.
            await refused_to_a_reader(session, f"#/outbound/{message}", "#resend-failed",
                                      "#resend-result")
    assert len(receiver.received) == 2
