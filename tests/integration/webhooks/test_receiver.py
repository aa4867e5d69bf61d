"""The receiver over real HTTP and PostgreSQL: verify, store, answer, refuse."""

from __future__ import annotations

import base64
import json
import os

import psycopg
import pytest

from crossdock.webhooks import metrics, store
from crossdock.webhooks.models import Source
from crossdock.webhooks.providers.standard import new_key_pair
from tests.integration.webhooks.conftest import SECRET, Stack

pytestmark = pytest.mark.anyio

BODY = json.dumps({"action": "opened", "repository": {"full_name": "octo/repo"}}).encode()
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
HMAC_OPTIONS = {"header": "x-acme-signature", "algorithm": "sha512", "encoding": "base64",
                "prefix": "v1=", "event_header": "x-acme-event",
                "delivery_header": "x-acme-delivery"}

PROVIDERS = [
    ("github", "gh-secret-0123456789", None),
    ("gitlab", "gl-token-0123456789", None),
    ("bitbucket", "bb-secret-0123456789", None),
    ("standard", WHSEC, None),
    ("hmac", "generic-secret-0123456", HMAC_OPTIONS),
]


async def _rows(stack: Stack) -> list[dict]:
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute("SELECT * FROM webhooks_deliveries ORDER BY id")
        return await cursor.fetchall()


async def _runnable(stack: Stack) -> int:
    """How many deliveries a worker would claim now (the claim is rolled back)."""
    async with stack.runtime.database.connection() as conn, \
            conn.transaction(force_rollback=True):
        return len(await store.claim_batch(conn, limit=1000, lease=30))


@pytest.mark.parametrize(("provider", "secret", "options"), PROVIDERS)
async def test_a_correctly_signed_delivery_is_stored_before_202(
    stack: Stack, provider: str, secret: str, options: dict | None
) -> None:
    await stack.add_source("src", provider, [secret], options=options)
    response = await stack.send("src", provider, BODY, secret, event="push",
                                delivery_id="d-1", options=options)
    assert response.status_code == 202, response.text
    rows = await _rows(stack)
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "received"
    assert bytes(row["body"]) == BODY
    assert row["provider_delivery_id"] == "d-1"
    assert row["id"] == response.json()["id"]
    assert "x-gitlab-token" not in row["headers"] or row["headers"]["x-gitlab-token"] == "***"


@pytest.mark.parametrize(("provider", "secret", "options"), PROVIDERS)
async def test_a_wrong_secret_gets_401_and_a_rejected_row_without_body(
    stack: Stack, provider: str, secret: str, options: dict | None
) -> None:
    await stack.add_source("src", provider, [secret], options=options)
    forged = WHSEC.replace("whsec_MDEy", "whsec_OTk5") if provider == "standard" else "forged"
    response = await stack.send("src", provider, BODY, forged, options=options)
    assert response.status_code == 401
    assert response.json()["reason"] == "bad_signature"
    rows = await _rows(stack)
    assert [(r["status"], r["reason"], r["body"]) for r in rows] == [
        ("rejected", "bad_signature", None)]
    assert rows[0]["body_size"] == len(BODY)


@pytest.mark.parametrize(("provider", "secret", "options"), PROVIDERS)
async def test_a_missing_signature_gets_401(
    stack: Stack, provider: str, secret: str, options: dict | None
) -> None:
    await stack.add_source("src", provider, [secret], options=options)
    response = await stack.client.post("/webhooks/src", content=BODY,
                                       headers={"content-type": "application/json"})
    assert response.status_code == 401


async def test_a_tampered_body_gets_401(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    from crossdock.webhooks.providers import make_provider

    headers = make_provider("github").sign(BODY, SECRET, delivery_id="x", event_type="push")
    response = await stack.client.post("/webhooks/gh", content=BODY + b" ", headers=headers)
    assert response.status_code == 401


async def test_any_of_several_secrets_verifies_so_secrets_can_rotate(stack: Stack) -> None:
    os.environ["WEBHOOKS_TEST_NEW_SECRET"] = "new-secret-012345"
    try:
        await stack.add_source("gh", "github",
                               ["old-secret-012345", "env:WEBHOOKS_TEST_NEW_SECRET"])
        old = await stack.send("gh", "github", BODY, "old-secret-012345")
        new = await stack.send("gh", "github", BODY, "new-secret-012345")
        other = await stack.send("gh", "github", BODY, "other-secret-0123")
    finally:
        del os.environ["WEBHOOKS_TEST_NEW_SECRET"]
    assert (old.status_code, new.status_code, other.status_code) == (202, 202, 401)


async def test_standard_webhooks_ed25519_signatures_verify_with_a_public_key(
    stack: Stack,
) -> None:
    private, public = new_key_pair()
    other_private, _ = new_key_pair()
    await stack.add_source("std", "standard", [public])
    good = await stack.send("std", "standard", b'{"type":"user.created"}', private)
    bad = await stack.send("std", "standard", b'{"type":"user.created"}', other_private)
    assert (good.status_code, bad.status_code) == (202, 401)
    rows = await _rows(stack)
    assert rows[0]["event_type"] == "user.created"


async def test_standard_webhooks_refuse_a_timestamp_older_than_five_minutes(
    stack: Stack,
) -> None:
    await stack.add_source("std", "standard", [WHSEC])
    from crossdock.webhooks.providers.standard import StandardProvider

    old = StandardProvider(clock=lambda: 1_700_000_000.0)
    headers = old.sign(BODY, WHSEC, delivery_id="msg_1", event_type="x")
    response = await stack.client.post("/webhooks/std", content=BODY, headers=headers)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["error"]


async def test_a_body_over_the_declared_limit_gets_413_without_being_read(
    stack: Stack,
) -> None:
    await stack.add_source("gh", "github", [SECRET], max_body_bytes=1000)
    big = b'{"a":"' + b"x" * 5000 + b'"}'
    before = metrics.REJECTED.labels("gh", "too_large")._value.get()
    response = await stack.send("gh", "github", big, SECRET)
    assert response.status_code == 413
    assert metrics.REJECTED.labels("gh", "too_large")._value.get() == before + 1
    rows = await _rows(stack)
    assert [(r["status"], r["reason"], r["body"]) for r in rows] == [
        ("rejected", "too_large", None)]


async def test_a_chunked_body_over_the_limit_gets_413(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET], max_body_bytes=1000)

    async def chunks():
        for _ in range(10):
            yield b"x" * 500

    response = await stack.client.post("/webhooks/gh", content=chunks(),
                                       headers={"x-github-event": "push"})
    assert response.status_code == 413


async def test_the_default_limit_is_25_megabytes(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    sources = await stack.api.get("/api/sources")
    assert sources.json()["sources"][0]["max_body_bytes"] == 25 * 1024 * 1024


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
async def test_a_malformed_body_gets_400_and_is_not_stored(stack: Stack, body: bytes) -> None:
    await stack.add_source("gh", "github", [SECRET])
    response = await stack.send("gh", "github", body, SECRET)
    assert response.status_code == 400
    assert response.json()["reason"] == "malformed"
    rows = await _rows(stack)
    assert [(r["status"], r["reason"], r["body"]) for r in rows] == [
        ("rejected", "malformed", None)]


async def test_bodies_where_json_parsers_differ_are_judged_as_the_workers_parse_them(
    stack: Stack,
) -> None:
    # The receiver validates with simdjson, the workers parse with orjson (see json_document).
    await stack.add_source("gh", "github", [SECRET])
    big = b'{"action":"opened","action":"closed","id":123456789012345678901234567890}'
    accepted = await stack.send("gh", "github", big, SECRET)
    refused = await stack.send("gh", "github", b'\xef\xbb\xbf{"action":"opened"}', SECRET)
    assert (accepted.status_code, refused.status_code) == (202, 400)
    rows = {row["status"]: row for row in await _rows(stack)}
    assert rows["received"]["action"] == "closed"
    assert rows["rejected"]["reason"] == "malformed"
    await stack.drain()
    assert [row["status"] for row in await _rows(stack) if row["status"] != "rejected"] == [
        "processed"]


async def test_a_missing_event_header_gets_400(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    response = await stack.send("gh", "github", BODY, SECRET, extra={"x-github-event": ""})
    assert response.status_code == 400


async def test_a_duplicate_delivery_id_gets_200_and_is_not_queued_again(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    first = await stack.send("gh", "github", BODY, SECRET, delivery_id="same")
    second = await stack.send("gh", "github", BODY, SECRET, delivery_id="same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert len(await _rows(stack)) == 1
    assert await _runnable(stack) == 1


async def test_a_forged_request_does_not_block_the_genuine_delivery_with_its_id(
    stack: Stack,
) -> None:
    await stack.add_source("gh", "github", [SECRET])
    forged = await stack.send("gh", "github", BODY, "wrong", delivery_id="same")
    genuine = await stack.send("gh", "github", BODY, SECRET, delivery_id="same")
    assert (forged.status_code, genuine.status_code) == (401, 202)


async def test_an_unknown_source_gets_404_and_get_gets_405(stack: Stack) -> None:
    missing = await stack.client.post("/webhooks/nope", content=BODY)
    await stack.add_source("gh", "github", [SECRET])
    wrong_method = await stack.client.get("/webhooks/gh")
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    # No source can be named with a NUL (nor can the database read one): 404, not 503.
    nul = await stack.client.post("/webhooks/g%00h", content=BODY)
    assert (nul.status_code, nul.json()["error"]) == (404, "no webhook source named 'g\\x00h'")


async def test_an_unset_env_secret_answers_500_without_storing(stack: Stack) -> None:
    await stack.add_source("gh", "github", ["env:WEBHOOKS_TEST_UNSET_VARIABLE"])
    response = await stack.send("gh", "github", BODY, SECRET)
    assert response.status_code == 500
    assert await _rows(stack) == []


@pytest.mark.parametrize("value", ["", "short"])
async def test_an_env_secret_empty_or_short_when_verifying_counts_as_none(
    stack: Stack, value: str,
) -> None:
    """A delivery signed with the empty (or a short) key is refused, never accepted."""
    await stack.add_source("gh", "github", ["env:WEBHOOKS_TEST_SHORT_SECRET"])
    os.environ["WEBHOOKS_TEST_SHORT_SECRET"] = value
    try:
        response = await stack.send("gh", "github", BODY, value)
    finally:
        del os.environ["WEBHOOKS_TEST_SHORT_SECRET"]
    assert response.status_code == 500
    assert await _rows(stack) == []


async def test_a_short_literal_stored_before_the_minimum_is_not_trusted(stack: Stack) -> None:
    async with stack.runtime.database.transaction() as conn:
        await store.add_source(conn, Source(name="gh", provider="github", secrets=("",)))
    response = await stack.send("gh", "github", BODY, "")
    assert response.status_code == 500
    assert await _rows(stack) == []


async def test_an_unset_env_secret_does_not_stop_the_other_secrets_verifying(
    stack: Stack,
) -> None:
    await stack.add_source("gh", "github",
                           ["env:WEBHOOKS_TEST_UNSET_VARIABLE", "literal-secret-0123"])
    response = await stack.send("gh", "github", BODY, "literal-secret-0123")
    assert response.status_code == 202


async def test_gitlab_event_type_and_action_come_from_the_payload(stack: Stack) -> None:
    await stack.add_source("gl", "gitlab", ["gitlab-token-0123456"])
    body = json.dumps({"object_kind": "merge_request",
                       "object_attributes": {"action": "open"}}).encode()
    response = await stack.send("gl", "gitlab", body, "gitlab-token-0123456",
                                event="Merge Request Hook")
    assert response.status_code == 202
    row = (await _rows(stack))[0]
    assert (row["event_type"], row["action"]) == ("merge_request", "open")
    assert row["headers"]["x-gitlab-token"] == "***"


async def test_a_nul_in_a_signed_action_is_malformed_and_spoils_no_other_delivery(
        stack: Stack) -> None:
    """JSON may put U+0000 in the action, a text column may not: refused as malformed, while
    deliveries committed beside it are stored (one bad row used to fail its whole batch)."""
    import asyncio

    await stack.add_source("gh", "github", [SECRET])
    bad = json.dumps({"action": "op\u0000ened"}).encode()
    responses = await asyncio.gather(
        stack.send("gh", "github", bad, SECRET, event="issues", delivery_id="bad"),
        *[stack.send("gh", "github", BODY, SECRET, delivery_id=f"ok-{n}") for n in range(5)])
    assert [r.status_code for r in responses] == [400] + [202] * 5
    assert responses[0].json()["reason"] == "malformed"
    stored = {r["provider_delivery_id"]: r["status"] for r in await _rows(stack)}
    assert stored == {"bad": "rejected", **{f"ok-{n}": "received" for n in range(5)}}


async def test_github_form_encoded_payloads_are_accepted(stack: Stack) -> None:
    from urllib.parse import urlencode

    await stack.add_source("gh", "github", [SECRET])
    body = urlencode({"payload": BODY.decode()}).encode()
    response = await stack.send("gh", "github", body, SECRET,
                                extra={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 202
    assert (await _rows(stack))[0]["action"] == "opened"


async def test_concurrent_deliveries_share_commits_but_each_gets_its_own_answer(
    stack: Stack,
) -> None:
    import asyncio

    await stack.add_source("gh", "github", [SECRET])
    ids = [f"d-{n}" for n in range(30)] + [f"d-{n}" for n in range(10)]
    responses = await asyncio.gather(*[
        stack.send("gh", "github", json.dumps({"n": i}).encode(), SECRET, delivery_id=i)
        for i in ids])
    by_id: dict[str, list[int]] = {}
    for delivery_id, response in zip(ids, responses, strict=True):
        by_id.setdefault(delivery_id, []).append(response.status_code)
    assert all(sorted(codes) == ([200, 202] if len(codes) == 2 else [202])
               for codes in by_id.values())
    rows = await _rows(stack)
    assert sorted(r["provider_delivery_id"] for r in rows) == sorted(set(ids))
    accepted = {r.json()["delivery_id"]: r.json()["id"] for r in responses
                if r.status_code == 202}
    assert {r["provider_delivery_id"]: r["id"] for r in rows} == accepted
    assert await _runnable(stack) == 30


async def test_a_stored_delivery_wakes_a_listening_worker(stack: Stack) -> None:
    await stack.add_source("gh", "github", [SECRET])
    async with await psycopg.AsyncConnection.connect(stack.database_url,
                                                     autocommit=True) as listener:
        await listener.execute("LISTEN crossdock_webhooks")
        response = await stack.send("gh", "github", BODY, SECRET)
        assert response.status_code == 202
        woken = [n.channel async for n in listener.notifies(timeout=5, stop_after=1)]
    assert woken == ["crossdock_webhooks"]
