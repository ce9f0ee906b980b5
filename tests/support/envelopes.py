"""Assertions on the failure envelope, shared by every HTTP-level suite."""

from __future__ import annotations

from typing import Any

import msgspec

from connector.api.envelope import STATUS_BY_CODE, ErrorResponse
from connector.errors import ErrorCode


def assert_envelope(response: Any, code: ErrorCode, status: int | None = None) -> ErrorResponse:
    """A well-formed failure envelope: the code's status, no stack trace, ms timestamp."""
    assert response.status_code == (status or STATUS_BY_CODE[code]), response.text
    assert response.headers["content-type"].startswith("application/json")
    body = msgspec.json.decode(response.content, type=ErrorResponse)
    assert body.success is False
    assert body.code is code
    assert body.error
    assert body.timestamp > 1_700_000_000_000  # epoch milliseconds
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert set(response.json()) <= {"success", "error", "code", "details", "timestamp"}
    return body
