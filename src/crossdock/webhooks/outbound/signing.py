"""The headers that sign an outbound message, per the Standard Webhooks specification.

Every attempt of one message carries the same ``webhook-id`` (the message's id), so a receiver
that saw it before can drop a repeat. The timestamp is the attempt's, so a retry hours later is
still inside the receiver's five-minute tolerance. During a secret rotation an endpoint has
several signing secrets, and each signs: ``webhook-signature`` then holds one entry per secret,
space-separated, and a receiver holding any one of them verifies.
"""

from __future__ import annotations

from collections.abc import Sequence

from crossdock.webhooks.signatures import signature_entry, signed_content


def signature_headers(
    *, message_id: str, body: bytes, secrets: Sequence[str], timestamp: int
) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` for ``body``.

    ``secrets`` are the endpoint's signing secrets (``whsec_`` HMAC or ``whsk_`` ed25519
    private keys), newest first; each adds its entry.
    """
    stamp = str(timestamp)
    content = signed_content(message_id, stamp, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": " ".join(signature_entry(secret, content) for secret in secrets),
    }
