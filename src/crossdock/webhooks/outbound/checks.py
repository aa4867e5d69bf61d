"""What a person may give for outbound webhooks: names, URLs, filters, limits and headers.

The CLI, the admin API and the Python API all call these (through ``outbound.service``), so a
bad value is refused with the same one-line :class:`InvalidOutbound` wherever it comes from.
Whether a URL's address may be reached is the SSRF guard's call, at delivery time.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from crossdock.webhooks.errors import InvalidOutbound
from crossdock.webhooks.outbound.models import NAME, EndpointSettings

#: A channel, as Svix has it.
CHANNEL = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
#: An HTTP field name (RFC 9110 token).
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers an endpoint's custom headers may not set: the signature's, and the transport's.
_RESERVED = ("webhook-", "content-length", "content-type", "host", "transfer-encoding",
             "connection")
#: The longest an endpoint may take to answer: past it, a retry is the better wait.
MAX_TIMEOUT_SECONDS = 300.0
MAX_CONCURRENCY = 10_000
#: The longest idempotency or ordering key, or URL.
MAX_KEY_CHARS = 256
MAX_URL_CHARS = 2048


def check_name(value: Any, what: str) -> str:
    """An application's or event type's name; ``what`` says which."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or len(value) > MAX_KEY_CHARS:
        raise InvalidOutbound(f"invalid {what} name {value!r}: use letters, digits, '.', '_' "
                              "and '-', starting with a letter or digit")
    return value


def check_url(value: Any) -> str:
    """An endpoint's URL: absolute http or https, with a host."""
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS:
        raise InvalidOutbound(f"an endpoint URL is a string of at most {MAX_URL_CHARS} "
                              "characters")
    try:
        parsed = urllib.parse.urlsplit(value)
        parsed.port  # noqa: B018 (parsing the port is what raises on a bad one)
    except ValueError as exc:
        raise InvalidOutbound(f"invalid endpoint URL {value!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidOutbound(f"invalid endpoint URL {value!r}: expected http:// or https:// "
                              "and a host")
    if parsed.username or parsed.password:
        raise InvalidOutbound("an endpoint URL carries no credentials: give them as a header")
    return value


def check_names(values: Iterable[Any] | None, what: str) -> tuple[str, ...] | None:
    """An endpoint's event-type filter (None: every type)."""
    if values is None:
        return None
    return tuple(check_name(value, what) for value in _strings(values, what))


def check_channels(values: Iterable[Any] | None) -> tuple[str, ...] | None:
    """Channels (None, on an endpoint: every message)."""
    if values is None:
        return None
    checked = tuple(_strings(values, "channels"))
    for channel in checked:
        if not CHANNEL.fullmatch(channel):
            raise InvalidOutbound(f"invalid channel {channel!r}: 1 to 128 letters, digits, "
                                  "'.', '_', ':' and '-'")
    return checked


def check_key(value: Any, what: str) -> str | None:
    """An idempotency or ordering key (None: none)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_CHARS:
        raise InvalidOutbound(f"{what} must be a string of 1 to {MAX_KEY_CHARS} characters")
    return value


def check_headers(value: Any) -> dict[str, str]:
    """An endpoint's custom headers: field names to strings, none the signature's own."""
    if not isinstance(value, Mapping):
        raise InvalidOutbound("headers must be an object of header names to strings")
    for name, text in value.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise InvalidOutbound(f"invalid header name {name!r}")
        if name.lower().startswith(_RESERVED):
            raise InvalidOutbound(f"header {name!r} is set by the sender itself")
        if not isinstance(text, str) or "\r" in text or "\n" in text:
            raise InvalidOutbound(f"header {name!r} must be a one-line string")
    return dict(value)


def check_settings(settings: EndpointSettings) -> EndpointSettings:
    """An endpoint's settings, every field checked."""
    if settings.rate_limit is not None and not _positive(settings.rate_limit):
        raise InvalidOutbound(f"rate limit must be a positive number of requests per second, "
                              f"not {settings.rate_limit!r}")
    concurrency = settings.max_concurrency
    if concurrency is not None and (isinstance(concurrency, bool)
                                    or not isinstance(concurrency, int)
                                    or not 1 <= concurrency <= MAX_CONCURRENCY):
        raise InvalidOutbound(f"max concurrency must be a whole number from 1 to "
                              f"{MAX_CONCURRENCY}, not {concurrency!r}")
    timeout = settings.timeout_seconds
    if not _positive(timeout) or timeout > MAX_TIMEOUT_SECONDS:
        raise InvalidOutbound(f"timeout must be more than 0 and at most "
                              f"{MAX_TIMEOUT_SECONDS:g} seconds, not {timeout!r}")
    if not isinstance(settings.description, str):
        raise InvalidOutbound("description must be a string")
    return EndpointSettings(
        url=check_url(settings.url), description=settings.description,
        event_types=check_names(settings.event_types, "event type"),
        channels=check_channels(settings.channels), rate_limit=settings.rate_limit,
        max_concurrency=concurrency, timeout_seconds=float(timeout),
        headers=check_headers(settings.headers))


def _positive(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value > 0)


def _strings(values: Iterable[Any], what: str) -> list[str]:
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidOutbound(f"{what} must be a list of strings")
    items = list(values)
    if not all(isinstance(item, str) for item in items):
        raise InvalidOutbound(f"{what} must be a list of strings")
    return items
