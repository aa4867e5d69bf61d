"""Who is asking: personal access tokens, and a GitHub App's JWTs and installation tokens."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field

import jwt

from crossdock.gitslice.forge.fake.errors import ForgeFault
from crossdock.gitslice.forge.fake.state import ForgeState, User, now


@dataclass(slots=True, kw_only=True)
class App:
    """A GitHub App installed on every repository of the forge (installation ``id``)."""

    id: int
    slug: str
    public_key: str
    installation_id: int = 1
    token_lifetime: datetime.timedelta = datetime.timedelta(hours=1)
    minted: list[str] = field(default_factory=list)


def credential(header: str) -> str | None:
    """The token of an ``Authorization: token X`` or ``Bearer X`` header."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() in {"token", "bearer"} and value.strip():
        return value.strip()
    return None


class Auth:
    """Maps credentials to users; mints installation tokens for the app."""

    def __init__(self, state: ForgeState, app: App | None = None) -> None:
        self.state = state
        self.app = app
        self._installation_tokens: dict[str, datetime.datetime] = {}

    def viewer(self, header: str) -> User:
        """The user behind a token; 401 for none, an unknown one or an expired one."""
        token = credential(header)
        if token is None:
            raise ForgeFault(401, "Requires authentication")
        login = self.state.tokens.get(token)
        expires = self._installation_tokens.get(token)
        if login is None or (expires is not None and expires <= now()):
            raise ForgeFault(401, "Bad credentials")
        return self.state.users[login]

    def as_app(self, header: str) -> App:
        """The app whose JWT (RS256, signed with its private key) is presented."""
        token = credential(header)
        if self.app is None or token is None:
            raise ForgeFault(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(token, self.app.public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError as exc:
            raise ForgeFault(401, "A JSON web token could not be decoded") from exc
        if str(claims["iss"]) != str(self.app.id):
            raise ForgeFault(401, "'Issuer' claim ('iss') must be an Integer")
        return self.app

    def mint(self, app: App) -> tuple[str, datetime.datetime]:
        """A new installation token acting as the app's bot user, and when it expires."""
        token = f"ghs_{secrets.token_hex(18)}"
        self.state.add_user(f"{app.slug}[bot]", token, kind="Bot")
        expires = now() + app.token_lifetime
        self._installation_tokens[token] = expires
        app.minted.append(token)
        return token, expires
