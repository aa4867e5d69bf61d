"""One attempt against real endpoints on 127.0.0.1: signed, timed, and read as an outcome."""

from __future__ import annotations

import base64
import email.utils
import os
import time
from collections.abc import AsyncIterator

import pytest
from standardwebhooks import Webhook

from crossdock.webhooks.outbound.outcome import Delivered, Failed, Gone, RetryAfter
from crossdock.webhooks.outbound.sender import Clients, Request, Sender
from crossdock.webhooks.outbound.ssrf import AddressPolicy
from tests.integration.webhooks.outbound.endpoints import Answer, Endpoint, serving

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
BODY = b'{"type":"slice.pulled","data":{"n":1}}'


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with Clients(AddressPolicy.parse(["127.0.0.1/32"])) as clients:
        yield Sender(clients, max_retry_after=300.0, body_limit=64)


def _request(url: str, **kw: object) -> Request:
    return Request(url=url + "/hook", message_id="msg_1", body=BODY, secrets=[SECRET],
                   **kw)  # type: ignore[arg-type]


async def test_a_2xx_is_delivered_signed_with_the_endpoints_headers(sender: Sender) -> None:
    async with serving(Endpoint(lambda _: Answer(status=204, body=b""))) as endpoint:
        outcome = await sender.send(_request(endpoint.url, headers={"x-team": "docs",
                                                                     "webhook-id": "forged"}))
    assert isinstance(outcome, Delivered)
    assert outcome.response.status == 204
    [got] = endpoint.received
    assert got.headers["x-team"] == "docs"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "msg_1"
    assert Webhook(SECRET).verify(got.body, got.headers) == {"type": "slice.pulled",
                                                              "data": {"n": 1}}


async def test_a_410_is_gone(sender: Sender) -> None:
    async with serving(Endpoint(lambda _: Answer(status=410))) as endpoint:
        assert isinstance(await sender.send(_request(endpoint.url)), Gone)


async def test_a_500_fails_and_keeps_the_start_of_the_body(sender: Sender) -> None:
    async with serving(Endpoint(lambda _: Answer(status=500, body=b"x" * 5000))) as endpoint:
        outcome = await sender.send(_request(endpoint.url))
    assert isinstance(outcome, Failed)
    assert outcome.reason == "HTTP 500"
    assert outcome.response.body == "x" * 64


@pytest.mark.parametrize(("status", "retry_after", "seconds"), [
    (429, "30", 30.0),
    (503, "0", 1.0),
    (429, "86400", 300.0),
])
async def test_retry_after_on_429_or_503_is_honoured_within_bounds(
    sender: Sender, status: int, retry_after: str, seconds: float,
) -> None:
    answer = Answer(status=status, headers={"retry-after": retry_after})
    async with serving(Endpoint(lambda _: answer)) as endpoint:
        outcome = await sender.send(_request(endpoint.url))
    assert outcome == RetryAfter(seconds=seconds, response=outcome.response)


async def test_retry_after_as_an_http_date_counts_from_now(sender: Sender) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    answer = Answer(status=429, headers={"retry-after": when})
    async with serving(Endpoint(lambda _: answer)) as endpoint:
        outcome = await sender.send(_request(endpoint.url))
    assert isinstance(outcome, RetryAfter)
    assert 110 <= outcome.seconds <= 121


async def test_a_503_without_retry_after_takes_the_schedule(sender: Sender) -> None:
    async with serving(Endpoint(lambda _: Answer(status=503))) as endpoint:
        outcome = await sender.send(_request(endpoint.url))
    assert isinstance(outcome, Failed)


async def test_an_endpoint_slower_than_its_timeout_fails_at_the_timeout(sender: Sender) -> None:
    # The endpoint answers far later than the timeout: a send that waited for the answer
    # would take well over the bound below, however busy the machine.
    async with serving(Endpoint(lambda _: Answer(delay=20.0))) as endpoint:
        started = time.perf_counter()
        outcome = await sender.send(_request(endpoint.url, timeout=0.3))
        took = time.perf_counter() - started
    assert isinstance(outcome, Failed)
    assert outcome.reason == "no answer within 0.3 s"
    assert took < 10.0


async def test_a_closed_port_fails_with_the_connection_error(sender: Sender) -> None:
    async with serving(Endpoint()) as endpoint:
        url = endpoint.url
    outcome = await sender.send(_request(url))
    assert isinstance(outcome, Failed)
    assert outcome.reason.startswith("ConnectError")
    assert outcome.response.status is None
