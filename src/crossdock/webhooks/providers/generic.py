"""The generic ``hmac`` provider, for senders that sign the raw body with a shared secret.

Options (the source's ``options``): ``header`` carrying the signature (default
``x-signature``), ``algorithm`` (``sha1``, ``sha256``, ``sha512``; default ``sha256``),
``encoding`` (``hex`` or ``base64``), an optional ``prefix`` before the digest (``sha256=``),
and optional ``event_header`` and ``delivery_header``. Without a delivery id header the body's
digest is the id, so the same body twice is a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from crossdock.webhooks.errors import BadSignature, SourceError
from crossdock.webhooks.providers.base import (
    Headers,
    Inbound,
    body_digest_id,
    digest,
    json_document,
    matches_any,
    string_field,
)
from crossdock.webhooks.secrets import Secret

_ALGORITHMS = ("sha1", "sha256", "sha512")
_ENCODINGS = ("hex", "base64")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HmacProvider:
    """Deliveries signed with an HMAC of the body, in a configurable header."""

    name: str = "hmac"
    header: str = "x-signature"
    algorithm: str = "sha256"
    encoding: str = "hex"
    prefix: str = ""
    event_header: str | None = None
    delivery_header: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HmacProvider:
        """Build from a source's options; unknown or invalid options are a :class:`SourceError`."""
        known = {"header", "algorithm", "encoding", "prefix", "event_header", "delivery_header"}
        unknown = set(options) - known
        if unknown:
            raise SourceError(f"unknown hmac option(s): {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(sorted(known))})")
        provider = cls(**{key: str(value).lower() if key.endswith("header") else str(value)
                          for key, value in options.items()})
        if provider.algorithm not in _ALGORITHMS:
            raise SourceError(f"hmac algorithm must be one of {', '.join(_ALGORITHMS)}")
        if provider.encoding not in _ENCODINGS:
            raise SourceError(f"hmac encoding must be one of {', '.join(_ENCODINGS)}")
        return provider

    def _encode(self, raw: bytes) -> str:
        return raw.hex() if self.encoding == "hex" else base64.b64encode(raw).decode()

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[Secret]) -> None:
        given = headers.get(self.header, "")
        if not given or not given.startswith(self.prefix):
            raise BadSignature(f"the {self.header} header is missing or malformed")
        encoded = given[len(self.prefix):]
        try:
            signature = (bytes.fromhex(encoded) if self.encoding == "hex"
                         else base64.b64decode(encoded, validate=True))
        except (ValueError, binascii.Error) as exc:
            raise BadSignature(f"the {self.header} header is not {self.encoding}") from exc
        expected = [digest(self.algorithm, s.value.encode(), body) for s in secrets]
        if not matches_any(expected, signature):
            raise BadSignature("the signature matches none of the source's secrets")

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        document = json_document(body)
        event = (headers.get(self.event_header) if self.event_header else None) or (
            string_field(document, "type"))
        action = string_field(document, "action")
        return Inbound(delivery_id=self.delivery_id(headers) or body_digest_id(body),
                       event_type=event or "message", action=action)

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get(self.delivery_header) if self.delivery_header else None

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str
    ) -> dict[str, str]:
        headers = {
            self.header: self.prefix + self._encode(digest(self.algorithm, secret.encode(), body)),
            "content-type": "application/json",
        }
        if self.event_header:
            headers[self.event_header] = event_type
        if self.delivery_header:
            headers[self.delivery_header] = delivery_id
        return headers
