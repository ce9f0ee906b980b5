"""The ApiResponse envelope every JSON answer wears, and the one code -> status table."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import msgspec

from connector.errors import OPERATION_CODES, ConnectorError, ErrorCode

T = TypeVar("T")

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.MISSING_USER_ID: 400,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.INVALID_STATE: 400,
    ErrorCode.IDENTITY_MISMATCH: 409,
    ErrorCode.NOT_CONNECTED: 404,
    ErrorCode.REAUTH_REQUIRED: 409,
    ErrorCode.ACCESS_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UPSTREAM_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    **dict.fromkeys(OPERATION_CODES, 502),
    # The sign-in did not complete (cancelled, a forged or used code, tokens that fail their
    # checks): Cognito answered, so no gateway failed, and trying the same callback again fails
    # the same way. See docs/decisions.md.
    ErrorCode.CALLBACK_FAILED: 400,
}
assert set(STATUS_BY_CODE) == set(ErrorCode), "every code needs a status"  # noqa: S101


class ApiResponse(msgspec.Struct, Generic[T], rename="camel", omit_defaults=True):
    """`{success, data?, error?, code?, details?, timestamp}`; timestamp in epoch milliseconds."""

    success: bool
    timestamp: int
    data: T | msgspec.UnsetType = msgspec.UNSET
    error: str | msgspec.UnsetType = msgspec.UNSET
    code: ErrorCode | msgspec.UnsetType = msgspec.UNSET
    details: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class ErrorResponse(msgspec.Struct, rename="camel", omit_defaults=True):
    """The failure envelope, as documented for every route's error responses."""

    success: bool
    error: str
    code: ErrorCode
    timestamp: int
    details: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ok(data: T) -> ApiResponse[T]:
    """A success envelope."""
    return ApiResponse(success=True, data=data, timestamp=now_ms())


def failure(error: ConnectorError) -> tuple[int, ErrorResponse]:
    """The status and failure envelope for a ConnectorError."""
    code = error.error_code
    body = ErrorResponse(
        success=False,
        error=error.message,
        code=code,
        details=error.details or msgspec.UNSET,
        timestamp=now_ms(),
    )
    return STATUS_BY_CODE[code], body
