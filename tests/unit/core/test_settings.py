"""Settings: environment first, then crossdock.toml, then defaults; bad values named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crossdock.core.errors import ConfigError
from crossdock.core.settings import ConfigFile, CoreSettings, load


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
