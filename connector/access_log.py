"""uvicorn's access log without query strings: they carry authorization codes, OAuth states and
confirmations (`GET /callback?code=…&state=…`), which no log line may hold.

Installed by whoever configures a server: `connector serve` passes `uvicorn_log_config()` to
uvicorn (a dictConfig, so every worker process installs the filter itself); the sandbox's
servers, which log through the process's own set-up, call `drop_query_strings()`."""

from __future__ import annotations

import logging
import re
from typing import Any

from connector.logs.setup import LogOptions, logging_config

ACCESS_LOGGER = "uvicorn.access"
_FILTER_NAME = "drop_query_string"
# uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path with query, version, status).
_ACCESS_ARGS = 5
_QUERY = re.compile(r"\?[^\s\"]*")


class DropQueryString(logging.Filter):
    """Cuts the query off the request path of each access record (keeping the record's shape,
    which uvicorn's AccessFormatter unpacks); a record of another shape loses every `?…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == _ACCESS_ARGS and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        elif "?" in (message := record.getMessage()):
            record.msg, record.args = _QUERY.sub("", message), None
        return True


def uvicorn_log_config(options: LogOptions | None = None) -> dict[str, Any]:
    """The process's logging configuration (every logger through the redacting root handler)
    with the filter on uvicorn's access logger as well."""
    config = logging_config(options or LogOptions())
    config["filters"][_FILTER_NAME] = {"()": f"{__name__}.DropQueryString"}
    config["loggers"][ACCESS_LOGGER]["filters"] = [_FILTER_NAME]
    return config


def drop_query_strings() -> None:
    """Install the filter on this process's access logger (once, however often called)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, DropQueryString) for f in logger.filters):
        logger.addFilter(DropQueryString())
