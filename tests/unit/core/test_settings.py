"""Settings: environment first, then crossdock.toml, then defaults; bad values named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crossdock.core.errors import ConfigError
from crossdock.core.settings import ConfigFile, CoreSettings, LogLevel, bounded, load


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    port: int = 4000
    debug: bool = False
    origins: tuple[str, ...] = ()
    token: str | None = None
    data: Path = Path("data")


def _file(tmp_path: Path, text: str) -> ConfigFile:
    path = tmp_path / "crossdock.toml"
    path.write_text(text)
    return ConfigFile.read(path)


def test_defaults_apply_when_nothing_is_set() -> None:
    assert load(Example, "X_", environ={}, config=ConfigFile.empty()) == Example()


def test_environment_values_are_coerced_to_the_field_types() -> None:
    env = {"X_PORT": "8080", "X_DEBUG": "yes", "X_ORIGINS": "a, b", "X_TOKEN": "t",
           "X_DATA": "/srv"}
    assert load(Example, "X_", environ=env, config=ConfigFile.empty()) == Example(
        port=8080, debug=True, origins=("a", "b"), token="t", data=Path("/srv"))


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = _file(tmp_path, "[x]\nport = 1\ndebug = true\n")
    loaded = load(Example, "X_", environ={"X_PORT": "2"}, config=config, section="x")
    assert (loaded.port, loaded.debug) == (2, True)


def test_a_bad_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="X_PORT: invalid value 'many'"):
        load(Example, "X_", environ={"X_PORT": "many"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match="X_DEBUG"):
        load(Example, "X_", environ={"X_DEBUG": "perhaps"}, config=ConfigFile.empty())


def test_a_bad_file_value_names_the_file_line_and_key(tmp_path: Path) -> None:
    config = _file(tmp_path, "[x]\n\nport = true\n")
    with pytest.raises(ConfigError, match=r"crossdock.toml:3: key 'port'"):
        load(Example, "X_", environ={}, config=config, section="x")


def test_an_unknown_file_key_is_refused_with_its_line(tmp_path: Path) -> None:
    config = _file(tmp_path, "[x]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"crossdock.toml:2: unknown key 'prot'"):
        load(Example, "X_", environ={}, config=config, section="x")


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "crossdock.toml"
    path.write_text("[x]\nport = = 1\n")
    with pytest.raises(ConfigError, match=r"crossdock.toml: .*line 2"):
        ConfigFile.read(path)


def test_database_url_comes_from_the_conventional_variable() -> None:
    settings = CoreSettings.from_env({"DATABASE_URL": "postgresql://h/db"},
                                     config=ConfigFile.empty())
    assert settings.database_url == "postgresql://h/db"
    prefixed = CoreSettings.from_env(
        {"DATABASE_URL": "postgresql://h/a", "CROSSDOCK_DATABASE_URL": "postgresql://h/b"},
        config=ConfigFile.empty())
    assert prefixed.database_url == "postgresql://h/b"


def test_settings_are_frozen() -> None:
    settings = CoreSettings.from_env({}, config=ConfigFile.empty())
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.log_level = "debug"  # type: ignore[misc]


def test_the_data_folder_is_one_per_user_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = CoreSettings.from_env({}, config=ConfigFile.empty())
    assert settings.data_dir == tmp_path / "share" / "crossdock"
    named = CoreSettings.from_env({"CROSSDOCK_DATA_DIR": "~/cd"}, config=ConfigFile.empty())
    assert named.data_dir == Path.home() / "cd"


def test_auto_migrate_is_off_unless_set(tmp_path: Path) -> None:
    assert CoreSettings.from_env({}, config=ConfigFile.empty()).auto_migrate is False
    assert CoreSettings.from_env({"CROSSDOCK_AUTO_MIGRATE": "1"},
                                 config=ConfigFile.empty()).auto_migrate is True
    on_file = _file(tmp_path, "[core]\nauto_migrate = true\n")
    assert CoreSettings.from_env({}, config=on_file).auto_migrate is True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Bounded:
    port: int = 4000
    admin_port: int | None = None
    size: int = bounded(10, low=1)
    ratio: float = bounded(0.5, low=0, high=1)


def test_a_port_outside_0_to_65535_is_refused_wherever_it_comes_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="X_PORT: invalid value 70000: expected a number "
                                          "from 0 to 65535"):
        load(Bounded, "X_", environ={"X_PORT": "70000"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match="X_ADMIN_PORT: invalid value -1"):
        load(Bounded, "X_", environ={"X_ADMIN_PORT": "-1"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match=r"crossdock.toml:2: key 'port': invalid value 65536"):
        load(Bounded, "X_", environ={}, config=_file(tmp_path, "[x]\nport = 65536\n"),
             section="x")
    with pytest.raises(ConfigError, match="--port: invalid value 99999"):
        load(Bounded, "X_", environ={}, config=ConfigFile.empty(), overrides={"port": 99999})
    assert load(Bounded, "X_", environ={"X_PORT": "0"}, config=ConfigFile.empty()).port == 0


def test_a_bounded_field_names_its_bounds() -> None:
    with pytest.raises(ConfigError, match="X_SIZE: invalid value -3: expected at least 1"):
        load(Bounded, "X_", environ={"X_SIZE": "-3"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match=r"X_RATIO: invalid value 1\.5: expected a number "
                                          r"from 0 to 1"):
        load(Bounded, "X_", environ={"X_RATIO": "1.5"}, config=ConfigFile.empty())


def test_pool_sizes_are_checked_alone_and_together() -> None:
    with pytest.raises(ConfigError, match="CROSSDOCK_POOL_MAX_SIZE: invalid value -3"):
        CoreSettings.from_env({"CROSSDOCK_POOL_MAX_SIZE": "-3"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match=r"CROSSDOCK_POOL_MAX_SIZE \(2\) is smaller than "
                                          r"CROSSDOCK_POOL_MIN_SIZE \(5\)"):
        CoreSettings.from_env({"CROSSDOCK_POOL_MAX_SIZE": "2", "CROSSDOCK_POOL_MIN_SIZE": "5"},
                              config=ConfigFile.empty())


def test_an_unknown_log_level_or_format_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="CROSSDOCK_LOG_LEVEL: invalid value 'loud': "
                                          "expected one of debug, info, warning, error"):
        CoreSettings.from_env({"CROSSDOCK_LOG_LEVEL": "loud"}, config=ConfigFile.empty())
    with pytest.raises(ConfigError, match="CROSSDOCK_LOG_FORMAT: invalid value 'xml'"):
        CoreSettings.from_env({"CROSSDOCK_LOG_FORMAT": "xml"}, config=ConfigFile.empty())
    loud = CoreSettings.from_env({"CROSSDOCK_LOG_LEVEL": "DEBUG"}, config=ConfigFile.empty())
    assert loud.log_level is LogLevel.DEBUG


def test_an_unknown_table_is_refused_with_its_line_and_the_known_ones(tmp_path: Path) -> None:
    config = _file(tmp_path, "[core]\nlog_level = 'info'\n\n[webhook]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"crossdock.toml:4: unknown table \[webhook\] "
                                          r"\(known: core, .*webhooks\)"):
        CoreSettings.from_env({}, config=config)
    known = _file(tmp_path, "[core]\n[gateway]\n[webhooks]\n[gitslice]\n")
    assert CoreSettings.from_env({}, config=known).log_level is LogLevel.INFO


@pytest.mark.parametrize("url", ["notaurl", "mysql://h/db", "postgresql://u:p w@h/db",
                                 "postgresql://h:99999/db", "postgresql://h:abc/db"])
def test_a_malformed_database_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: ") as caught:
        CoreSettings.from_env({"DATABASE_URL": url}, config=ConfigFile.empty())
    assert "p w" not in str(caught.value)


def test_the_database_url_error_names_where_the_url_came_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^CROSSDOCK_DATABASE_URL: "):
        CoreSettings.from_env({"CROSSDOCK_DATABASE_URL": "x"}, config=ConfigFile.empty())
    config = _file(tmp_path, "[core]\ndatabase_url = 'x'\n")
    with pytest.raises(ConfigError, match=r"crossdock.toml:2: key 'database_url': "):
        CoreSettings.from_env({}, config=config)


def test_well_formed_database_urls_pass() -> None:
    for url in ("postgresql://u:secret@h:5433/db", "host=/tmp dbname=x", "postgres:///db"):
        assert CoreSettings.from_env({"DATABASE_URL": url},
                                     config=ConfigFile.empty()).database_url == url
