"""Generated requests to the receiver, for each provider: whatever the path, headers and body,
signed or not, it answers without a 5xx, accepts only what a secret's holder sent, and stores
nothing for a refusal but its ``rejected`` row (without a body).

Hypothesis runs in a thread (its examples are synchronous); each example's requests go to the
real server on the test's event loop through ``anyio.from_thread``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossdock.webhooks.providers import make_provider
from tests.integration.webhooks.conftest import Stack
from tests.integration.webhooks.test_receiver import PROVIDERS

pytestmark = pytest.mark.anyio

#: Headers that would change how HTTP frames the request rather than what it says.
FRAMING = frozenset({"content-length", "transfer-encoding", "host", "connection", "expect",
                     "te", "upgrade", "trailer"})
TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: What a header value may hold on the wire (a client refuses CR, LF, NUL and whitespace at
#: either end).
FIELD = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
values = st.text(FIELD, max_size=40).map(lambda text: text.strip(" \t"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8)
payloads = st.fixed_dictionaries({}, optional={
    "action": json_values, "type": json_values, "object_kind": json_values,
    "event_type": json_values, "repository": json_values, "data": json_values})
bodies = st.one_of(
    st.binary(max_size=300),
    payloads.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
)
header_names = st.text(TOKEN, min_size=1, max_size=20).filter(
    lambda name: name.lower() not in FRAMING)
headers = st.dictionaries(header_names, values, max_size=6)


@dataclass(frozen=True, slots=True)
class Case:
    """One generated request; ``signing`` is ``none``, ``right``, ``wrong`` or ``tampered``."""

    provider: int
    path: str
    method: str
    body: bytes
    headers: dict[str, str]
    signing: str
    delivery_id: str
    event: str


cases = st.builds(
    Case,
    provider=st.integers(0, len(PROVIDERS) - 1),
    path=st.one_of(st.just(""), st.text(max_size=30), st.sampled_from(["/", "//x", "/../x"])),
    method=st.sampled_from(["POST"] * 8 + ["GET", "PUT", "DELETE"]),
    body=bodies,
    headers=headers,
    signing=st.sampled_from(["none", "right", "right", "right", "wrong", "tampered"]),
    delivery_id=st.one_of(st.uuids().map(str), values),
    event=st.one_of(st.sampled_from(["push", "issues", "Push Hook", "repo:push"]),
                    values),
)


async def _rows(stack: Stack) -> list[tuple[str, bool]]:
    """Every delivery row's status and whether it kept a body, in id order."""
    async with stack.runtime.database.connection() as conn:
        cursor = await conn.execute(
            "SELECT status, body IS NOT NULL AS kept FROM webhooks_deliveries ORDER BY id")
        return [(row["status"], row["kept"]) for row in await cursor.fetchall()]


def _request(case: Case) -> tuple[str, bytes, list[tuple[bytes, bytes]], bool]:
    """The URL path, body and headers the case sends, and whether the source's secret holder
    sent them (a GitLab token does not cover the body, so a changed body still is theirs)."""
    name, secret, options = PROVIDERS[case.provider]
    path = f"/webhooks/{name}{case.path}" if case.path in {"", "/"} \
        else f"/webhooks/{quote(case.path, safe='')}"
    sent = {key.lower(): (key, value) for key, value in case.headers.items()}
    body = case.body
    if case.signing != "none":
        key = secret if case.signing != "wrong" else secret[::-1]
        signed = make_provider(name, options).sign(
            body, key, delivery_id=case.delivery_id, event_type=case.event)
        sent.update({header.lower(): (header, value) for header, value in signed.items()})
        if case.signing == "tampered":
            body += b" "
    held = case.path in {"", "/"} and (
        case.signing == "right" or (case.signing == "tampered" and name == "gitlab"))
    return path, body, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in sent.values()], \
        held


async def _check(stack: Stack, case: Case) -> int:
    path, body, sent, held = _request(case)
    before = await _rows(stack)
    response = await stack.client.request(case.method, path, content=body, headers=sent)
    after = await _rows(stack)
    answer = response.json()
    assert response.status_code < 500, (response.status_code, answer)
    assert isinstance(answer, dict)
    added = after[len(before):]
    assert after[:len(before)] == before
    if response.status_code == 202:
        assert held
        assert case.method == "POST"
        assert added == [("received", True)], added
        assert answer["status"] == "accepted"
    elif response.status_code == 200:
        assert held
        assert answer["status"] == "duplicate"
        assert added == []
    else:
        assert 400 <= response.status_code < 500
        assert isinstance(answer.get("error"), str)
        assert "\n" not in answer["error"]
        assert added in ([], [("rejected", False)]), added
    return response.status_code


async def test_no_request_gets_a_5xx_or_is_accepted_unsigned_or_stored_when_refused(
        stack: Stack) -> None:
    for name, secret, options in PROVIDERS:
        await stack.add_source(name, name, [secret], options=options)
    await stack.send("github", "github", b"{}", PROVIDERS[0][1])  # warm the source cache

    @settings(max_examples=100, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(cases)
    def every_request(case: Case) -> None:
        seen.add(anyio.from_thread.run(_check, stack, case))

    seen: set[int] = set()
    await anyio.to_thread.run_sync(every_request)
    # The examples reached each answer: accepted, duplicate, refused for each reason.
    assert {200, 202, 400, 401, 404, 405} <= seen, seen
