"""OpenAPI documentation of the failure envelope on each route: one response per status, with an
example per code it may carry (connector.api.openapi turns those into the code's enum)."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from connector.api.envelope import STATUS_BY_CODE, ErrorResponse
from connector.errors import ErrorCode

# Every authenticated route can answer these: the key is checked (against the store, which may
# be down), its scope, its rate limit.
AUTH_CODES = (
    ErrorCode.UNAUTHORIZED,
    ErrorCode.FORBIDDEN,
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.RATE_LIMITED,
    ErrorCode.UPSTREAM_UNAVAILABLE,
    ErrorCode.INTERNAL_ERROR,
)
# Every route at all: a malformed request, a fault.
ANY_ROUTE_CODES = (ErrorCode.VALIDATION_ERROR, ErrorCode.INTERNAL_ERROR)

# What any call made with the user's AWS credentials can answer, besides its own code.
AS_USER = (
    ErrorCode.NOT_CONNECTED,
    ErrorCode.REAUTH_REQUIRED,
    ErrorCode.ACCESS_DENIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.UPSTREAM_UNAVAILABLE,
    ErrorCode.GET_CONNECTION_FAILED,
)
EXAMPLE_TIMESTAMP = 1763700000000


def error_responses(*codes: ErrorCode, authenticated: bool = True) -> dict[int, ResponseSpec]:
    """One documented failure envelope per status, with one example per code it may carry."""
    by_status: dict[int, set[ErrorCode]] = {}
    for code in (*(AUTH_CODES if authenticated else ANY_ROUTE_CODES), *codes):
        by_status.setdefault(STATUS_BY_CODE[code], set()).add(code)
    return {status: failure_response(*members) for status, members in sorted(by_status.items())}


def failure_response(*codes: ErrorCode, description: str | None = None) -> ResponseSpec:
    """The failure envelope under one status, carrying one of `codes` (for a status that is not
    the codes' own, such as 413 VALIDATION_ERROR, give it with `responses={413: ...}`)."""
    ordered = sorted(set(codes))
    return ResponseSpec(
        data_container=ErrorResponse,
        generate_examples=False,
        description=description or "Failure envelope; code one of: " + ", ".join(ordered),
        examples=[error_example(code) for code in ordered],
    )


def as_user_responses(*codes: ErrorCode) -> dict[int, ResponseSpec]:
    """The failures of a route that acts in AWS as the user named by X-User-Id."""
    return error_responses(ErrorCode.MISSING_USER_ID, *AS_USER, *codes)


def error_example(code: ErrorCode) -> Example:
    """A failure envelope carrying `code`, named after it."""
    value = {
        "success": False,
        "error": code.value.replace("_", " ").lower(),
        "code": code.value,
        "timestamp": EXAMPLE_TIMESTAMP,
    }
    return Example(summary=code.value, value=value)
