"""The long run of the admin graph's property tests: many generated requests per subgraph.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        uv run --frozen python bench/fuzz/admin_graph.py [--cases 2000] [--only webhooks]

Runs ``tests/integration/admin_graph/test_fuzz.py`` with ``--cases`` examples per test (the
suite runs a dozen or so, always the same) and a new random seed each time: generated queries
and mutations of each admin subgraph from its own schema, mangled requests to each subgraph,
and generated and mangled requests to the gateway in front of them, over real HTTP on
127.0.0.1 and a scratch database per test. A failure prints the request (``fuzz:`` and
``request:`` lines) and the answer; add it as a regression example next to the tests of its
area once fixed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = "tests/integration/admin_graph/test_fuzz.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=2000,
                        help="examples per test (default: 2000)")
    parser.add_argument("--only", default="",
                        help="run the tests whose name has this (a subgraph, gateway)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.stderr.write("set DATABASE_URL to a PostgreSQL server the run may create"
                         " databases on\n")
        return 2
    command = [sys.executable, "-m", "pytest", "-q", "--tb=native",
               TESTS, *(["-k", args.only] if args.only else [])]
    env = {**os.environ, "CROSSDOCK_FUZZ_CASES": str(args.cases)}
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
