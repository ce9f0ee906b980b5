"""The closed set of error codes and the exception tree that carries them (no HTTP here).

    ConnectorError                  every failure a caller may see; carries one ErrorCode
    ├── AuthenticationError         UNAUTHORIZED: no valid API key
    ├── PermissionDeniedError       FORBIDDEN: key lacks the scope, or resource outside policy
    ├── MissingUserIdError          MISSING_USER_ID
    ├── ValidationError             VALIDATION_ERROR
    ├── InvalidStateError           INVALID_STATE: unknown, expired, reused, tampered state
    ├── IdentityMismatchError       IDENTITY_MISMATCH: the signed-in Cognito user is not the
    │                               app's user (or not the account the connection holds)
    ├── NotConnectedError           NOT_CONNECTED
    ├── OAuthProtocolError          Cognito answered an OAuth error (carries `oauth_error`)
    ├── TokenVerificationError      a Cognito JWT failed a check (signature, iss, aud, ...)
    ├── ReauthRequiredError         REAUTH_REQUIRED: refresh token rejected, connect again
    │   └── InvalidGrantError       Cognito said `invalid_grant`
    ├── AccessDeniedError           ACCESS_DENIED: AWS denied the user
    ├── NotFoundError               NOT_FOUND: bucket, key, function (or route)
    ├── RateLimitedError            RATE_LIMITED (retry_after)
    ├── UpstreamUnavailableError    UPSTREAM_UNAVAILABLE (retry_after)
    ├── OperationFailedError        one of the *_FAILED operation codes
    └── InternalError               INTERNAL_ERROR
        ├── VersionConflictError    optimistic-concurrency check lost (services retry)
        ├── DecryptionError         no configured key opens a stored secret
        ├── CacheUnavailableError   the cache did not answer (services fall through)
        └── ExpiredCredentialsError AWS said the user's credentials expired (re-mint, retry)

ConfigurationError is separate: it stops start-up and never reaches a caller.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Every code a response may carry. A public contract: never rename a member."""

    CONNECT_FAILED = "CONNECT_FAILED"
    CALLBACK_FAILED = "CALLBACK_FAILED"
    DISCONNECT_FAILED = "DISCONNECT_FAILED"
    GET_CONNECTION_FAILED = "GET_CONNECTION_FAILED"
    LIST_BUCKETS_FAILED = "LIST_BUCKETS_FAILED"
    LIST_OBJECTS_FAILED = "LIST_OBJECTS_FAILED"
    GET_OBJECT_FAILED = "GET_OBJECT_FAILED"
    PUT_OBJECT_FAILED = "PUT_OBJECT_FAILED"
    DELETE_OBJECT_FAILED = "DELETE_OBJECT_FAILED"
    LIST_FUNCTIONS_FAILED = "LIST_FUNCTIONS_FAILED"
    GET_FUNCTION_FAILED = "GET_FUNCTION_FAILED"
    INVOKE_LAMBDA_FAILED = "INVOKE_LAMBDA_FAILED"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    MISSING_USER_ID = "MISSING_USER_ID"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_STATE = "INVALID_STATE"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    NOT_CONNECTED = "NOT_CONNECTED"
    REAUTH_REQUIRED = "REAUTH_REQUIRED"
    ACCESS_DENIED = "ACCESS_DENIED"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


OPERATION_CODES: frozenset[ErrorCode] = frozenset(c for c in ErrorCode if c.endswith("_FAILED"))


class ConnectorError(Exception):
    """Base of every failure a caller may see. `message` must never hold a secret."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def error_code(self) -> ErrorCode:
        return self.code


class AuthenticationError(ConnectorError):
    code = ErrorCode.UNAUTHORIZED


class PermissionDeniedError(ConnectorError):
    code = ErrorCode.FORBIDDEN


class MissingUserIdError(ConnectorError):
    code = ErrorCode.MISSING_USER_ID


class ValidationError(ConnectorError):
    code = ErrorCode.VALIDATION_ERROR


class InvalidStateError(ConnectorError):
    code = ErrorCode.INVALID_STATE


class IdentityMismatchError(ConnectorError):
    """The person who signed in at Cognito is not the app's user the flow was started for, or
    not the Cognito account the stored connection belongs to. The message reveals nothing about
    the Cognito user who signed in."""

    code = ErrorCode.IDENTITY_MISMATCH


class NotConnectedError(ConnectorError):
    code = ErrorCode.NOT_CONNECTED


class ReauthRequiredError(ConnectorError):
    code = ErrorCode.REAUTH_REQUIRED


class InvalidGrantError(ReauthRequiredError):
    """Cognito answered `invalid_grant`: the code or refresh token is no longer good."""


class OAuthProtocolError(ConnectorError):
    """Cognito answered another OAuth error; services turn it into their operation's code."""

    code = ErrorCode.CALLBACK_FAILED

    def __init__(self, oauth_error: str, message: str) -> None:
        super().__init__(message, details={"upstreamCode": oauth_error, "retryable": False})
        self.oauth_error = oauth_error


class TokenVerificationError(ConnectorError):
    """A Cognito JWT failed verification; the message names the failed check, never the token."""

    code = ErrorCode.CALLBACK_FAILED


class AccessDeniedError(ConnectorError):
    code = ErrorCode.ACCESS_DENIED


class NotFoundError(ConnectorError):
    code = ErrorCode.NOT_FOUND


class _RetryableError(ConnectorError):
    """A failure worth retrying after `retry_after` whole seconds."""

    def __init__(
        self, message: str, *, retry_after: int = 1, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = max(1, int(retry_after))
        self.details.setdefault("retryable", True)
        self.details["retryAfter"] = self.retry_after


class RateLimitedError(_RetryableError):
    code = ErrorCode.RATE_LIMITED


class UpstreamUnavailableError(_RetryableError):
    code = ErrorCode.UPSTREAM_UNAVAILABLE


class OperationFailedError(ConnectorError):
    """An operation failed upstream with no more specific cause; carries its `*_FAILED` code."""

    def __init__(
        self, operation_code: ErrorCode, message: str, *, details: dict[str, Any] | None = None
    ) -> None:
        if operation_code not in OPERATION_CODES:
            raise ValueError(f"{operation_code} is not an operation code")
        super().__init__(message, details=details)
        self._operation_code = operation_code

    @property
    def error_code(self) -> ErrorCode:
        return self._operation_code


class InternalError(ConnectorError):
    code = ErrorCode.INTERNAL_ERROR


class VersionConflictError(InternalError):
    """A versioned write found another version: someone else wrote first."""


class DecryptionError(InternalError):
    """No configured encryption key opens a stored secret."""


class CacheUnavailableError(InternalError):
    """The cache did not answer in time; callers fall through to the database."""


class ExpiredCredentialsError(InternalError):
    """AWS rejected the user's temporary credentials as expired: services re-mint once."""


class ConfigurationError(Exception):
    """Bad or missing configuration; the message is one line naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem
