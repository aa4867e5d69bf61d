"""Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``{id}.{timestamp}.{raw body}``. ``webhook-signature`` holds one or more
space-separated ``version,base64`` entries: ``v1`` is HMAC-SHA256 under a ``whsec_`` secret
(base64 after the prefix), ``v1a`` is ed25519, checked with a ``whpk_`` public key. One valid
entry under one of the source's secrets is enough (that is how senders rotate keys). The
timestamp (Unix seconds) must be within five minutes of our clock either way, so a captured
request cannot be replayed later. The event type is the payload's ``type`` field.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import time
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crossdock.webhooks.errors import BadSignature, InvalidSource, Malformed, SourceError
from crossdock.webhooks.providers.base import (
    Headers,
    Inbound,
    digest,
    json_document,
    matches_any,
    member,
    required,
)
from crossdock.webhooks.secrets import MIN_SECRET_BYTES, Secret
from crossdock.webhooks.signatures import (
    HMAC_PREFIX,
    PUBLIC_KEY_PREFIX,
    hmac_key,
    key_bytes,
    new_key_pair,
    signature_entry,
    signed_content,
)

__all__ = ["HMAC_PREFIX", "PUBLIC_KEY_PREFIX", "StandardProvider", "check_secret", "hmac_key",
           "new_key_pair"]

TOLERANCE_SECONDS = 5 * 60


def check_secret(value: str) -> None:
    """Refuse a value that is not a ``whsec_`` HMAC key or a ``whpk_`` ed25519 public key."""
    if value.startswith(HMAC_PREFIX):
        key = _decoded(value, HMAC_PREFIX)
        if len(key) < MIN_SECRET_BYTES:
            raise InvalidSource(f"a whsec_ secret must hold at least {MIN_SECRET_BYTES} bytes "
                              f"(it holds {len(key)})")
        return
    if value.startswith(PUBLIC_KEY_PREFIX):
        try:
            Ed25519PublicKey.from_public_bytes(_decoded(value, PUBLIC_KEY_PREFIX))
        except ValueError as exc:
            raise InvalidSource("a whpk_ secret must be an ed25519 public key "
                              "(32 bytes, base64)") from exc
        return
    raise InvalidSource("a Standard Webhooks secret starts with whsec_ (HMAC, base64 key) "
                      "or whpk_ (ed25519 public key, base64)")


def _decoded(value: str, prefix: str) -> bytes:
    try:
        return base64.b64decode(value[len(prefix):], validate=True)
    except binascii.Error as exc:
        raise SourceError(f"a {prefix} secret must be base64 after {prefix}") from exc


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StandardProvider:
    """Deliveries signed per the Standard Webhooks specification."""

    name: str = "standard"
    tolerance_seconds: int = TOLERANCE_SECONDS
    clock: Callable[[], float] = time.time

    def _signed_content(self, headers: Headers, body: bytes) -> bytes:
        webhook_id = headers.get("webhook-id", "")
        timestamp = headers.get("webhook-timestamp", "")
        if not webhook_id or not timestamp:
            raise BadSignature("the webhook-id or webhook-timestamp header is missing")
        try:
            sent = int(timestamp)
        except ValueError as exc:
            raise BadSignature("the webhook-timestamp header is not Unix seconds") from exc
        if abs(self.clock() - sent) > self.tolerance_seconds:
            raise BadSignature("the webhook-timestamp is more than 5 minutes off")
        return signed_content(webhook_id, timestamp, body)

    def verify(self, headers: Headers, body: bytes, secrets: Sequence[Secret]) -> None:
        content = self._signed_content(headers, body)
        hmac_signatures: list[bytes] = []
        ed25519_signatures: list[bytes] = []
        for entry in headers.get("webhook-signature", "").split():
            version, _, encoded = entry.partition(",")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                continue
            if version == "v1":
                hmac_signatures.append(raw)
            elif version == "v1a":
                ed25519_signatures.append(raw)
        if not hmac_signatures and not ed25519_signatures:
            raise BadSignature("the webhook-signature header has no v1 or v1a signature")
        for secret in secrets:
            if _signed_by(secret.value, content, hmac_signatures, ed25519_signatures):
                return
        raise BadSignature("no signature matches the source's secrets")

    def parse(self, headers: Headers, body: bytes) -> Inbound:
        webhook_id = required(headers, "webhook-id")
        event = member(json_document(body), "type")
        if event is not None and not isinstance(event, str):
            raise Malformed("the payload's 'type' is not a string")
        return Inbound(delivery_id=webhook_id, event_type=event or "message", action=None)

    def delivery_id(self, headers: Headers) -> str | None:
        return headers.get("webhook-id")

    def sign(
        self, body: bytes, secret: str, *, delivery_id: str, event_type: str,  # noqa: ARG002
    ) -> dict[str, str]:
        timestamp = str(int(self.clock()))
        content = signed_content(delivery_id, timestamp, body)
        return {
            "webhook-id": delivery_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature_entry(secret, content),
            "content-type": "application/json",
        }


def _signed_by(
    key: str, content: bytes, hmac_signatures: Sequence[bytes],
    ed25519_signatures: Sequence[bytes],
) -> bool:
    if key.startswith(PUBLIC_KEY_PREFIX):
        return _ed25519_valid(key_bytes(key, PUBLIC_KEY_PREFIX), ed25519_signatures, content)
    if not key.startswith(HMAC_PREFIX):
        return False  # not a Standard Webhooks key (an env: value is only seen here)
    expected = digest("sha256", hmac_key(key), content)
    return any(matches_any([expected], given) for given in hmac_signatures)


def _ed25519_valid(public_key: bytes, signatures: Sequence[bytes], content: bytes) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise BadSignature("a whpk_ key of this source is not an ed25519 public key") from exc
    for signature in signatures:
        try:
            key.verify(signature, content)
        except InvalidSignature:
            continue
        return True
    return False

