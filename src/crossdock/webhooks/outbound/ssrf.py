"""The SSRF guard: outbound webhooks reach public addresses only, unless allowed.

An endpoint's URL is given by whoever registers it, so without a guard a delivery could probe
the platform's own network: the database, the admin API, a cloud's metadata service at
169.254.169.254. The guard sits where the connection is made, in the HTTP client's network
backend: it resolves the host once, checks every address, and dials an address it checked,
so a name that resolves to a public address for a check and to a private one for the
connection (DNS rebinding) gets nowhere. The URL keeps its name, so the ``Host`` header and
TLS (SNI, the certificate's name) are the endpoint's. A redirect is a new request through the
same backend, so its target is checked too (and the client follows none unless told).

Refused: loopback, private (RFC 1918, unique local ``fc00::/7``), link-local (``169.254/16``,
``fe80::/10``), shared CGNAT space (``100.64/10``), unspecified, multicast, reserved and
documentation ranges, and IPv6 addresses that carry one of those IPv4 addresses (mapped
``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``). An allow-list of networks
and host names opens them for tests and internal endpoints.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from crossdock.webhooks.errors import AddressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_BITS = 32


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AddressPolicy:
    """Which addresses deliveries may reach beyond the public ones."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AddressPolicy:
        """Each entry a network (``127.0.0.1/32``, ``10.0.0.0/8``), an address, or a host name."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be dialled; None when it may."""
        if any(address in network for network in self.networks):
            return None
        return refusal(address)


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public one (None when it is), without any allow-list."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = refusal(inner)
            return None if reason is None else f"{reason} (inside {address})"
    for reason, matches in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("shared (CGNAT)", address in _SHARED),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("not global", not address.is_global),
    ):
        if matches:
            return f"{address} is {reason}"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & (2**_V4_BITS - 1))
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, dialling only addresses the policy allows."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
                 ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, keep the allowed addresses, and connect to the first that answers."""
        addresses = await self._checked(host, port, timeout)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _checked returns at least one address
        raise failure

    async def _checked(self, host: str, port: int, within: float | None) -> list[IPAddress]:
        try:
            async with asyncio.timeout(within):
                resolved = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(
            ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in resolved))
        if host.lower().rstrip(".") in self.policy.hosts:
            return addresses
        allowed = [a for a in addresses if self.policy.refusal(a) is None]
        if not allowed:
            reasons = "; ".join(filter(None, map(self.policy.refusal, addresses)))
            raise AddressRefused(f"{host} is not a public address: {reasons}")
        return allowed

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109, ARG002 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        """Never: an endpoint is a URL, not a socket file."""
        raise AddressRefused(f"a unix socket ({path}) is no endpoint")

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend sleeps."""
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a :class:`GuardedBackend` (no proxy, no environment settings)."""

    def __init__(self, policy: AddressPolicy, *, limits: httpx.Limits,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        # Loading the CA certificates takes milliseconds: a context is made once and shared.
        context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=context, trust_env=False, limits=limits)
        # httpx builds its pool without a way to hand it a network backend; the pool it
        # made is replaced by the same one over the guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
