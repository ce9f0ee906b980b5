"""OpenAPI documentation of the failure envelope on each route."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from connector.api.envelope import STATUS_BY_CODE, ErrorResponse
from connector.errors import ErrorCode

# Every authenticated route can answer these.
AUTH_CODES = (
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.INTERNAL_ERROR,
)

# What any call made with the user's AWS credentials can answer, besides its own code.
AS_USER = (
    ErrorCode.NOT_CONNECTED,
    ErrorCode.REAUTH_REQUIRED,
    ErrorCode.ACCESS_DENIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.UPSTREAM_UNAVAILABLE,
    ErrorCode.GET_CONNECTION_FAILED,
)


def error_responses(*codes: ErrorCode, authenticated: bool = True) -> dict[int, ResponseSpec]:
    """One documented failure envelope per status, naming the codes it may carry."""
    by_status: dict[int, list[str]] = {}
    base = AUTH_CODES if authenticated else (ErrorCode.VALIDATION_ERROR, ErrorCode.INTERNAL_ERROR)
    for code in (*base, *codes):
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code.value)
    return {
        status: ResponseSpec(
            data_container=ErrorResponse,
            description="Failure envelope; code one of: " + ", ".join(sorted(set(names))),
        )
        for status, names in by_status.items()
    }


def as_user_responses(*codes: ErrorCode) -> dict[int, ResponseSpec]:
    """The failures of a route that acts in AWS as the user named by X-User-Id."""
    return error_responses(ErrorCode.MISSING_USER_ID, *AS_USER, *codes)
