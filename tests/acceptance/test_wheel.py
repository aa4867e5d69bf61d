"""The wheel carries the package data the services serve: GraphiQL's and the dashboard's."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRAPHIQL = "crossdock/gateway/static/graphiql/"
DASHBOARD = "crossdock/core/dashboard/static/"


def test_the_wheel_carries_graphiql_its_licenses_and_the_dashboard(tmp_path: Path) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "the wheel is built with uv, as in the image; run the tests with uv"
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("crossdock-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js",
                 "react-dom.production.min.js", "start.js", "page.css",
                 "LICENSE.graphiql", "LICENSE.react", "LICENSE.react-dom"):
        assert GRAPHIQL + name in names, name
    static = ROOT / "src" / "crossdock" / "core" / "dashboard" / "static"
    for asset in static.iterdir():
        assert DASHBOARD + asset.name in names, asset.name
