"""What the outbound commands share: the API on the configured database, and value parsing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import orjson

from crossdock.core.cli import settings
from crossdock.core.database import Database
from crossdock.core.entry import database_url, run
from crossdock.webhooks.errors import InvalidOutbound
from crossdock.webhooks.outbound.service import Outbound

T = TypeVar("T")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def with_outbound(work: Callable[[Outbound], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on the outbound API over the configured (or embedded) database."""

    async def main(url: str) -> T:
        core = settings()
        async with Database(url, min_size=1, max_size=core.pool_max_size) as database:
            return await work(Outbound(database))

    with database_url(settings()) as url:
        return run(main(url))


def parse_json(value: str, option: str) -> Any:
    """A JSON value given inline, or ``@path`` to a file holding it."""
    text: str | bytes = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_bytes()
        except OSError as exc:
            raise InvalidOutbound(f"{option} {value}: {exc.strerror}") from exc
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidOutbound(f"{option} is not JSON: {exc}") from exc


def since_time(value: str) -> dt.datetime:
    """An ISO 8601 time, or a duration back from now (``90s``, ``30m``, ``2h``, ``7d``)."""
    now = dt.datetime.now(dt.UTC)
    match = _DURATION.fullmatch(value.strip())
    if match:
        return now - dt.timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidOutbound(f"--since {value!r} is neither an ISO 8601 time nor a duration "
                              "such as 2h") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_headers(values: list[str] | None) -> dict[str, str] | None:
    """``--header 'Name: value'`` options as a mapping (None when none was given)."""
    if values is None:
        return None
    headers: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep:
            raise InvalidOutbound(f"--header {item!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers
