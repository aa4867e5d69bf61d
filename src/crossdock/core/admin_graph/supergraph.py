"""The admin supergraph that ``crossdock up`` serves through the gateway, and its gateway config.

The supergraph is composed ahead of time from the subgraphs' SDL (``scripts/compose-admin-graph``
runs Apollo's composition at development time; a test checks that the committed files match the
subgraphs), once with the demo subgraphs (``supergraph-demo.graphql``) and once without. Each
subgraph's URL is a placeholder, ``http://<name>.invalid/graphql``, filled in at start.

``gateway.yaml`` is the gateway configuration ``crossdock up`` uses when none is set: it
propagates the client's ``Authorization`` header to the admin subgraphs (and to them only) and
lets their error messages through, which name what a token lacks.

Importing this module does not import strawberry: the gateway reads it whatever is installed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib.resources import as_file, files
from pathlib import Path

#: The admin subgraphs, by the name the supergraph gives them.
SUBGRAPHS = ("core", "gateway", "gitslice", "webhooks")
#: The demo subgraphs ``supergraph-demo.graphql`` also federates.
DEMO_SUBGRAPHS = ("products", "reviews")


def placeholder(name: str) -> str:
    """The URL a committed supergraph gives subgraph ``name``."""
    return f"http://{name}.invalid/graphql"


def committed(*, demo: bool) -> str:
    """The committed supergraph, with its placeholders."""
    name = "supergraph-demo.graphql" if demo else "supergraph.graphql"
    return (files(__package__) / name).read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AdminSupergraph:
    """Where ``crossdock up`` serves the admin subgraphs, for the gateway to federate them."""

    #: Each admin subgraph's URL by name.
    urls: Mapping[str, str]

    def text(self, demo_urls: Mapping[str, str] | None = None) -> str:
        """The supergraph with every URL filled in (with the demo subgraphs if given)."""
        text = committed(demo=bool(demo_urls))
        for name, url in {**self.urls, **(demo_urls or {})}.items():
            text = text.replace(placeholder(name), url)
        return text

    @staticmethod
    def gateway_config() -> Path:
        """The gateway configuration file for the admin subgraphs (a file in the package)."""
        with as_file(files(__package__) / "gateway.yaml") as path:
            return Path(path)
