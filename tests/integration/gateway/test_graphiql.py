"""GraphiQL: served from the wheel, it renders and runs a query in headless Chromium offline.

The browser is the system's Chromium (Debian's ``chromium`` package) driven by Playwright;
every request to anything but 127.0.0.1 is aborted, and the page's Content-Security-Policy
allows only the gateway's own origin, so an asset from a CDN or an inline script would show.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from crossdock.gateway import graphiql
from tests.integration.gateway import shop as shop_subgraphs
from tests.integration.gateway.federation import INTROSPECTION, running

if TYPE_CHECKING:
    from playwright.async_api import Route

    from tests.integration.gateway.federation import Federation

pytestmark = pytest.mark.anyio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VENDORED = ("graphiql.min.js", "graphiql.min.css", "react.production.min.js",
            "react-dom.production.min.js", "LICENSE.graphiql", "LICENSE.react",
            "LICENSE.react-dom")


def test_the_assets_and_their_licenses_are_package_data() -> None:
    folder = resources.files("crossdock.gateway").joinpath("static", "graphiql")
    for name in VENDORED:
        assert folder.joinpath(name).is_file(), name


def test_the_page_loads_nothing_from_elsewhere_and_has_no_inline_script() -> None:
    page = graphiql.PAGE.decode()
    assert "://" not in page
    # Every script is an empty element with a src: none has inline code.
    assert len(re.findall(r'<script src="[^"]+"></script>', page)) == page.count("<script") == 4
    assert "<style" not in page
    assert " style=" not in page


async def test_graphiql_assets_are_served_with_their_media_types(shop: Federation) -> None:
    page = await shop.client.get(shop.url + "/graphql", headers={"accept": "text/html"})
    assert page.headers["content-security-policy"] == graphiql.CSP.decode()
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = await shop.client.get(shop.url + src)
        assert asset.status_code == 200, src
        assert asset.headers["content-type"].startswith(
            "text/css" if src.endswith(".css") else "text/javascript"), src
    for missing in ("nope.js", "LICENSE.react", "..%2Fgraphiql.py", "../graphiql.py"):
        answer = await shop.client.get(f"{shop.url}{graphiql.PREFIX}{missing}")
        assert answer.status_code == 404, missing


async def test_graphiql_renders_and_runs_a_query_offline_under_its_csp() -> None:
    """GraphiQL reads the schema by introspection, which the configuration turns on."""
    from playwright.async_api import async_playwright

    assert shutil.which(CHROMIUM), "install Chromium (Debian: apt-get install chromium)"
    outside: list[str] = []
    problems: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
            return
        outside.append(route.request.url)
        await route.abort()

    async with running("shop", shop_subgraphs.build(), config=INTROSPECTION) as shop, \
            async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            await page.route("**/*", only_local)
            page.on("console", lambda message: problems.append(message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            await page.goto(shop.url + "/graphql")
            editor = page.locator(".graphiql-query-editor .CodeMirror")
            await editor.wait_for(timeout=30_000)
            await page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror')"
                                ".CodeMirror.setValue('{ me { id name } }')")
            await page.locator(".graphiql-execute-button").click()
            response = page.locator(".graphiql-response")
            await response.get_by_text('"Ada Lovelace"').wait_for(timeout=30_000)
        finally:
            await browser.close()
    assert outside == []
    assert problems == []
