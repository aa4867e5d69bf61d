"""GitSlice's settings come from ``CROSSDOCK_GITSLICE_*`` or ``[gitslice]``, checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossdock.core.errors import ConfigError
from crossdock.gitslice.config import Credentials
from crossdock.gitslice.settings import GitSliceSettings


def test_variables_set_the_cache_folder_tokens_and_probe_timeout(tmp_path: Path) -> None:
    settings = GitSliceSettings.from_env({
        "CROSSDOCK_GITSLICE_DATA_DIR": str(tmp_path / "caches"),
        "CROSSDOCK_GITSLICE_UPSTREAM_TOKEN": "up-secret",
        "CROSSDOCK_GITSLICE_SLICE_USERNAME": "bot",
        "CROSSDOCK_GITSLICE_PROBE_TIMEOUT": "2.5",
    })
    assert settings.cache_dir(tmp_path / "core") == tmp_path / "caches"
    assert settings.probe_timeout == 2.5
    assert settings.credentials() == Credentials(upstream_token="up-secret",
                                                 slice_username="bot")
    assert "up-secret" not in repr(settings)


def test_the_gitslice_table_of_the_config_file_is_read(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.toml"
    config.write_text('[gitslice]\nprobe_timeout = 4\nslice_email = "bot@example.test"\n')
    settings = GitSliceSettings.from_env({"CROSSDOCK_CONFIG": str(config)})
    assert settings.probe_timeout == 4
    assert settings.slice_email == "bot@example.test"


def test_caches_default_to_a_folder_of_the_core_data_folder(tmp_path: Path) -> None:
    settings = GitSliceSettings.from_env({})
    assert settings.cache_dir(tmp_path) == tmp_path / "gitslice"
    assert settings.probe_timeout == 30


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_a_probe_timeout_that_is_not_a_positive_number_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="CROSSDOCK_GITSLICE_PROBE_TIMEOUT: invalid value"):
        GitSliceSettings.from_env({"CROSSDOCK_GITSLICE_PROBE_TIMEOUT": value})


def test_an_unknown_key_in_the_gitslice_table_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "crossdock.toml"
    config.write_text("[gitslice]\nprobe_timout = 4\n")
    with pytest.raises(ConfigError, match="unknown key 'probe_timout' in \\[gitslice\\]"):
        GitSliceSettings.from_env({"CROSSDOCK_CONFIG": str(config)})
