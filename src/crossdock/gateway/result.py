"""What a GraphQL request gets back: a response body, its HTTP status and extra headers."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """A GraphQL response body, the HTTP status that goes with it, and response headers
    a plugin added (``Cache-Control``, ``Set-Cookie``, ``WWW-Authenticate``...)."""

    body: dict[str, Any]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def request_error(message: str, *, status: int = 400, code: str = "BAD_REQUEST",
                  locations: list[dict[str, int]] | None = None) -> Result:
    """A response for a request that could not be executed at all."""
    error: dict[str, Any] = {"message": message}
    if locations:
        error["locations"] = locations
    error["extensions"] = {"code": code}
    return Result(body={"errors": [error]}, status=status)
