"""The dashboard's page and assets: from the wheel, under a CSP of its own origin only."""

from __future__ import annotations

import re
from importlib import resources

import httpx
import pytest

from crossdock.core.dashboard import app as dashboard
from crossdock.core.dashboard.process import check_graphql_url
from crossdock.core.errors import ConfigError

pytestmark = pytest.mark.anyio

PAGE = resources.files("crossdock.core.dashboard").joinpath("static", "index.html")
#: Every module of the dashboard, found rather than listed, so that a new page is checked too.
SCRIPTS = sorted(item.name for item in PAGE.parent.iterdir() if item.name.endswith(".js"))


def test_the_page_loads_nothing_from_elsewhere_and_has_no_inline_script_or_style() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert "://" not in page
    scripts = re.findall(r'<script type="module" src="([^"]+)"></script>', page)
    assert scripts == ["static/dashboard.js"]
    assert page.count("<script") == 1
    assert "<style" not in page
    assert " style=" not in page
    assert re.search(r"\son\w+=", page) is None


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_script_never_parses_text_as_html_nor_calls_another_origin(name: str) -> None:
    script = dashboard.asset(name)
    assert script is not None
    # The SVG namespace is a name charts.js creates elements in, not an address it calls.
    text = script[0].decode().replace('"http://www.w3.org/2000/svg"', "")
    assert "innerHTML" not in text
    assert "://" not in text
    assert "eval(" not in text
    # Its imports are modules of the same folder, served like it.
    for imported in re.findall(r'from "\./([^"]+)"', text):
        assert imported in SCRIPTS, imported


async def test_each_asset_is_served_with_its_media_type_and_the_csp() -> None:
    app = dashboard.DashboardApp(lambda: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dashboard") as client:
        page = await client.get("/")
        assert page.headers["content-security-policy"] == dashboard.CSP.decode()
        assert page.headers["content-type"].startswith("text/html")
        for src in re.findall(r'(?:src|href)="(static/[^"]+)"', page.text):
            asset = await client.get(f"/{src}")
            assert asset.status_code == 200, src
            assert asset.headers["content-security-policy"] == dashboard.CSP.decode()
            assert asset.headers["content-type"].startswith(
                "text/css" if src.endswith(".css") else "text/javascript"), src
        for missing in ("nope.js", "../app.py", "..%2Fapp.py", "app.py", ".hidden.js"):
            answer = await client.get(f"{dashboard.PREFIX}{missing}")
            assert answer.status_code == 404, missing
        assert (await client.delete("/")).status_code == 405


async def test_graphql_without_a_gateway_is_a_503_with_a_graphql_error() -> None:
    app = dashboard.DashboardApp(lambda: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dashboard") as client:
        answer = await client.post("/graphql", json={"query": "{ services { name } }"})
    assert answer.status_code == 503
    assert answer.json()["errors"] == [{"message": "the dashboard knows no gateway yet",
                                        "extensions": {"code": "SERVICE_UNAVAILABLE"}}]


async def test_a_request_over_the_limit_is_413_bad_request_and_not_forwarded() -> None:
    forwarded: list[str] = []
    app = dashboard.DashboardApp(lambda: forwarded.append("asked") or "http://gateway/graphql")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dashboard") as client:
        answer = await client.post("/graphql", content=b"a" * (dashboard.MAX_BODY + 1))
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert forwarded == []


@pytest.mark.parametrize("url", ["ftp://gateway/graphql", "gateway:4000/graphql",
                                 "http://gateway/graphql\nX-Evil: 1"])
def test_a_gateway_url_that_is_not_http_is_refused_before_serving(url: str) -> None:
    with pytest.raises(ConfigError, match="--graphql-url must be an http"):
        check_graphql_url(url)
