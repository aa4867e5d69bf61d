"""Readers of the values ``gateway.yaml`` holds, shared by the sections that read them: each
gives the value or a :class:`ConfigError` naming its key."""

from __future__ import annotations

import re
from typing import Any

from crossdock.core.errors import ConfigError

#: An HTTP field name (RFC 9110's ``token``).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def boolean(value: Any, key: str) -> bool:
    """``value`` when it is true or false."""
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not true or false")
    return value
