"""The committed admin supergraphs were composed from the admin subgraphs as they are now."""

from __future__ import annotations

import pytest

from crossdock.core.admin_graph.sdl import admin_sdl, demo_sdl, digest_line
from crossdock.core.admin_graph.supergraph import (
    SUBGRAPHS,
    AdminSupergraph,
    committed,
    placeholder,
)
from crossdock.gateway.supergraph import Supergraph

STALE = "the admin subgraphs' SDL changed: run scripts/compose-admin-graph and commit the result"


@pytest.mark.parametrize("demo", [False, True])
def test_each_committed_supergraph_records_the_sdl_of_todays_subgraphs(demo: bool) -> None:
    sdl = {**admin_sdl(), **(demo_sdl() if demo else {})}
    assert committed(demo=demo).splitlines()[0] == digest_line(sdl), STALE


def test_the_gateway_reads_the_admin_supergraph_with_every_url_filled_in() -> None:
    urls = {name: f"http://127.0.0.1:9/{name}/graphql" for name in SUBGRAPHS}
    demo = {"products": "http://127.0.0.1:8/graphql", "reviews": "http://127.0.0.1:7/graphql"}
    text = AdminSupergraph(urls=urls).text(demo)
    assert ".invalid" not in text
    supergraph = Supergraph(text, source="test")
    assert {s.name: s.url for s in supergraph.subgraphs.values()} == {**urls, **demo}
    assert placeholder("core") in AdminSupergraph(urls={}).text()
