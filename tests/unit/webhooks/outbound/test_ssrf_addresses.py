"""Which addresses the SSRF guard refuses, and how the allow-list opens them."""

from __future__ import annotations

import ipaddress

import pytest

from crossdock.webhooks.outbound.ssrf import AddressPolicy, refusal


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
    ("::ffff:169.254.169.254", "link-local (inside"),
    ("64:ff9b::a9fe:a9fe", "link-local (inside"),
    ("2002:c0a8:0101::1", "private (inside"),
])
def test_a_non_public_address_is_refused_with_its_kind(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_a_public_address_is_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_opens_its_networks_only() -> None:
    policy = AddressPolicy.parse(["127.0.0.1/32", "10.0.0.0/8", " ", "Internal.Example."])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("10.200.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.2")) is not None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) is not None
    assert policy.hosts == frozenset({"internal.example"})


def test_by_default_nothing_is_allowed_beyond_public_addresses() -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address("127.0.0.1")) is not None
