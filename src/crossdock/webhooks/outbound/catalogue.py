"""The event-type catalogue: each type's JSON Schema, and payloads checked against it.

A schema is checked against its own draft's metaschema when the type is added (draft 2020-12
unless it names another with ``$schema``); a payload that breaks it is refused with the path
and the reason of the most relevant error, in one line. A type without a schema takes any
JSON value.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import orjson

from crossdock.core.jsontext import has_nul
from crossdock.webhooks.errors import InvalidOutbound, InvalidPayload
from crossdock.webhooks.outbound.models import EventType

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

# jsonschema is imported where a schema is first checked: it costs a third of a second, and
# every ``crossdock webhooks`` command imports this module.

#: The longest reason an error quotes (an instance can be a whole payload).
_MAX_REASON_CHARS = 300


def check_schema(schema: Any) -> dict[str, Any] | None:
    """``schema`` when it is a valid JSON Schema object (or None: no schema)."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise InvalidOutbound("an event type's schema must be a JSON object")
    import jsonschema
    from jsonschema.exceptions import SchemaError

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise InvalidOutbound(f"invalid JSON Schema at {_path(exc.absolute_path)}: "
                              f"{_one_line(exc.message)}") from exc
    return schema


def _validator(schema: dict[str, Any]) -> Validator:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def _refuse(name: str, validator: Validator | None, payload: Any) -> None:
    try:
        text = orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:
        raise InvalidPayload(f"the payload of {name!r} is not JSON: {exc}") from exc
    if has_nul(text):
        raise InvalidPayload(f"the payload of {name!r} has a U+0000 character in a string, "
                             "which the message store (PostgreSQL jsonb) cannot hold")
    if validator is None:
        return
    from jsonschema.exceptions import ValidationError, best_match

    error: ValidationError | None = best_match(validator.iter_errors(payload))
    if error is not None:
        raise InvalidPayload(f"the payload does not match the schema of {name!r} at "
                             f"{_path(error.absolute_path)}: {_one_line(error.message)}")


def _path(parts: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_REASON_CHARS else flat[:_MAX_REASON_CHARS] + "..."


@dataclasses.dataclass(slots=True)
class _Cached:
    event_type: EventType
    validator: Validator | None
    until: float


class Catalogue:
    """Event types by name with their validators, each kept ``seconds`` after it is read
    (a schema changed elsewhere holds from then on)."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._cached: dict[str, _Cached] = {}

    def get(self, name: str) -> EventType | None:
        """A cached event type, if still fresh."""
        cached = self._cached.get(name)
        if cached is None or cached.until < time.monotonic():
            return None
        return cached.event_type

    def put(self, event_type: EventType) -> None:
        """Keep an event type read from the store."""
        validator = _validator(event_type.schema) if event_type.schema is not None else None
        self._cached[event_type.name] = _Cached(
            event_type=event_type, validator=validator, until=time.monotonic() + self.seconds)

    def forget(self, name: str) -> None:
        """Drop a removed event type."""
        self._cached.pop(name, None)

    def check(self, name: str, payload: Any) -> None:
        """Refuse a payload that is not JSON or breaks the schema of a type :meth:`put` kept."""
        _refuse(name, self._cached[name].validator, payload)
