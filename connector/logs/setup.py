"""How a process logs: level and format from the environment, every record redacted.

Redaction sits in the record factory, so it runs for every record of every logger (ours,
uvicorn's, httpx's, botocore's, the stand-ins') before any handler or formatter sees it,
whoever added the handler; the root handler's filter repeats it for records made elsewhere
(a library's own factory). `connector serve` hands the same configuration to each uvicorn worker.
"""

from __future__ import annotations

import logging
import logging.config
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connector.errors import ConfigurationError
from connector.logs.redaction import redact

LogFormat = Literal["json", "console"]
_FORMATS: tuple[LogFormat, ...] = ("json", "console")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class LogOptions:
    level: str = "INFO"
    format: LogFormat = "console"


def log_options(environ: Mapping[str, str]) -> LogOptions:
    """`CONNECTOR_LOG_LEVEL` (INFO) and `CONNECTOR_LOG_FORMAT` (json when CONNECTOR_ENV=production,
    else console); ConfigurationError naming the variable otherwise."""
    level = environ.get("CONNECTOR_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in _LEVELS:
        raise ConfigurationError("CONNECTOR_LOG_LEVEL", f"must be one of {', '.join(_LEVELS)}")
    production = environ.get("CONNECTOR_ENV", "").strip().lower() == "production"
    text = environ.get("CONNECTOR_LOG_FORMAT", "").strip().lower()
    if not text:
        return LogOptions(level, "json" if production else "console")
    for name in _FORMATS:
        if text == name:
            return LogOptions(level, name)
    raise ConfigurationError("CONNECTOR_LOG_FORMAT", "must be json or console")


class Redact(logging.Filter):
    """Renders the record's message and exception once, redacted (idempotent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "redacted", False):
        return record
    record.msg, record.args = redact(record.getMessage()), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.redacted = True
    return record


def install_redaction() -> None:
    """Wrap the process's record factory (once): every record is redacted where it is made."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacting", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    redacting.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)


def logging_config(options: LogOptions) -> dict[str, Any]:
    """A dictConfig: one stderr handler on the root, every server logger propagating to it."""
    formatter = "connector.logs.formatting." + (
        "JsonFormatter" if options.format == "json" else "ConsoleFormatter"
    )
    server_loggers = ("uvicorn", "uvicorn.error", "uvicorn.access", "granian", "granian.access")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact": {"()": "connector.logs.setup.Redact"},
        },
        "formatters": {"line": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["redact"],
            }
        },
        "loggers": {name: {"handlers": [], "propagate": True} for name in server_loggers}
        # The audit trail is written whatever the level of the rest.
        | {"connector.audit": {"level": "INFO"}},
        "root": {"level": options.level, "handlers": ["stderr"]},
    }


def configure_logging(options: LogOptions) -> None:
    """Configure this process (the CLI, each server worker)."""
    install_redaction()
    logging.config.dictConfig(logging_config(options))
    # No line shows where it was logged from, nor the thread or process: what the logging
    # HOWTO's "Optimization" section says to switch off then (the caller's frame lookup alone
    # was ~7 us of each record, two records per request).
    logging._srcfile = None  # the documented switch (a private name)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def configure_from_environment() -> LogOptions:
    options = log_options(os.environ)
    configure_logging(options)
    return options
