"""Replay all 329 payloads of @octokit/webhooks-examples through a real receiver and worker.

Sends each payload once with correct GitHub headers and signature, then again (a redelivery:
same delivery id), plus forged signatures, oversized bodies and malformed bodies. Then it
checks through ``crossdock webhooks deliveries --json`` that every valid delivery was stored
once and processed exactly once (one try, status processed) and that no invalid request was
accepted. Exit code 1 on any mismatch.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/webhooks/replay.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter

import httpx
from harness import HERE, SECRET, crossdock, examples, free_port, fresh_database, serve, \
    wait_until_settled, worker

from crossdock.webhooks.providers import make_provider

GITHUB = make_provider("github")
FORGED = 50
OVERSIZED = 3
MALFORMED = 5
CONCURRENCY = 20


async def send_all(port: int, requests: list[tuple[str, bytes, dict[str, str], int]]) -> list[
        tuple[str, int, int]]:
    """Send ``(kind, body, headers, expected status)``; ``(kind, expected, got)`` for each."""
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str], int]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    results: list[tuple[str, int, int]] = []

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind, body, headers, expected = queue.get_nowait()
            response = await client.post(f"http://127.0.0.1:{port}/webhooks/gh",
                                         content=body, headers=headers)
            results.append((kind, expected, response.status_code))

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*[sender(client) for _ in range(CONCURRENCY)])
    return results


def main() -> int:
    payloads = examples()
    print(f"{len(payloads)} example payloads, {len({e for e, _ in payloads})} event types")
    valid: dict[str, str] = {}
    first, second, invalid = [], [], []
    for event, body in payloads:
        delivery = str(uuid.uuid4())
        valid[delivery] = event
        headers = GITHUB.sign(body, SECRET, delivery_id=delivery, event_type=event)
        first.append(("valid", body, headers, 202))
        second.append(("duplicate", body, headers, 200))
    forged_ids, malformed_ids = set(), set()
    for event, body in payloads[:FORGED]:
        delivery = str(uuid.uuid4())
        forged_ids.add(delivery)
        invalid.append(("forged", body, GITHUB.sign(body, "not-the-secret", delivery_id=delivery,
                                                    event_type=event), 401))
    for n in range(MALFORMED):
        body = b'{"truncated": ' + str(n).encode()
        delivery = str(uuid.uuid4())
        malformed_ids.add(delivery)
        invalid.append(("malformed", body, GITHUB.sign(body, SECRET, delivery_id=delivery,
                                                       event_type="push"), 400))
    big = b'{"pad":"' + b"x" * (25 * 1024 * 1024 + 10) + b'"}'
    oversized_ids = set()
    for _ in range(OVERSIZED):
        delivery = str(uuid.uuid4())
        oversized_ids.add(delivery)
        invalid.append(("oversized", big, GITHUB.sign(big, SECRET, delivery_id=delivery,
                                                      event_type="push"), 413))

    with fresh_database() as url:
        crossdock(url, "webhooks", "source", "add", "gh", "--provider", "github",
                  "--secret", SECRET)
        port = free_port()
        with serve(url, port), worker(url):
            started = time.monotonic()
            results = asyncio.run(send_all(port, first + invalid))
            results += asyncio.run(send_all(port, second))
            sent_in = time.monotonic() - started
            settled_in = wait_until_settled(url)
        output = crossdock(url, "webhooks", "deliveries", "--json", "--limit", "100000")
    try:
        listed = json.loads(output)
    except json.JSONDecodeError:
        (HERE / ".results").mkdir(exist_ok=True)
        (HERE / ".results" / "deliveries.txt").write_text(output)
        raise

    failures: list[str] = []
    answers = Counter((kind, expected, got) for kind, expected, got in results)
    for (kind, expected, got), n in sorted(answers.items()):
        print(f"  {kind:<10} expected {expected}  got {got}  x{n}")
        if expected != got:
            failures.append(f"{n} {kind} request(s) answered {got}, expected {expected}")
    accepted = [d for d in listed if d["status"] != "rejected"]
    by_id = Counter(d["provider_delivery_id"] for d in accepted)
    for delivery, event in valid.items():
        if by_id[delivery] != 1:
            failures.append(f"delivery {delivery} ({event}) stored {by_id[delivery]} times")
    for d in accepted:
        if d["provider_delivery_id"] not in valid:
            failures.append(f"an invalid request was accepted: {d['provider_delivery_id']}")
        elif (d["status"], d["tries"], d["generation"]) != ("processed", 1, 0):
            failures.append(f"delivery {d['id']} is {d['status']} after {d['tries']} tries")
    rejected = Counter(d["reason"] for d in listed if d["status"] == "rejected")
    expected_rejected = {"bad_signature": FORGED, "malformed": MALFORMED,
                         "too_large": OVERSIZED}
    if dict(rejected) != expected_rejected:
        failures.append(f"rejected rows {dict(rejected)}, expected {expected_rejected}")
    print(f"sent {len(results)} requests in {sent_in:.1f} s; all processed "
          f"{settled_in:.1f} s after the last answer")
    print(f"stored {len(accepted)} deliveries ({len(valid)} valid sent), "
          f"{sum(rejected.values())} rejected rows {dict(rejected)}")
    if failures:
        print("FAILED:")
        for failure in failures[:50]:
            print("  " + failure)
        return 1
    print("OK: every valid delivery stored once and processed exactly once; "
          "no invalid request accepted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
