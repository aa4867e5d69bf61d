"""JSON Web Tokens checked against key sets: the signature, the time, the issuer, the audience.

:func:`verify` is what the gateway's ``authentication.router.jwt`` plugin and the admin graph's
JWT sign-in (:mod:`crossdock.core.adminauth`) both check a token with. The token's header names
its algorithm (never ``none``) and maybe a ``kid``; every key of the ring that may have signed
it is tried (a ``kid`` no set holds refreshes the sets once, see :mod:`crossdock.core.jwks`);
``exp`` is required, ``exp`` and ``nbf`` allow :data:`LEEWAY` seconds; the key's set says
which issuers and audiences it signs for. Whatever fails is a :class:`~crossdock.core.errors.
JwtError` whose message says why, in Apollo Router's words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt as pyjwt
from jwt.exceptions import InvalidSignatureError, PyJWTError

from crossdock.core.errors import JwtError
from crossdock.core.jwks import ALGORITHMS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.core.jwks import KeyRing, KeySource

#: Seconds a token's ``exp`` and ``nbf`` may be off by (clocks drift).
LEEWAY = 60


async def verify(ring: KeyRing, token: str) -> dict[str, Any]:
    """The claims of ``token`` signed by a key of ``ring``; raises JwtError saying why not."""
    try:
        header = pyjwt.get_unverified_header(token)
    except PyJWTError as exc:
        raise JwtError(f"'[REDACTED]' is not a valid JWT header: {exc}", status=400) from exc
    algorithm, kid = header.get("alg"), header.get("kid")
    kid = kid if isinstance(kid, str) else None
    if algorithm not in ALGORITHMS:
        raise JwtError(f"Cannot decode JWT: the algorithm '{algorithm}' is not accepted")
    candidates = list(ring.candidates(kid, algorithm))
    if not candidates and kid is not None and not ring.knows(kid) \
            and await ring.refresh_for_unknown_kid():
        candidates = list(ring.candidates(kid, algorithm))
    if not candidates:
        if kid is not None and not ring.knows(kid):
            raise JwtError(f"Cannot find kid: '{kid}' in JWKS list")
        raise JwtError(f"Cannot find a suitable key for: alg: '{algorithm}', "
                       f"kid: '{kid}' in JWKS list")
    failure: PyJWTError | None = None
    for source, jwk in candidates:
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token, jwk.key(algorithm), algorithms=[algorithm], leeway=LEEWAY,
                options={"require": ["exp"], "verify_aud": False, "verify_iss": False})
        except InvalidSignatureError as exc:
            failure = exc  # another key of the same kid or alg may have signed it
            continue
        except PyJWTError as exc:
            raise JwtError(f"Cannot decode JWT: {exc}") from exc
        _check_issuer(source, claims)
        _check_audience(source, claims)
        return claims
    raise JwtError(f"Cannot decode JWT: {failure}")


def _check_issuer(source: KeySource, claims: Mapping[str, Any]) -> None:
    if source.issuers and claims.get("iss") not in source.issuers:
        raise JwtError(f"Invalid issuer: the token's `iss` was '{claims.get('iss')}', but "
                       f"signed with a key from '{', '.join(sorted(source.issuers))}'")


def _check_audience(source: KeySource, claims: Mapping[str, Any]) -> None:
    if not source.audiences:
        return
    audience = claims.get("aud")
    given = {audience} if isinstance(audience, str) else set(audience) \
        if isinstance(audience, list) else set()
    if not given & source.audiences:
        raise JwtError(f"Invalid audience: the token's `aud` was '{audience or '<none>'}', "
                       f"but '{', '.join(sorted(source.audiences))}' was expected")
