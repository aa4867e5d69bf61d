"""The dashboard in headless Chromium, for the browser tests of each page.

The browser (Debian's ``chromium``, driven by Playwright) may reach nothing but 127.0.0.1, and
what went wrong in it (a console error, a failed request, a request elsewhere) is collected for
the test to assert empty. ``dashboard()`` serves the dashboard in front of the ``gateway``
fixture's GraphQL URL with the job worker and the services' loops running, as under
``crossdock up``. With ``CROSSDOCK_DASHBOARD_SCREENSHOTS=<folder>``, ``shot()`` writes each
page's screenshot there (``docs/images`` holds the committed ones).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from crossdock.core.dashboard.app import DashboardApp
from crossdock.core.tokens import Role, TokenStore
from crossdock.core.up import service_workers
from tests.integration.gateway.federation import Servers
from tests.integration.gateway.test_graphiql import ARGS, CHROMIUM

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

    from crossdock.core.runtime import Runtime

SHOTS = os.environ.get("CROSSDOCK_DASHBOARD_SCREENSHOTS")
#: How long a test waits for something to appear, in milliseconds.
WAIT = 20_000


@contextlib.asynccontextmanager
async def workers(runtime: Runtime, queues: list[str] | None = None) -> AsyncIterator[None]:
    """The job worker (of ``queues``, or all) and the services' own loops, as ``crossdock up``
    runs them."""
    running = [asyncio.create_task(runtime.jobs.run_worker(concurrency=2, queues=queues)),
               *service_workers(runtime, None)]
    try:
        yield
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"dashboard-{name}.png"), full_page=True)


async def log_in(page: Page, url: str, token: str) -> None:
    await page.goto(url + "/")
    await page.locator("#token").fill(token)
    await page.locator("#login button[type=submit]").click()


@dataclasses.dataclass
class Browser:
    """A page that may reach only 127.0.0.1, and what went wrong in it."""

    page: Page
    outside: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)


@contextlib.asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    assert shutil.which(CHROMIUM), "install Chromium (Debian: apt-get install chromium)"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await chromium.new_page(viewport={"width": 1280, "height": 800})
            found = Browser(page=page)

            async def only_local(route: Route) -> None:
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    await route.continue_()
                    return
                found.outside.append(route.request.url)
                await route.abort()

            await page.route("**/*", only_local)
            page.on("console", lambda message: found.problems.append(message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: found.problems.append(str(error)))
            page.on("requestfailed", lambda request: found.problems.append(request.url))
            yield found
        finally:
            await chromium.close()


@dataclasses.dataclass
class Session:
    """A browser on the dashboard, and the tokens it may log in with."""

    browser: Browser
    url: str
    admin: str
    read: str

    @property
    def page(self) -> Page:
        return self.browser.page


async def refused_to_a_reader(session: Session, route: str, button: str, result: str) -> None:
    """Log in again with the read token, open ``route`` and click ``button``: the change is
    refused, and ``result`` says an admin token is needed."""
    page = session.page
    await page.locator("#logout").click()
    await log_in(page, session.url, session.read)
    await page.locator("#services").wait_for(timeout=WAIT)
    await page.goto(f"{session.url}/{route}")
    await page.locator(button).click()
    refused = page.locator(f"{result} [role=alert]")
    await refused.wait_for(timeout=WAIT)
    assert "read role" in await refused.inner_text()


@contextlib.asynccontextmanager
async def dashboard(graphql: str, runtime: Runtime, *, logged_in: bool = True,
                    ) -> AsyncIterator[Session]:
    """The dashboard in front of ``graphql``, a browser on it (logged in with an admin token
    unless ``logged_in`` is false) and the workers running. On leaving, the browser must have
    reached only 127.0.0.1 and seen no error."""
    tokens = TokenStore(runtime.database)
    _, admin = await tokens.create(role=Role.ADMIN, name="dashboard")
    _, read = await tokens.create(role=Role.READ, name="viewer")
    servers = Servers()
    try:
        url = await servers.start(DashboardApp(lambda: graphql))
        async with workers(runtime), browser() as found:
            session = Session(browser=found, url=url, admin=admin, read=read)
            if logged_in:
                await log_in(found.page, url, admin)
                await found.page.locator("#services").wait_for(timeout=WAIT)
            yield session
            assert found.outside == []
            assert found.problems == []
    finally:
        await servers.stop()
