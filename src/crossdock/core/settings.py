"""Frozen settings read from the environment and an optional ``crossdock.toml``.

The environment is read only at entrypoints. Each service declares a frozen dataclass of its
settings and a prefix; :func:`load` fills it from ``PREFIX_FIELD`` variables, then from the
service's table in ``crossdock.toml``, then from the field defaults. A bad value fails at start
with a message naming the variable (or the file, line and key).

Values are checked where they enter, not where they are first used: a field made with
:func:`bounded` must lie within its bounds, and an ``int`` field named ``port`` or ``*_port``
within 0 to 65535 (0: any free port).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from crossdock.core.errors import ConfigError

T = TypeVar("T")

CONFIG_FILE_VARIABLE = "CROSSDOCK_CONFIG"
DEFAULT_CONFIG_FILE = Path("crossdock.toml")

_TRUE = {"1", "true", "yes", "on"}
_PORT_BOUNDS = (0, 65535)
_FALSE = {"0", "false", "no", "off", ""}
_CLAIM_LENGTH = 200


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConfigFile:
    """A parsed ``crossdock.toml``: its tables, and where each key stands for error messages."""

    path: Path | None
    data: dict[str, Any]
    text: str = ""

    @classmethod
    def empty(cls) -> ConfigFile:
        """No config file."""
        return cls(path=None, data={})

    @classmethod
    def read(cls, path: Path) -> ConfigFile:
        """Parse ``path``; a syntax error names the file and the line."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        return cls(path=path, data=data, text=text)

    def section(self, name: str) -> dict[str, Any]:
        """The table ``[name]``, or an empty one."""
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(name)}: [{name}] must be a table")
        return value

    def check_tables(self, known: typing.Iterable[str]) -> None:
        """Refuse a top-level table nobody reads (a typo such as ``[webhook]``)."""
        names = sorted(set(known))
        for name in self.data:
            if name not in names:
                raise ConfigError(f"{self.where(name)}: unknown table [{name}] "
                                  f"(known: {', '.join(names)})")

    def where(self, key: str) -> str:
        """``file:line`` of the first line that mentions ``key``, for error messages."""
        for number, line in enumerate(self.text.splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith((f"{key} ", f"{key}=", f"[{key}]")):
                return f"{self.path}:{number}"
        return str(self.path)


def find_config_file(environ: typing.Mapping[str, str]) -> ConfigFile:
    """The config file named by ``CROSSDOCK_CONFIG``, or ``./crossdock.toml`` if it exists."""
    named = environ.get(CONFIG_FILE_VARIABLE)
    if named:
        return ConfigFile.read(Path(named))
    if DEFAULT_CONFIG_FILE.is_file():
        return ConfigFile.read(DEFAULT_CONFIG_FILE)
    return ConfigFile.empty()


def load(
    cls: type[T],
    prefix: str,
    *,
    environ: typing.Mapping[str, str] | None = None,
    config: ConfigFile | None = None,
    section: str | None = None,
    overrides: typing.Mapping[str, Any] | None = None,
) -> T:
    """Build the frozen dataclass ``cls`` from overrides, ``PREFIX_*`` variables and the file."""
    environ = os.environ if environ is None else environ
    config = find_config_file(environ) if config is None else config
    table = config.section(section) if section else {}
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in table:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(
                f"{config.where(key)}: unknown key {key!r} in [{section}] (known: {known})"
            )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, field in fields.items():
        variable = f"{prefix}{name.upper()}"
        if overrides is not None and overrides.get(name) is not None:
            values[name] = overrides[name]
            sources[name] = f"--{name.replace('_', '-')}"
        elif variable in environ:
            values[name] = _coerce(hints[name], environ[variable], source=variable)
            sources[name] = variable
        elif name in table:
            sources[name] = f"{config.where(name)}: key {name!r}"
            values[name] = _coerce(hints[name], table[name], source=sources[name])
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{variable} is required")
    for name, value in values.items():
        _check_bounds(fields[name], hints[name], value, source=sources[name])
    return cls(**values)


def bounded(default: Any, *, low: float | None = None, high: float | None = None) -> Any:
    """A settings field whose value :func:`load` keeps within ``low`` and ``high``."""
    return dataclasses.field(default=default, metadata={"bounds": (low, high)})


def _check_bounds(field: dataclasses.Field[Any], hint: Any, value: Any, *, source: str) -> None:
    bounds = field.metadata.get("bounds")
    if bounds is None and hint in (int, int | None) and (
            field.name == "port" or field.name.endswith("_port")):
        bounds = _PORT_BOUNDS
    if bounds is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        expected = (f"a number from {low} to {high}" if low is not None and high is not None
                    else f"at least {low}" if low is not None else f"at most {high}")
        raise ConfigError(f"{source}: invalid value {value!r}: expected {expected}")


def _coerce(hint: Any, raw: Any, *, source: str) -> Any:  # noqa: C901, PLR0911 (a branch per type)
    """Turn ``raw`` (a string from the environment, or a TOML value) into ``hint``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [arg for arg in args if arg is not type(None)]
        if raw in ("", None):
            return None
        return _coerce(inner[0], raw, source=source)
    try:
        if hint is bool:
            return parse_bool(raw)
        if hint in (int, float):
            if isinstance(raw, bool):
                raise ValueError("a boolean is not a number")  # noqa: TRY301
            return hint(raw)
        if hint is Path:
            return Path(raw).expanduser()
        if hint is str:
            if not isinstance(raw, str):
                raise ValueError("expected a string")  # noqa: TRY301
            return raw
        if origin is tuple:
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(_coerce(args[0], item.strip() if isinstance(item, str) else item,
                                 source=source) for item in items if item != "")
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _member(hint, raw)
    except ValueError as exc:
        raise ConfigError(f"{source}: invalid value {raw!r}: {exc}") from exc
    return raw


def _member(enum_type: type[enum.Enum], raw: Any) -> enum.Enum:
    for member in enum_type:
        if str(member.value).lower() == str(raw).strip().lower():
            return member
    choices = ", ".join(str(member.value) for member in enum_type)
    raise ValueError(f"expected one of {choices}")


def parse_bool(raw: Any) -> bool:
    """``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0`` (any case) as a bool."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


def user_data_dir() -> Path:
    """The per-user home of crossdock's local data (the embedded PostgreSQL, demo repositories)."""
    import platformdirs

    return platformdirs.user_data_path("crossdock", appauthor=False)


class LogLevel(enum.StrEnum):
    """How much a process logs."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(enum.StrEnum):
    """How log lines are written: ``auto`` is JSON unless stderr is a terminal."""

    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CoreSettings:
    """Settings every process shares (prefix ``CROSSDOCK_``, table ``[core]``)."""

    database_url: str | None = None
    #: One home per user, whatever folder a command runs in, so ``crossdock up`` and every
    #: other command share one embedded PostgreSQL.
    data_dir: Path = dataclasses.field(default_factory=user_data_dir)
    #: Apply pending migrations at the start of a command on ``DATABASE_URL`` too (they are
    #: always applied on the embedded database).
    auto_migrate: bool = False
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.AUTO
    pool_min_size: int = bounded(1, low=0)
    pool_max_size: int = bounded(10, low=1)
    #: Where ``crossdock up`` serves the admin subgraphs (``/<service>/graphql``) that the
    #: gateway federates (0: any free port).
    admin_graph_port: int = bounded(4010, low=0)
    #: Where ``crossdock up`` serves the dashboard, the admin graph's web pages (0: any free
    #: port).
    dashboard_port: int = bounded(4020, low=0)
    #: JSON Web Key Sets (http(s):// or file:// URLs) whose JWTs open the admin graph and the
    #: admin APIs beside the ``cdx_`` tokens (empty: ``cdx_`` tokens only). See
    #: core/adminauth.py.
    admin_jwt_jwks: tuple[str, ...] = ()
    #: The ``iss`` an admin JWT must have (unset: any).
    admin_jwt_issuer: str | None = None
    #: An ``aud`` an admin JWT must have (unset: any).
    admin_jwt_audience: str | None = None
    #: The claim that gives an admin JWT its role: ``read`` or ``admin`` (a string or a list).
    admin_jwt_role_claim: str = "crossdock_role"

    @classmethod
    def from_env(
        cls,
        environ: typing.Mapping[str, str] | None = None,
        *,
        config: ConfigFile | None = None,
        **overrides: Any,
    ) -> CoreSettings:
        """Read ``CROSSDOCK_*`` (and the conventional ``DATABASE_URL``) into settings."""
        environ = os.environ if environ is None else environ
        config = find_config_file(environ) if config is None else config
        config.check_tables(known_tables())
        url_source = "CROSSDOCK_DATABASE_URL"
        if "DATABASE_URL" in environ and "CROSSDOCK_DATABASE_URL" not in environ:
            overrides.setdefault("database_url", environ["DATABASE_URL"] or None)
            url_source = "DATABASE_URL"
        elif "CROSSDOCK_DATABASE_URL" not in environ:
            url_source = f"{config.where('database_url')}: key 'database_url'"
        settings = load(
            cls, "CROSSDOCK_", environ=environ, config=config, section="core", overrides=overrides
        )
        if settings.pool_max_size < settings.pool_min_size:
            raise ConfigError(
                f"CROSSDOCK_POOL_MAX_SIZE ({settings.pool_max_size}) is smaller than "
                f"CROSSDOCK_POOL_MIN_SIZE ({settings.pool_min_size})"
            )
        if settings.database_url:
            check_database_url(settings.database_url, source=url_source)
        check_admin_jwt(settings)
        return settings


def check_admin_jwt(settings: CoreSettings) -> None:
    """Refuse admin JWT settings that could never let a token in."""
    for url in settings.admin_jwt_jwks:
        parts = urlsplit(url)
        if not ((parts.scheme in {"http", "https"} and parts.hostname)
                or (parts.scheme == "file" and parts.path)):
            raise ConfigError(f"CROSSDOCK_ADMIN_JWT_JWKS: {url!r} is not an http(s):// or "
                              "file:// URL of a JSON Web Key Set")
    claim = settings.admin_jwt_role_claim
    if not claim or len(claim) > _CLAIM_LENGTH or not claim.isprintable() \
            or any(c.isspace() for c in claim):
        raise ConfigError(f"CROSSDOCK_ADMIN_JWT_ROLE_CLAIM: {claim!r} is not a claim name "
                          "(printable, no spaces, at most 200 characters)")
    for name in ("issuer", "audience"):
        value = getattr(settings, f"admin_jwt_{name}")
        if value is not None and not settings.admin_jwt_jwks:
            raise ConfigError(f"CROSSDOCK_ADMIN_JWT_{name.upper()} is set but "
                              "CROSSDOCK_ADMIN_JWT_JWKS is not: no JWT would be checked")


def known_tables() -> set[str]:
    """The tables ``crossdock.toml`` may have: ``[core]`` and one per installed service."""
    from crossdock.core.services import discover

    return {"core", *(service.name for service in discover())}


def check_database_url(url: str, *, source: str) -> None:
    """Refuse a database URL that PostgreSQL's client could not even parse.

    The message never repeats the URL, which may hold a password.
    """
    from psycopg.conninfo import conninfo_to_dict

    expected = ("expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE or "
                "'host=... dbname=...'")
    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg.ProgrammingError; nothing else parses a conninfo
        raise ConfigError(f"{source}: not a PostgreSQL connection URL; {expected}") from exc
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isdigit() and 1 <= int(port) <= _PORT_BOUNDS[1]):
            raise ConfigError(f"{source}: invalid port {port!r} in the connection URL; "
                              f"expected a number from 1 to {_PORT_BOUNDS[1]}")
