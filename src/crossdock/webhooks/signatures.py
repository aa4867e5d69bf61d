"""The Standard Webhooks signature scheme, shared by the receiver and the sender.

The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``. A signature is one
``version,base64`` entry of the ``webhook-signature`` header (several are space-separated):
``v1`` is HMAC-SHA256 under a ``whsec_`` secret (base64 after the prefix), ``v1a`` is ed25519
under a ``whsk_`` private key and checked with its ``whpk_`` public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crossdock.webhooks.errors import BadSignature

HMAC_PREFIX = "whsec_"
PUBLIC_KEY_PREFIX = "whpk_"
PRIVATE_KEY_PREFIX = "whsk_"
_ED25519_SEED_BYTES = 32


def key_bytes(value: str, prefix: str) -> bytes:
    """The key after ``prefix``, base64-decoded."""
    try:
        return base64.b64decode(value[len(prefix):], validate=True)
    except binascii.Error as exc:
        raise BadSignature(f"a {prefix} secret is not base64") from exc


def hmac_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret (other secrets are used as their UTF-8 bytes)."""
    if secret.startswith(HMAC_PREFIX):
        return key_bytes(secret, HMAC_PREFIX)
    return secret.encode()


def signed_content(webhook_id: str, timestamp: str, body: bytes) -> bytes:
    """What a signature covers."""
    return f"{webhook_id}.{timestamp}.".encode() + body


def signature_entry(secret: str, content: bytes) -> str:
    """One ``webhook-signature`` entry: ``v1a,...`` under a ``whsk_`` key, else ``v1,...``."""
    if secret.startswith(PRIVATE_KEY_PREFIX):
        # A whsk_ key is the 32-byte seed, or the seed followed by the public key.
        seed = key_bytes(secret, PRIVATE_KEY_PREFIX)[:_ED25519_SEED_BYTES]
        signed = Ed25519PrivateKey.from_private_bytes(seed).sign(content)
        return "v1a," + base64.b64encode(signed).decode()
    signed = hmac.new(hmac_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(signed).decode()


def new_key_pair() -> tuple[str, str]:
    """A fresh ``(whsk_..., whpk_...)`` ed25519 pair."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    private = PRIVATE_KEY_PREFIX + base64.b64encode(seed).decode()
    public = public_key(private)
    assert public is not None
    return private, public


def public_key(secret: str) -> str | None:
    """The ``whpk_`` public key of a ``whsk_`` private key; None for an HMAC secret."""
    if not secret.startswith(PRIVATE_KEY_PREFIX):
        return None
    seed = key_bytes(secret, PRIVATE_KEY_PREFIX)[:_ED25519_SEED_BYTES]
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return PUBLIC_KEY_PREFIX + base64.b64encode(public).decode()
