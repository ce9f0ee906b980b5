"""The redaction layer: each kind of secret masked, plain text and hex ids kept, and every record
of every logger redacted where it is made, whatever handler it reaches."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector.errors import ConfigurationError
from connector.logs import redaction
from connector.logs.formatting import JsonFormatter
from connector.logs.redaction import MASK, redact, redact_fully
from connector.logs.setup import LogOptions, install_redaction, log_options

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"verifying {JWT}", JWT),
        ("key ck_0a1b2c3d4e5f6a7b_Zk3hD8saP2xY9qLm4nB7vC1tR6wE0uJ5iO3pK8sD2f", "Zk3hD8sa"),
        ("GET /callback?code=c0de-1234&state=st4te HTTP/1.1", "c0de-1234"),
        ("redirect to https://app.example/back?confirmation=abc", "abc"),
        ('{"access_token": "opaque-access", "expires_in": 3600}', "opaque-access"),
        ("refresh_token=opaque-refresh&grant_type=refresh_token", "opaque-refresh"),
        (f"'SecretKey': '{AWS_SECRET}'", AWS_SECRET),
        (f"bare {AWS_SECRET} in a repr", AWS_SECRET),
        ("<SessionToken>FQoGZXIvYXdzEJr</SessionToken>", "FQoGZXIvYXdzEJr"),
        ("'X-Amz-Security-Token': b'short-token'", "short-token"),
        ("Authorization: Bearer opaque-bearer", "opaque-bearer"),
        ("state Zk3hD8s_aP2xY9qLm4nB7vC1tR6wE0uJ5iO3pK8sD2f pending", "Zk3hD8s_aP2x"),
        ("sealed gAAAAAB" + "x1" * 60, "gAAAAAB"),
    ],
)
def test_each_kind_of_secret_is_masked(line: str, secret: str) -> None:
    redacted = redact(line)
    assert secret not in redacted
    assert MASK in redacted or "?" not in redacted


@pytest.mark.parametrize(
    "line",
    [
        "request 4f1c2a9e8b7d6c5f4e3d2c1b0a998877 answered 200",
        "metric connector_credential_mints_total grew",
        "/usr/lib/python3.11/site-packages/botocore/endpoint.py line 12",
        "why? because the cache is down",
        "restore or delete s3://connector-ea6b4915a416/connector/connections/C9NM4.json",
    ],
)
def test_plain_text_and_hex_ids_are_kept(line: str) -> None:
    assert redact(line) == line


@pytest.fixture
def own_handler() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A third-party logger with a handler of its own that does not propagate."""
    install_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("somebody.else")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def test_a_logger_with_its_own_handler_cannot_bypass_the_redaction(
    own_handler: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = own_handler
    logger.debug("token=%s", "split-across-format-and-argument")
    try:
        raise ValueError(f"bad id token {JWT}")
    except ValueError:
        logger.exception("failed with %s", JWT)
    text = stream.getvalue()
    assert "split-across-format-and-argument" not in text
    assert JWT not in text
    first = json.loads(text.splitlines()[0])
    assert first["message"] == f"token={MASK}"


def test_the_format_is_json_in_production_and_console_elsewhere_unless_set() -> None:
    assert log_options({}) == LogOptions("INFO", "console")
    assert log_options({"CONNECTOR_ENV": "production"}).format == "json"
    assert log_options(
        {"CONNECTOR_ENV": "production", "CONNECTOR_LOG_FORMAT": "console"}
    ).format == ("console")
    assert log_options({"CONNECTOR_LOG_LEVEL": "debug"}).level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value"), [("CONNECTOR_LOG_FORMAT", "xml"), ("CONNECTOR_LOG_LEVEL", "LOUD")]
)
def test_a_bad_log_setting_fails_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        log_options({variable: value})
    assert variable in str(raised.value)


# Pieces every pattern reacts to, and plain ones: strings built from them exercise each pattern's
# edges (a name before ':' or '=', a scheme, a JWT's or a key's start, hex ids) at every length.
_PIECES = (
    "eyJ", "ck_", "0a_", "Bearer ", "basic\t", "token", "TOKEN", "state", "Code", "x-api-key",
    "Logins", "secret", "=", ":", " = ", "?", "<", ">", '"', "'", " ", "/", ".", "-", "_", "&",
    "a", "Z", "0", "9", "é", "\n", "deadbeef", "0123456789abcdef",
)  # fmt: skip


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=3), max_size=14).map("".join))
@example("<token>a")  # the shortest case of each pattern, besides what the search finds
@example("ck_0a_b")
@example("eyJ.a.b")
@example("Bearer x")
@example("x?y")
@example("z1" * 16)
@example("0123456789abcdef" * 2 + "01234567")  # hex of an AWS secret's length is masked
@example("0123456789abcdef" * 2 + "0123456")
@example("'code' : z")
def test_the_shortcut_for_short_text_changes_nothing(text: str) -> None:
    assert redact(text) == redact_fully(text)


@pytest.mark.parametrize(
    "text",
    ["GET /connection 200", "alice", "getConnection", "bucket/reports/2026.json", "OK", "a" * 32],
)
def test_plain_short_values_skip_the_passes_and_come_back_whole(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_expected(_: str) -> str:
        raise AssertionError("the full passes ran")

    monkeypatch.setattr(redaction, "redact_fully", not_expected)
    assert redact(text) == text
