"""The one translation of botocore failures into the connector's error codes."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from connector.errors import (
    AccessDeniedError,
    ConnectorError,
    ErrorCode,
    ExpiredCredentialsError,
    NotFoundError,
    OperationFailedError,
    RateLimitedError,
    UpstreamUnavailableError,
)

RETRY_AFTER = 2

_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "NotAuthorizedException", "Forbidden", "403"}
)
_NOT_FOUND = frozenset(
    {"NoSuchBucket", "NoSuchKey", "NotFound", "404", "ResourceNotFoundException"}
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
    }
)
_UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalErrorException",
        "InternalServerError",
        "ServiceException",
    }
)
_UNAVAILABLE_STATUSES = frozenset({500, 503, 504})


class DeadlineExceededError(BotoCoreError):
    """An AWS call (connects, reads and retries together) outlived its deadline. A botocore
    error, so every `except BotoCoreError` of the gateways maps it like a timeout."""

    fmt = "the AWS call ran out of its deadline"


# Upstream codes are echoed to callers (details.upstreamCode): only plain identifier shapes.
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def map_aws_error(exc: BaseException, operation: ErrorCode) -> ConnectorError:
    """The connector error for a boto3 failure during `operation` (a `*_FAILED` code).

    Messages are ours, never AWS's text or the request's parameters, so no secret can leak;
    the AWS error code travels in `details.upstreamCode`. Call sites `raise ... from exc`.
    """
    if isinstance(exc, ConnectorError):
        return exc
    name = operation.value.removesuffix("_FAILED")
    if isinstance(exc, ClientError):
        return _from_client_error(exc, operation, name)
    if isinstance(exc, BotocoreConnectionError | HTTPClientError | DeadlineExceededError):
        code = type(exc).__name__
        return UpstreamUnavailableError(
            f"AWS is unreachable ({name})",
            retry_after=RETRY_AFTER,
            details=_details(name, code, retryable=True),
        )
    code = type(exc).__name__
    return OperationFailedError(
        operation, f"{name} failed ({code})", details=_details(name, code, retryable=False)
    )


def _from_client_error(exc: ClientError, operation: ErrorCode, name: str) -> ConnectorError:
    error: dict[str, Any] = dict(exc.response.get("Error") or {})
    code = str(error.get("Code") or "Unknown")
    if not _CODE_SHAPE.fullmatch(code):
        code = "Unknown"
    message = str(error.get("Message") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in _EXPIRED or (code == "InvalidClientTokenId" and "expired" in message.lower()):
        return ExpiredCredentialsError(
            f"AWS credentials expired ({name})", details=_details(name, code, retryable=True)
        )
    if code in _THROTTLED or status == 429:
        return RateLimitedError(
            f"AWS throttled {name}",
            retry_after=RETRY_AFTER,
            details=_details(name, code, retryable=True),
        )
    if code in _DENIED or status == 403:
        return AccessDeniedError(
            f"AWS denied {name} ({code})", details=_details(name, code, retryable=False)
        )
    if code in _NOT_FOUND or status == 404:
        return NotFoundError(
            f"{name}: not found ({code})", details=_details(name, code, retryable=False)
        )
    if code in _UNAVAILABLE or status in _UNAVAILABLE_STATUSES:
        return UpstreamUnavailableError(
            f"AWS is unavailable ({name})",
            retry_after=RETRY_AFTER,
            details=_details(name, code, retryable=True),
        )
    return OperationFailedError(
        operation, f"{name} failed ({code})", details=_details(name, code, retryable=False)
    )


def _details(operation: str, code: str, *, retryable: bool) -> dict[str, Any]:
    return {"operation": operation, "upstreamCode": code, "retryable": retryable}
