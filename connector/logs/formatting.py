"""One line per record: a JSON object (production) or readable text (development), both
carrying the request's fields, both redacted."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from connector.logs import context
from connector.logs.redaction import redact

# Attributes every LogRecord has: anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "redacted", "color_message"}
)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The request's fields, then the record's own (`extra=`), string values redacted."""
    request = context.current()
    found: dict[str, Any] = request.fields() if request is not None else {}
    for name, value in record.__dict__.items():
        if name not in _STANDARD and not name.startswith("_"):
            found[name] = redact(value) if isinstance(value, str) else value
    return found


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", <request fields>, <extra>, "exception"}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """`time LEVEL logger: message  key=value…` for a developer's terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = fields_of(record)
        if not extra:
            return text
        head, sep, tail = text.partition("\n")
        suffix = " ".join(f"{name}={value}" for name, value in extra.items())
        return f"{head}  {suffix}{sep}{tail}"
