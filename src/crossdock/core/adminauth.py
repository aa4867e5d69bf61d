"""Who is asking the admin graph or an admin API, and with which role: one check for both.

A request carries ``Authorization: Bearer <value>``. A value that starts with ``cdx_`` is an
admin token (:mod:`crossdock.core.tokens`). Any other value is a JSON Web Token when
``CROSSDOCK_ADMIN_JWT_JWKS`` names the organisation's key sets, and unknown otherwise: the
door stays closed to JWTs until it is opened.

A JWT is checked as the gateway checks one (:func:`crossdock.core.jwt.verify`: signature,
``exp``/``nbf``, ``CROSSDOCK_ADMIN_JWT_ISSUER`` and ``..._AUDIENCE`` when set). Its role comes
from the claim ``CROSSDOCK_ADMIN_JWT_ROLE_CLAIM`` (``crossdock_role`` unless set): ``read`` or
``admin``, or a list of them; or from the OAuth ``scope`` claim, space-separated, with
``crossdock:read`` or ``crossdock:admin`` (what an authorization server grants a client). The
highest role found wins. A valid token with neither is refused with 403: it proves who the
caller is, not that crossdock may serve them.

Key sets are read at the first JWT and again when a token arrives after their poll interval
(60 s) passed, or names a ``kid`` no set holds; a set whose refresh fails keeps its keys. While
no set could ever be read, JWTs are answered 503: the fault is the identity provider's or the
network's, not the caller's. No task runs in the background: nothing to stop at shutdown.

:class:`TokenGuard` puts the check in front of a JSON API; the admin subgraphs use
:meth:`AdminAuth.caller` in :class:`~crossdock.core.admin_graph.serving.SubgraphApp`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import orjson

from crossdock.core.asgi import send_bytes
from crossdock.core.errors import AccessDenied, DatabaseError, JwtError
from crossdock.core.jwks import KeyRing, KeySet, KeySource
from crossdock.core.jwt import verify
from crossdock.core.logging import get_logger
from crossdock.core.tokens import PREFIX, Role, TokenStore, bearer

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from crossdock.core.asgi import ASGIApp, Receive, Scope, Send
    from crossdock.core.database import Database
    from crossdock.core.settings import CoreSettings
    from crossdock.core.tokens import AdminToken

log = get_logger("crossdock.adminauth")

#: The scopes that grant a role, in an OAuth ``scope`` claim.
SCOPES = {"crossdock:read": Role.READ, "crossdock:admin": Role.ADMIN}
_MISSING = ("this API needs an admin token: send Authorization: Bearer <token> (create one "
            "with crossdock admin token create)")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """Who a request comes from: an admin token or a JWT's subject, and the role it has."""

    role: Role
    #: How messages name the caller ("token 3", "the JWT of 'ada'").
    name: str
    #: The admin token, when the caller used one.
    token: AdminToken | None = None

    def allow(self, writes: str | None) -> None:
        """Raise 403 :class:`AccessDenied` when the request ``writes`` and the caller only reads."""
        if writes is not None and self.role is not Role.ADMIN:
            raise AccessDenied(f"{self.name} has the read role; {writes} needs an admin token",
                          status=403, code="FORBIDDEN")



class AdminJwt:
    """The organisation's key sets and the claim that names a role."""

    def __init__(self, ring: KeyRing, *, role_claim: str) -> None:
        self.ring = ring
        self.role_claim = role_claim

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> AdminJwt | None:
        """The JWT check the settings ask for; None when they name no key set."""
        if not settings.admin_jwt_jwks:
            return None
        issuer, audience = settings.admin_jwt_issuer, settings.admin_jwt_audience
        sets = [KeySet(source=KeySource(
            url=url, issuers=frozenset([issuer] if issuer else []),
            audiences=frozenset([audience] if audience else [])))
            for url in settings.admin_jwt_jwks]
        return cls(KeyRing(sets, log=log), role_claim=settings.admin_jwt_role_claim)

    async def caller(self, token: str) -> Caller:
        """The caller ``token`` proves; :class:`AccessDenied` when it proves nothing usable."""
        await self.ring.refresh_stale()
        if not self.ring.fetched():
            raise AccessDenied("the key sets that admin JWTs are checked with cannot be read; "
                          "retry later", status=503, code="SERVICE_UNAVAILABLE")
        try:
            claims = await verify(self.ring, token)
        except JwtError as exc:
            raise AccessDenied(f"the JWT is not valid: {exc.message}", status=401,
                          code="UNAUTHENTICATED") from exc
        subject = claims.get("sub")
        name = f"the JWT of {subject!r}" if isinstance(subject, str) else "the JWT"
        role = self.role(claims)
        if role is None:
            raise AccessDenied(f"the token grants no crossdock role ({name} has no "
                          f"{self.role_claim} claim of read or admin, nor a crossdock:read "
                          "or crossdock:admin scope)", status=403, code="FORBIDDEN")
        return Caller(role=role, name=name)

    def role(self, claims: Mapping[str, Any]) -> Role | None:
        """The highest role the claims grant, None when they grant none."""
        value = claims.get(self.role_claim)
        named = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        scope = claims.get("scope")
        granted = {Role(item) for item in named if item in {"read", "admin"}}
        if isinstance(scope, str):
            granted |= {SCOPES[item] for item in scope.split() if item in SCOPES}
        return Role.ADMIN if Role.ADMIN in granted else Role.READ if granted else None


class AdminAuth:
    """Admin tokens, and JWTs when they are configured (see the module's docstring)."""

    def __init__(self, tokens: TokenStore, jwt: AdminJwt | None = None) -> None:
        self.tokens = tokens
        self.jwt = jwt

    @classmethod
    def from_settings(cls, database: Database, settings: CoreSettings) -> AdminAuth:
        """The check for a process with these settings."""
        return cls(TokenStore(database), AdminJwt.from_settings(settings))

    async def admit(self, value: str | None, *, writes: str | None, missing: str) -> Caller:
        """The caller the bearer ``value`` proves, if its role allows the request.

        ``writes`` names what the request does that needs the admin role (None when it only
        reads); ``missing`` is the message for a request without a token. Raises
        :class:`AccessDenied` with the answer's status, code and message otherwise.
        """
        if value is None:
            raise AccessDenied(missing, status=401, code="UNAUTHENTICATED")
        caller = await self.caller(value)
        caller.allow(writes)
        return caller

    async def caller(self, value: str) -> Caller:
        """The caller the bearer ``value`` proves; :class:`AccessDenied` when it does not."""
        if self.jwt is not None and not value.startswith(PREFIX):
            return await self.jwt.caller(value)
        try:
            token = await self.tokens.authenticate(value)
        except DatabaseError as exc:
            raise AccessDenied("the database is unavailable; retry later", status=503,
                          code="SERVICE_UNAVAILABLE") from exc
        if token is None:
            raise AccessDenied("the admin token is unknown or revoked", status=401,
                          code="UNAUTHENTICATED")
        return Caller(role=token.role, name=f"token {token.id}", token=token)


class TokenGuard:
    """Pass HTTP requests to ``app`` only from a caller whose role allows the method.

    Paths in ``public`` (the API's description) need no token.
    """

    def __init__(self, app: ASGIApp, auth: AdminAuth, *,
                 public: Collection[str] = ()) -> None:
        self.app = app
        self.auth = auth
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        try:
            await self.auth.admit(bearer(scope), writes=None if Role.READ.allows(method)
                                  else method, missing=_MISSING)
        except AccessDenied as exc:
            await send_bytes(send, exc.status, orjson.dumps({"error": exc.message}),
                             headers=exc.headers)
            return
        await self.app(scope, receive, send)
