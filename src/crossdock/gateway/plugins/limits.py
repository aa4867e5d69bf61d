"""``limits``: refuse documents and operations too big to serve, before they are planned.

Apollo Router's keys, with the same meaning (``limits.router.<key>`` as newer routers write
it is read too):

- ``parser_max_tokens`` (15000) and ``parser_max_recursion`` (500): counted on the text before
  it is parsed (:func:`~.measure.measure_text`); past either, 400 ``PARSING_ERROR``, always
  (``warn_only`` does not apply, as in the router: the parser is what they protect);
- ``max_depth``, ``max_height``, ``max_aliases``, ``max_root_fields`` (unset: no limit):
  counted on the validated operation with its fragments spread
  (:func:`~.measure.measure_operation`); past any, 400 with one error per limit
  (``MAX_DEPTH_LIMIT``, ``MAX_HEIGHT_LIMIT``, ``MAX_ALIASES_LIMIT``, ``MAX_ROOT_FIELDS_LIMIT``),
  or with ``warn_only`` a ``operation_limits_exceeded`` warning and the request served;
- ``http_max_request_bytes``: the largest request body (the server answers 413 past it;
  without the key the server's own bound, 10 MiB, applies).

Both measures are kept per document text (and operation name), so a client repeating a
query pays a dictionary lookup, not a count.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.gateway.plugins.base import GraphQLRequest, Operation, Plugin
from crossdock.gateway.plugins.measure import (
    OperationSize,
    TextSize,
    measure_operation,
    measure_text,
)
from crossdock.gateway.result import Result, request_error
from crossdock.gateway.values import boolean

if TYPE_CHECKING:
    from collections.abc import Mapping

log = get_logger("crossdock.gateway")

#: The operation limits: key, error code, the router's message.
_OPERATION_LIMITS = (
    ("max_depth", "depth", "MAX_DEPTH_LIMIT", "Maximum depth limit exceeded in this operation"),
    ("max_height", "height", "MAX_HEIGHT_LIMIT",
     "Maximum height (field count) limit exceeded in this operation"),
    ("max_root_fields", "root_fields", "MAX_ROOT_FIELDS_LIMIT",
     "Maximum root fields limit exceeded in this operation"),
    ("max_aliases", "aliases", "MAX_ALIASES_LIMIT",
     "Maximum aliases limit exceeded in this operation"),
)
_COUNTS = frozenset({key for key, *_ in _OPERATION_LIMITS})
_KEYS = _COUNTS | {"parser_max_tokens", "parser_max_recursion", "http_max_request_bytes",
                   "warn_only"}
#: Documents (and operations) whose measures are kept; longer texts are measured each time.
_KEPT = 1024
_KEPT_LENGTH = 64 * 1024


class Limits(Plugin):
    """The parser limits, and the request body bound the server reads."""

    name = "limits"

    def __init__(self, *, max_tokens: int = 15000, max_recursion: int = 500,
                 max_request_bytes: int | None = None) -> None:
        self.max_tokens = max_tokens
        self.max_recursion = max_recursion
        self.max_request_bytes = max_request_bytes
        self._texts: OrderedDict[str, Result | None] = OrderedDict()

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        text = request.query
        if text is None:
            return request
        try:
            refusal = self._texts[text]
        except KeyError:
            refusal = self._refusal(measure_text(text, max_tokens=self.max_tokens,
                                                 max_nesting=self.max_recursion))
            if len(text) <= _KEPT_LENGTH:
                _keep(self._texts, text, refusal)
        return request if refusal is None else refusal

    def _refusal(self, size: TextSize) -> Result | None:
        if size.tokens > self.max_tokens:
            return request_error("parsing error: token limit reached, aborting lexing",
                                 code="PARSING_ERROR")
        if size.nesting > self.max_recursion:
            return request_error("parsing error: parser recursion limit reached",
                                 code="PARSING_ERROR")
        return None


class OperationLimits(Limits):
    """The parser limits and the operation limits."""

    def __init__(self, maximums: Mapping[str, int], *, warn_only: bool = False,
                 max_tokens: int = 15000, max_recursion: int = 500,
                 max_request_bytes: int | None = None) -> None:
        super().__init__(max_tokens=max_tokens, max_recursion=max_recursion,
                         max_request_bytes=max_request_bytes)
        self.maximums = dict(maximums)
        self.warn_only = warn_only
        self._operations: OrderedDict[tuple[str, str | None], OperationSize] = OrderedDict()

    async def on_operation(self, operation: Operation) -> Operation | Result:
        text = operation.request.query or ""
        key = (text, operation.context.operation_name)
        size = self._operations.get(key)
        if size is None:
            size = measure_operation(operation.document, operation.definition)
            if len(text) <= _KEPT_LENGTH:
                _keep(self._operations, key, size)
        errors = [{"message": message, "extensions": {"code": code}}
                  for key, measure, code, message in _OPERATION_LIMITS
                  if key in self.maximums and getattr(size, measure) > self.maximums[key]]
        if not errors:
            return operation
        log.warning("operation_limits_exceeded", operation=operation.context.operation_name,
                    depth=size.depth, height=size.height, aliases=size.aliases,
                    root_fields=size.root_fields, refused=not self.warn_only)
        if self.warn_only:
            return operation
        return Result(body={"errors": errors}, status=400)


def _keep(kept: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    kept[key] = value
    if len(kept) > _KEPT:
        kept.popitem(last=False)


def build_limits(root: Mapping[str, Any], unsupported: list[str]) -> Limits | None:
    """The ``limits`` section's plugin (None without the key)."""
    if "limits" not in root:
        return None
    section = root["limits"] or {}
    if not isinstance(section, dict):
        raise ConfigError("limits: expected a mapping of keys")
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key == "router" and isinstance(value, dict):
            # Newer routers nest the same keys under limits.router.
            for inner, own in value.items():
                _read(values, inner, own, f"limits.router.{inner}", unsupported)
        else:
            _read(values, key, value, f"limits.{key}", unsupported)
    warn_only = values.pop("warn_only", False)
    maximums = {k: values.pop(k) for k in list(values) if k in _COUNTS}
    options = {"max_tokens": values.get("parser_max_tokens", 15000),
               "max_recursion": values.get("parser_max_recursion", 500),
               "max_request_bytes": values.get("http_max_request_bytes")}
    if maximums:
        return OperationLimits(maximums, warn_only=warn_only, **options)
    return Limits(**options)


def _read(values: dict[str, Any], key: str, value: Any, dotted: str,
          unsupported: list[str]) -> None:
    if key not in _KEYS:
        unsupported.append(dotted)
    elif key == "warn_only":
        values[key] = boolean(value, dotted)
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{dotted}: {value!r} is not a whole number above 0")
    else:
        values[key] = value
