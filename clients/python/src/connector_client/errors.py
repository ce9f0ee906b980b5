"""What the client raises: one exception per envelope code, under one base.

    ConnectorClientError              every failure; .code, .status, .details, .retry_after
    ├── ConnectorUnreachableError     no answer at all (connection refused, timeout)
    ├── UnexpectedResponseError       an answer that is not the contract's envelope
    ├── UnauthorizedError             UNAUTHORIZED
    ├── ForbiddenError                FORBIDDEN
    ├── MissingUserIdError            MISSING_USER_ID
    ├── ValidationError               VALIDATION_ERROR
    ├── InvalidStateError             INVALID_STATE
    ├── IdentityMismatchError         IDENTITY_MISMATCH
    ├── NotConnectedError             NOT_CONNECTED
    ├── ReauthRequiredError           REAUTH_REQUIRED
    ├── AccessDeniedError             ACCESS_DENIED
    ├── NotFoundError                 NOT_FOUND
    ├── RateLimitedError              RATE_LIMITED
    ├── UpstreamUnavailableError      UPSTREAM_UNAVAILABLE
    ├── InternalServerError           INTERNAL_ERROR
    ├── OperationFailedError          base of the *_FAILED codes (502)
    │   ├── ConnectFailedError … InvokeLambdaFailedError   one per operation code
    └── ConnectionRequiredError       raised by `requires_connection`: carries a connect URL

`ErrorCode` is the client's own copy of the wire enum (connector_client.codes): nothing here
imports the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from connector_client.codes import ErrorCode

_BY_CODE: dict[str, type[ConnectorClientError]] = {}


class ConnectorClientError(Exception):
    """A failed call. `code` is the envelope's code (None when the connector did not answer
    with an envelope), `status` the HTTP status, `details` the envelope's details."""

    error_code: ClassVar[ErrorCode | None] = None

    def __init_subclass__(cls, code: ErrorCode | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.error_code = code
            _BY_CODE[code.value] = cls

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.error_code
        self.status = status
        self.details: dict[str, Any] = dict(details or {})
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """The connector said so (`details.retryable`), or a 429/503 named a Retry-After."""
        if self.details.get("retryable") is True:
            return True
        return self.status in (429, 503) and self.retry_after is not None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def error_class(code: str) -> type[ConnectorClientError]:
    """The exception class of an envelope code (the base class for a code this client does
    not know yet, e.g. one added by a newer connector)."""
    return _BY_CODE.get(code, ConnectorClientError)


class ConnectorUnreachableError(ConnectorClientError):
    """The request got no answer: connection refused, reset or timed out."""


class UnexpectedResponseError(ConnectorClientError):
    """An answer outside the contract (a proxy's error page, a malformed envelope)."""


class UnauthorizedError(ConnectorClientError, code=ErrorCode.UNAUTHORIZED):
    """The API key is missing, unknown or revoked."""


class ForbiddenError(ConnectorClientError, code=ErrorCode.FORBIDDEN):
    """The key lacks the scope, or the bucket/function is outside the key's policy."""


class MissingUserIdError(ConnectorClientError, code=ErrorCode.MISSING_USER_ID):
    """A user-scoped call was sent without X-User-Id."""


class ValidationError(ConnectorClientError, code=ErrorCode.VALIDATION_ERROR):
    """The request was malformed; `details.problems` names the fields."""


class InvalidStateError(ConnectorClientError, code=ErrorCode.INVALID_STATE):
    """The OAuth state is unknown, expired, reused or not this user's."""


class IdentityMismatchError(ConnectorClientError, code=ErrorCode.IDENTITY_MISMATCH):
    """The person who signed in is not your user (or not the account the user is connected
    to): nothing was stored; start again (with `replace=True` to switch accounts)."""


class NotConnectedError(ConnectorClientError, code=ErrorCode.NOT_CONNECTED):
    """The user has no connection: send them through /connect."""


class ReauthRequiredError(ConnectorClientError, code=ErrorCode.REAUTH_REQUIRED):
    """Cognito rejected the refresh token: the user must connect again."""


class AccessDeniedError(ConnectorClientError, code=ErrorCode.ACCESS_DENIED):
    """AWS denied the user."""


class NotFoundError(ConnectorClientError, code=ErrorCode.NOT_FOUND):
    """No such bucket, key or function."""


class RateLimitedError(ConnectorClientError, code=ErrorCode.RATE_LIMITED):
    """Too many requests; `retry_after` says when to come back."""


class UpstreamUnavailableError(ConnectorClientError, code=ErrorCode.UPSTREAM_UNAVAILABLE):
    """Cognito, AWS or the connector's database did not answer; `retry_after` seconds."""


class InternalServerError(ConnectorClientError, code=ErrorCode.INTERNAL_ERROR):
    """The connector failed; its log has the cause."""


class OperationFailedError(ConnectorClientError):
    """An operation failed upstream with no more specific cause (HTTP 502)."""


class ConnectFailedError(OperationFailedError, code=ErrorCode.CONNECT_FAILED):
    """Starting a connection flow failed."""


class CallbackFailedError(OperationFailedError, code=ErrorCode.CALLBACK_FAILED):
    """Cognito refused the code, or its ID token failed verification."""


class DisconnectFailedError(OperationFailedError, code=ErrorCode.DISCONNECT_FAILED):
    """Disconnecting failed."""


class GetConnectionFailedError(OperationFailedError, code=ErrorCode.GET_CONNECTION_FAILED):
    """Reading or refreshing the connection failed upstream."""


class ListBucketsFailedError(OperationFailedError, code=ErrorCode.LIST_BUCKETS_FAILED):
    """S3 ListBuckets failed."""


class ListObjectsFailedError(OperationFailedError, code=ErrorCode.LIST_OBJECTS_FAILED):
    """S3 ListObjectsV2 failed."""


class GetObjectFailedError(OperationFailedError, code=ErrorCode.GET_OBJECT_FAILED):
    """S3 GetObject failed."""


class PutObjectFailedError(OperationFailedError, code=ErrorCode.PUT_OBJECT_FAILED):
    """S3 PutObject (or the multipart upload) failed."""


class DeleteObjectFailedError(OperationFailedError, code=ErrorCode.DELETE_OBJECT_FAILED):
    """S3 DeleteObject failed."""


class ListFunctionsFailedError(OperationFailedError, code=ErrorCode.LIST_FUNCTIONS_FAILED):
    """Lambda ListFunctions failed."""


class GetFunctionFailedError(OperationFailedError, code=ErrorCode.GET_FUNCTION_FAILED):
    """Lambda GetFunction failed."""


class InvokeLambdaFailedError(OperationFailedError, code=ErrorCode.INVOKE_LAMBDA_FAILED):
    """Lambda Invoke failed (a function that raised is a successful call with functionError)."""


class ConnectionRequiredError(ConnectorClientError):
    """The user has no usable connection. `code` is NOT_CONNECTED or REAUTH_REQUIRED;
    `connect_url` is where to send the user's browser (valid until `expires_at`)."""

    def __init__(
        self,
        message: str,
        *,
        reason: ErrorCode,
        connect_url: str,
        state: str,
        expires_at: datetime,
    ) -> None:
        super().__init__(message, code=reason)
        self.connect_url = connect_url
        self.state = state
        self.expires_at = expires_at


assert set(_BY_CODE) == {code.value for code in ErrorCode}, "every code needs a class"  # noqa: S101
