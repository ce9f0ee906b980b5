"""The access-log filter: uvicorn's record keeps its shape without the query; any other record
on that logger loses every query it names."""

from __future__ import annotations

import logging

from uvicorn.logging import AccessFormatter

from connector.access_log import ACCESS_LOGGER, DropQueryString, uvicorn_log_config


def record(msg: str, args: tuple[object, ...]) -> logging.LogRecord:
    return logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, msg, args, None)


def test_uvicorns_access_record_keeps_its_shape_without_the_query() -> None:
    line = record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/callback?code=c0de&state=st4te", "1.1", 302),
    )
    assert DropQueryString().filter(line)
    assert line.args == ("127.0.0.1:5000", "GET", "/callback", "1.1", 302)
    formatted = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(line)
    assert formatted == '127.0.0.1:5000 - "GET /callback HTTP/1.1" 302 Found'


def test_a_record_of_another_shape_loses_its_queries() -> None:
    line = record("redirect to %s then %s", ("/a?state=s1", "https://x.example/b?code=c2 done"))
    assert DropQueryString().filter(line)
    assert line.getMessage() == "redirect to /a then https://x.example/b done"


def test_the_serve_configuration_puts_the_filter_on_the_access_logger_only() -> None:
    config = uvicorn_log_config()
    assert config["loggers"][ACCESS_LOGGER]["filters"] == ["drop_query_string"]
    assert config["filters"]["drop_query_string"] == {"()": "connector.access_log.DropQueryString"}
    assert "filters" not in config["loggers"]["uvicorn.error"]
