"""Logs are JSON lines off a terminal, with the ids bound in context."""

from __future__ import annotations

import json

import pytest
import structlog

from crossdock.core.errors import ConfigError
from crossdock.core.logging import configure_logging, get_logger


def test_json_lines_carry_context_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    structlog.contextvars.bind_contextvars(request_id="r-1")
    try:
        get_logger("crossdock.test").info("thing_done", count=3)
        get_logger("crossdock.test").debug("not_shown")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 1
    assert lines[0]["event"] == "thing_done"
    assert lines[0]["request_id"] == "r-1"
    assert lines[0]["count"] == 3
    assert lines[0]["level"] == "info"
    assert lines[0]["component"] == "crossdock.test"


def test_an_unknown_level_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="CROSSDOCK_LOG_LEVEL: invalid value 'loud'"):
        configure_logging("loud", "json")
