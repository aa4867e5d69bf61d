"""The admin subgraphs' SDL, as a gateway or a composition tool fetches it (``_service``).

``python -m crossdock.core.admin_graph.sdl FOLDER`` writes ``<name>.graphql`` for each admin
subgraph and each demo subgraph; ``scripts/compose-admin-graph`` composes them into the
committed supergraphs. Each supergraph's first line records a digest of the SDL it was composed
from (:func:`digest_line`), which a test compares with the subgraphs' SDL of the day.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from crossdock.core.admin_graph.mount import schemas
from crossdock.core.admin_graph.serving import AdminSchema
from crossdock.core.admin_graph.supergraph import DEMO_SUBGRAPHS
from crossdock.core.services import discover


def service_sdl(schema: AdminSchema) -> str:
    """What the subgraph answers to ``{ _service { sdl } }``."""
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.data is not None, result.errors  # the federation schema always has it
    return str(result.data["_service"]["sdl"])


def admin_sdl() -> dict[str, str]:
    """Each admin subgraph's SDL, by name."""
    return {name: service_sdl(schema) for name, schema in sorted(schemas(discover()).items())}


def demo_sdl() -> dict[str, str]:
    """The demo subgraphs' SDL (files of the gateway's demo package)."""
    from importlib.resources import files

    package = files("crossdock.gateway.demo")
    return {name: (package / f"{name}.graphql").read_text(encoding="utf-8")
            for name in DEMO_SUBGRAPHS}


def digest_line(sdl: dict[str, str]) -> str:
    """The comment that heads a supergraph composed from ``sdl`` (name -> SDL)."""
    parts = " ".join(f"{name}={hashlib.sha256(text.encode()).hexdigest()[:16]}"
                     for name, text in sorted(sdl.items()))
    return f"# composed from: {parts}"


def main(argv: list[str]) -> int:
    """Write every subgraph's SDL into the folder ``argv[0]``."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m crossdock.core.admin_graph.sdl FOLDER\n")
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    admin, demo = admin_sdl(), demo_sdl()
    for name, text in {**admin, **demo}.items():
        (folder / f"{name}.graphql").write_text(text, encoding="utf-8")
    (folder / "admin.digest").write_text(digest_line(admin) + "\n", encoding="utf-8")
    (folder / "demo.digest").write_text(digest_line({**admin, **demo}) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
