"""The SSRF guard with real endpoints on loopback: refused unless allow-listed, redirects too."""

from __future__ import annotations

import pytest

from crossdock.webhooks.outbound.outcome import Delivered, Failed
from crossdock.webhooks.outbound.sender import Clients, Request, Sender
from crossdock.webhooks.outbound.ssrf import AddressPolicy
from tests.integration.webhooks.outbound.endpoints import Answer, Endpoint, serving

pytestmark = pytest.mark.anyio

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _request(url: str) -> Request:
    return Request(url=url, message_id="msg_1", body=b"{}", secrets=[SECRET])


async def _send(policy: AddressPolicy, url: str, *, follow_redirects: bool = False) -> object:
    async with Clients(policy, follow_redirects=follow_redirects) as clients:
        return await Sender(clients, max_retry_after=60).send(_request(url))


async def test_loopback_is_refused_when_not_allow_listed_and_nothing_is_sent() -> None:
    async with serving(Endpoint()) as endpoint:
        outcome = await _send(AddressPolicy(), endpoint.url)
    assert isinstance(outcome, Failed)
    assert "refused by the SSRF guard" in outcome.reason
    assert "127.0.0.1 is loopback" in outcome.reason
    assert endpoint.received == []


async def test_a_name_that_resolves_to_loopback_is_refused_after_resolution() -> None:
    async with serving(Endpoint()) as endpoint:
        url = endpoint.url.replace("127.0.0.1", "localhost")
        outcome = await _send(AddressPolicy(), url)
    assert isinstance(outcome, Failed)
    assert "localhost is not a public address" in outcome.reason
    assert endpoint.received == []


async def test_an_allow_listed_network_is_reached() -> None:
    async with serving(Endpoint()) as endpoint:
        outcome = await _send(AddressPolicy.parse(["127.0.0.0/8"]), endpoint.url)
    assert isinstance(outcome, Delivered)
    assert len(endpoint.received) == 1


async def test_an_allow_listed_host_is_dialled_with_its_name_in_the_host_header() -> None:
    async with serving(Endpoint()) as endpoint:
        url = endpoint.url.replace("127.0.0.1", "localhost")
        outcome = await _send(AddressPolicy.parse(["localhost"]), url)
    assert isinstance(outcome, Delivered)
    assert endpoint.received[0].headers["host"] == url.removeprefix("http://")


async def test_redirects_are_not_followed_by_default() -> None:
    async with serving(Endpoint()) as target, serving(Endpoint(
            lambda _: Answer(status=307, headers={"location": target.url}))) as first:
        outcome = await _send(AddressPolicy.parse(["127.0.0.1/32"]), first.url)
    assert isinstance(outcome, Failed)
    assert outcome.reason == f"HTTP 307: a redirect to {target.url}, not followed"
    assert target.received == []


async def test_a_followed_redirect_to_a_refused_address_is_refused() -> None:
    # The first hop is allowed (127.0.0.2), its redirect goes to loopback that is not.
    async with serving(Endpoint()) as target, serving(Endpoint(
            lambda _: Answer(status=307, headers={"location": target.url})),
            host="127.0.0.2") as first:
        outcome = await _send(AddressPolicy.parse(["127.0.0.2/32"]), first.url,
                              follow_redirects=True)
    assert len(first.received) == 1
    assert isinstance(outcome, Failed)
    assert "127.0.0.1 is loopback" in outcome.reason
    assert target.received == []


async def test_a_followed_redirect_to_an_allowed_address_is_delivered() -> None:
    async with serving(Endpoint()) as target, serving(Endpoint(
            lambda _: Answer(status=307, headers={"location": target.url})),
            host="127.0.0.2") as first:
        outcome = await _send(AddressPolicy.parse(["127.0.0.1/32", "127.0.0.2/32"]),
                              first.url, follow_redirects=True)
    assert isinstance(outcome, Delivered)
    assert len(target.received) == 1
