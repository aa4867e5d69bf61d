"""Bitbucket: ``X-Hub-Signature: sha256=<hex HMAC of the raw body>`` (the prefix names the hash).

The event type is ``X-Event-Key`` (``repo:push``, ``pullrequest:created``) and the action its
part after the colon; the delivery id is ``X-Request-UUID`` (Cloud) or ``X-Request-Id`` (Data
Center).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from crossdock.webhooks.errors import BadSignature, Malformed
from crossdock.webhooks.providers.base import (
    Headers,
    Inbound,
    digest,
    matches_any,
    object_document,
    required,
)
from crossdock.webhooks.secrets import Secret

_ALGORITHMS = {"sha1", "sha256", "sha512"}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BitbucketProvider:
    """Deliveries from Bitbucket Cloud and Data Center."""

    name: str = "bitbucket"

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[Secret]) -> None:
        algorithm, _, hexdigest = headers.get("x-hub-signature", "").partition("=")
        if algorithm not in _ALGORITHMS or not hexdigest:
            raise BadSignature("the X-Hub-Signature header is missing or not sha256=...")
        try:
            signature = bytes.fromhex(hexdigest)
        except ValueError as exc:
            raise BadSignature("the X-Hub-Signature header is not hex") from exc
        expected = [digest(algorithm, s.value.encode(), body) for s in secrets]
        if not matches_any(expected, signature):
            raise BadSignature("the signature matches none of the source's secrets")

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        event = required(headers, "x-event-key")
        delivery = self.delivery_id(headers)
        if not delivery:
            raise Malformed("the header x-request-uuid is missing")
        object_document(body)
        _, _, action = event.partition(":")
        return Inbound(delivery_id=delivery, event_type=event, action=action or None)

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("x-request-uuid") or headers.get("x-request-id")

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str
    ) -> dict[str, str]:
        return {
            "x-event-key": event_type,
            "x-request-uuid": delivery_id,
            "x-hub-signature": "sha256=" + digest("sha256", secret.encode(), body).hex(),
            "content-type": "application/json",
        }
