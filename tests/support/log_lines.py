"""The JSON lines production writes, captured from named loggers while a test runs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connector.logs.formatting import JsonFormatter


class JsonLines(logging.Handler):
    """Each record as the production JSON formatter writes it, formatted as it is emitted (the
    request's context is that of the request then)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def json_lines(*names: str) -> Iterator[list[dict[str, Any]]]:
    """The lines the loggers `names` write at INFO and above inside the block, in order."""
    handler = JsonLines()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
