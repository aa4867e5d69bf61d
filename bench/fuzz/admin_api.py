"""Fuzz the webhooks admin API from its OpenAPI document, for as long as asked.

Serves ``crossdock webhooks serve`` on 127.0.0.1 over a database created for the run (on
DATABASE_URL, dropped at the end) with an admin token, and runs schemathesis against
``/api/openapi.json``: examples, coverage, fuzzing and stateful phases (the document's
inferred links chain a created source, route, application or endpoint into the operations
that take it). Every check runs but two. ``positive_data_acceptance``: which handler names or
secrets a request may use depends on what is installed and configured, which no document can
say, so a valid-looking route or source that is refused is not a finding.
``ensure_resource_availability``: a message sent to an application just created is 404 when
its event type is unknown (as documented), which that check takes for the application missing.
The receiver (``POST /webhooks/{source}``) is left to the property test in tests/, which signs
its bodies.

After the run the server's log is searched for a traceback. Exit code 0 when schemathesis
found nothing and the log has none, 1 otherwise.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python bench/fuzz/admin_api.py --cases 5000 [--seed N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "webhooks"))

from harness import crossdock, free_port, fresh_database, wait_for_port

#: Operations the run covers (the receiver is not among them), for cases per operation.
OPERATIONS = 25
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Exception in ASGI application")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000,
                        help="about how many test cases to generate in all (default 5000)")
    parser.add_argument("--seed", type=int, default=None, help="schemathesis's seed")
    parser.add_argument("--workers", type=int, default=1, help="concurrent schemathesis workers")
    return parser.parse_args()


def fuzz(url: str, token: str, options: argparse.Namespace, folder: str) -> int:
    """schemathesis's exit code against the API at ``url`` (its cache kept in ``folder``)."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/openapi.json",
        "--url", url, "-H", f"Authorization: Bearer {token}",
        "--exclude-path", "/webhooks/{source}",
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance,ensure_resource_availability",
        "--max-examples", str(max(1, options.cases // OPERATIONS)),
        "--workers", str(options.workers), "--no-color",
    ]
    if options.seed is not None:
        command += ["--seed", str(options.seed)]
    return subprocess.run(command, check=False, cwd=folder).returncode


def main() -> int:
    options = arguments()
    with fresh_database() as database_url, tempfile.TemporaryDirectory() as folder:
        token = crossdock(database_url, "admin", "token", "create", "--role", "admin",
                          "--name", "fuzz").split()[0]
        port = free_port()
        log = Path(folder) / "serve.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [sys.executable, "-m", "crossdock", "webhooks", "serve", "--port", str(port)],
                env={**os.environ, "DATABASE_URL": database_url}, stdout=sink, stderr=sink)
            try:
                wait_for_port(port)
                found = fuzz(f"http://127.0.0.1:{port}", token, options, folder)
            finally:
                server.terminate()
                server.wait(timeout=20)
        tracebacks = [line for line in log.read_text(errors="replace").splitlines()
                      if TRACEBACK.search(line)]
        if tracebacks:
            # A logged exception carries every frame's locals: its start and its last frame
            # (where it was raised) say enough.
            print(f"the server logged {len(tracebacks)} traceback(s):")
            for line in tracebacks:
                print(f"{line[:300]} ... {line[-600:]}" if len(line) > 1000 else line)
        else:
            print("the server logged no traceback")
    return 1 if found or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
