"""``crossdock worker`` in a subprocess: its ops port, its log ids, and options it refuses."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import Run
from tests.acceptance.processes import Process

SECRET = "a-secret-of-more-than-16-bytes"


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def run(*args: str, env: dict[str, str]) -> Process:
        process = Process(list(args), tmp_path, env)
        started.append(process)
        return process

    yield run
    for process in started:
        process.close()


def _send_push(port: int) -> int:
    """A signed GitHub push sent to the real receiver; the stored delivery's id."""
    body = json.dumps({"ref": "refs/heads/main",
                       "repository": {"clone_url": "https://example.invalid/r.git"}}).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/gh", content=body, headers={
        "content-type": "application/json", "x-github-event": "push",
        "x-github-delivery": str(uuid.uuid4()), "x-hub-signature-256": f"sha256={signature}",
    }, timeout=10)
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def _processed(metrics: str, source: str) -> float:
    prefix = f'crossdock_webhooks_processed_total{{source="{source}"}} '
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0.0


def _ready(base: str) -> httpx.Response:
    """``/readyz`` once it answers 200: the worker logs worker_started before its first database
    check has had a connection, and on a busy machine that check can take seconds."""
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(f"{base}/readyz", timeout=20)
        if answer.status_code == 200:
            return answer
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)


def test_worker_port_serves_health_readiness_and_the_processing_counters(
    crossdock: Run, start: Callable[..., Process], database_url: str
) -> None:
    """The counters a worker keeps while it processes deliveries reach its own /metrics."""
    env = {"DATABASE_URL": database_url}
    added = crossdock("webhooks", "source", "add", "gh", "--provider", "github",
                      "--secret", SECRET, env=env)
    assert added.returncode == 0, added.stderr
    assert crossdock("webhooks", "route", "add", "gh", "--handler", "log",
                     env=env).returncode == 0
    worker = start("worker", "--port", "0", "--concurrency", "2", env=env)
    port = worker.wait_for(lambda line: line.get("event") == "worker_started")["ops_port"]
    base = f"http://127.0.0.1:{port}"

    assert httpx.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
    ready = _ready(base)
    assert ready.json()["checks"] == {"database": True, "migrations": True, "worker": True}

    receiver = start("webhooks", "serve", "--port", "0", env=env)
    receiver_port = receiver.wait_for(
        lambda line: line.get("event") == "webhooks_serving")["port"]
    _send_push(receiver_port)
    deadline = time.monotonic() + 30
    while _processed(httpx.get(f"{base}/metrics", timeout=10).text, "gh") < 1:
        assert time.monotonic() < deadline, "the processed delivery never reached /metrics"
        time.sleep(0.2)
    metrics = httpx.get(f"{base}/metrics", timeout=10)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'crossdock_webhooks_attempts_total{handler="log",status="succeeded"} 1.0' \
        in metrics.text
    assert 'crossdock_webhooks_waiting{status="received"} 0.0' in metrics.text

    assert worker.stop() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=5)


def test_worker_readiness_fails_when_the_database_is_gone(
    start: Callable[..., Process], database_url: str, postgres_server: str
) -> None:
    import psycopg

    worker = start("worker", "--port", "0", env={"DATABASE_URL": database_url})
    port = worker.wait_for(lambda line: line.get("event") == "worker_started")["ops_port"]
    _ready(f"http://127.0.0.1:{port}")
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        # Closes the worker's connections, and new ones are refused: the database is gone.
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", [name])
    try:
        deadline = time.monotonic() + 30
        while True:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=20)
            if answer.status_code == 503:
                break
            assert time.monotonic() < deadline, answer.text
            time.sleep(0.2)
        assert answer.json()["checks"]["database"] is False
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def test_a_delivery_processed_by_a_worker_logs_its_delivery_id_and_job_id(
    crossdock: Run, start: Callable[..., Process], database_url: str
) -> None:
    """A delivery published on the bus: the job that handles it logs both ids."""
    env = {"DATABASE_URL": database_url, "CROSSDOCK_LOG_LEVEL": "debug"}
    added = crossdock("webhooks", "source", "add", "gh", "--provider", "github",
                      "--secret", SECRET, env=env)
    assert added.returncode == 0, added.stderr
    worker = start("worker", env=env)
    worker.wait_for(lambda line: line.get("event") == "worker_started")
    receiver = start("webhooks", "serve", "--port", "0", env=env)
    port = receiver.wait_for(lambda line: line.get("event") == "webhooks_serving")["port"]
    delivery = _send_push(port)

    handled = worker.wait_for(lambda line: line.get("event") == "event_handled"
                              and line.get("delivery_id") == delivery)
    assert handled["handler"] == "gitslice.on_upstream_push"
    assert isinstance(handled["job_id"], int)
    assert isinstance(handled["event_id"], int)
    done = worker.wait_for(lambda line: line.get("event") == "job_done"
                           and line.get("job_id") == handled["job_id"])
    assert done["task"] == "crossdock.bus.handle"
    assert worker.stop() == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--concurrency", "0"], "error: --concurrency must be at least 1, not 0"),
    (["--port", "70000"], "error: --port must be between 0 and 65535, not 70000"),
])
def test_worker_refuses_options_that_cannot_work_in_one_line(
    crossdock: Run, args: list[str], message: str
) -> None:
    """Refused before any database is looked for (this one is unreachable): exit 2."""
    result = crossdock("worker", *args, env={"DATABASE_URL": "postgresql://127.0.0.1:1/none"})
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unknown_queue_lists_the_queues_services_declare(crossdock: Run) -> None:
    result = crossdock("worker", "--queue", "events", "--queue", "webhook",
                       env={"DATABASE_URL": "postgresql://127.0.0.1:1/none"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown queue 'webhook' for --queue; the installed "
                                    "services declare: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    declared = result.stderr.strip().rsplit(": ", 1)[1].split(", ")
    assert {"events", "gitslice", "webhooks", "periodic"} <= set(declared)
