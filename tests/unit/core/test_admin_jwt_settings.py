"""The admin JWT settings: read from the environment or ``[core]``, refused at start when they
could never let a token in; and the roles a token's claims grant."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from crossdock.core.adminauth import AdminJwt
from crossdock.core.errors import ConfigError
from crossdock.core.settings import ConfigFile, CoreSettings
from crossdock.core.tokens import Role

if TYPE_CHECKING:
    from pathlib import Path


def test_unset_means_no_jwt_check() -> None:
    settings = CoreSettings.from_env({}, config=ConfigFile.empty())
    assert settings.admin_jwt_jwks == ()
    assert settings.admin_jwt_role_claim == "crossdock_role"
    assert AdminJwt.from_settings(settings) is None


def test_several_key_sets_come_from_one_variable_or_the_file(tmp_path: Path) -> None:
    settings = CoreSettings.from_env({
        "CROSSDOCK_ADMIN_JWT_JWKS": "https://idp.example.com/jwks.json, file:///etc/keys.json",
        "CROSSDOCK_ADMIN_JWT_ISSUER": "https://idp.example.com/",
        "CROSSDOCK_ADMIN_JWT_AUDIENCE": "crossdock",
        "CROSSDOCK_ADMIN_JWT_ROLE_CLAIM": "https://example.com/crossdock-role",
    }, config=ConfigFile.empty())
    jwt = AdminJwt.from_settings(settings)
    assert jwt is not None
    assert [s.source.url for s in jwt.ring.sets] == ["https://idp.example.com/jwks.json",
                                                      "file:///etc/keys.json"]
    assert {s.source.issuers for s in jwt.ring.sets} == {frozenset({"https://idp.example.com/"})}
    assert {s.source.audiences for s in jwt.ring.sets} == {frozenset({"crossdock"})}
    assert jwt.role_claim == "https://example.com/crossdock-role"
    path = tmp_path / "crossdock.toml"
    path.write_text('[core]\nadmin_jwt_jwks = ["http://127.0.0.1:9/jwks.json"]\n')
    from_file = CoreSettings.from_env({}, config=ConfigFile.read(path))
    assert from_file.admin_jwt_jwks == ("http://127.0.0.1:9/jwks.json",)


@pytest.mark.parametrize(("environ", "message"), [
    ({"CROSSDOCK_ADMIN_JWT_JWKS": "ftp://idp.example.com/jwks.json"},
     ("CROSSDOCK_ADMIN_JWT_JWKS: 'ftp://idp.example.com/jwks.json' is not an http(s):// or "
      "file:// URL")),
    ({"CROSSDOCK_ADMIN_JWT_JWKS": "idp.example.com/jwks.json"}, "is not an http(s)://"),
    ({"CROSSDOCK_ADMIN_JWT_JWKS": "https:///jwks.json"}, "is not an http(s)://"),
    ({"CROSSDOCK_ADMIN_JWT_JWKS": "http://idp/jwks.json",
      "CROSSDOCK_ADMIN_JWT_ROLE_CLAIM": "crossdock role"},
     "CROSSDOCK_ADMIN_JWT_ROLE_CLAIM: 'crossdock role' is not a claim name"),
    ({"CROSSDOCK_ADMIN_JWT_JWKS": "http://idp/jwks.json",
      "CROSSDOCK_ADMIN_JWT_ROLE_CLAIM": "role\x00"}, "is not a claim name"),
    ({"CROSSDOCK_ADMIN_JWT_ISSUER": "https://idp.example.com/"},
     "CROSSDOCK_ADMIN_JWT_ISSUER is set but CROSSDOCK_ADMIN_JWT_JWKS is not"),
], ids=["scheme", "no-scheme", "no-host", "claim-space", "claim-nul", "issuer-alone"])
def test_a_setting_that_could_never_let_a_token_in_is_refused_in_one_line(
        environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        CoreSettings.from_env(environ, config=ConfigFile.empty())
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert refused.value.exit_code == 2


def test_an_empty_role_claim_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crossdock.toml"
    path.write_text('[core]\nadmin_jwt_jwks = ["http://idp/jwks.json"]\n'
                    'admin_jwt_role_claim = ""\n')
    with pytest.raises(ConfigError, match="is not a claim name"):
        CoreSettings.from_env({}, config=ConfigFile.read(path))


@pytest.mark.parametrize(("claims", "role"), [
    ({"crossdock_role": "read"}, Role.READ),
    ({"crossdock_role": "admin"}, Role.ADMIN),
    ({"crossdock_role": ["read", "admin"]}, Role.ADMIN),
    ({"crossdock_role": ["viewer", "read"]}, Role.READ),
    ({"scope": "openid crossdock:read"}, Role.READ),
    ({"scope": "crossdock:read crossdock:admin"}, Role.ADMIN),
    ({"crossdock_role": "read", "scope": "crossdock:admin"}, Role.ADMIN),
    ({}, None),
    ({"crossdock_role": "Admin"}, None),
    ({"crossdock_role": {"admin": True}}, None),
    ({"scope": ["crossdock:admin"]}, None),
    ({"role": "admin"}, None),
])
def test_the_highest_role_a_token_carries_wins_and_nothing_else_grants_one(
        claims: dict[str, Any], role: Role | None) -> None:
    settings = CoreSettings(admin_jwt_jwks=("http://idp/jwks.json",))
    jwt = AdminJwt.from_settings(settings)
    assert jwt is not None
    assert jwt.role(claims) is role
