"""The one translation of botocore failures into the connector's error codes.

Every AWS adapter (S3, Lambda, Cognito Identity, STS) runs its calls inside `translated(op)`;
the table `UPSTREAM_CODES` says what each AWS error code means, whatever service sent it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
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
    ValidationError,
)

RETRY_AFTER = 2


class Cause(Enum):
    """What an AWS error code means for the caller."""

    EXPIRED = "expired"
    DENIED = "denied"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    BAD_RANGE = "bad_range"


# AWS error codes of S3, Lambda, Cognito Identity and STS -> their cause. A code not listed
# falls back on the HTTP status, then on the operation's own `*_FAILED` code.
UPSTREAM_CODES: dict[str, Cause] = {
    # Credentials that AWS no longer accepts (S3, Lambda, STS).
    "ExpiredToken": Cause.EXPIRED,
    "ExpiredTokenException": Cause.EXPIRED,
    "RequestExpired": Cause.EXPIRED,
    # Refusals: IAM (S3, Lambda, STS AssumeRole*), Cognito Identity, STS token checks.
    "AccessDenied": Cause.DENIED,
    "AccessDeniedException": Cause.DENIED,
    "NotAuthorizedException": Cause.DENIED,
    "InvalidIdentityToken": Cause.DENIED,
    "IDPRejectedClaim": Cause.DENIED,
    "Forbidden": Cause.DENIED,
    "403": Cause.DENIED,
    # Missing things (S3, Lambda, Cognito Identity).
    "NoSuchBucket": Cause.NOT_FOUND,
    "NoSuchKey": Cause.NOT_FOUND,
    "NotFound": Cause.NOT_FOUND,
    "404": Cause.NOT_FOUND,
    "ResourceNotFoundException": Cause.NOT_FOUND,
    # Throttling (every service has its own spelling).
    "Throttling": Cause.THROTTLED,
    "ThrottlingException": Cause.THROTTLED,
    "ThrottledException": Cause.THROTTLED,
    "TooManyRequestsException": Cause.THROTTLED,
    "SlowDown": Cause.THROTTLED,
    "RequestLimitExceeded": Cause.THROTTLED,
    "RequestThrottled": Cause.THROTTLED,
    "RequestThrottledException": Cause.THROTTLED,
    "LimitExceededException": Cause.THROTTLED,
    # AWS's own trouble.
    "ServiceUnavailable": Cause.UNAVAILABLE,
    "ServiceUnavailableException": Cause.UNAVAILABLE,
    "InternalError": Cause.UNAVAILABLE,
    "InternalFailure": Cause.UNAVAILABLE,
    "InternalErrorException": Cause.UNAVAILABLE,
    "InternalServerError": Cause.UNAVAILABLE,
    "ServiceException": Cause.UNAVAILABLE,
    "IDPCommunicationError": Cause.UNAVAILABLE,
    # S3 416: the caller asked for bytes the object does not have.
    "InvalidRange": Cause.BAD_RANGE,
}
_STATUSES: dict[int, Cause] = {
    429: Cause.THROTTLED,
    403: Cause.DENIED,
    404: Cause.NOT_FOUND,
    500: Cause.UNAVAILABLE,
    503: Cause.UNAVAILABLE,
    504: Cause.UNAVAILABLE,
}
AWS_ERRORS = (ClientError, BotoCoreError)


class DeadlineExceededError(BotoCoreError):
    """An AWS call (connects, reads and retries together) outlived its deadline. A botocore
    error, so `translated` maps it like a timeout."""

    fmt = "the AWS call ran out of its deadline"


# Upstream codes are echoed to callers (details.upstreamCode): only plain identifier shapes.
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@contextmanager
def translated(operation: ErrorCode) -> Iterator[None]:
    """Run AWS calls in this block; a botocore failure leaves it as the connector's error
    for `operation` (a `*_FAILED` code), raised from the original."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise map_aws_error(exc, operation) from exc


def map_aws_error(exc: BaseException, operation: ErrorCode) -> ConnectorError:
    """The connector error for a boto3 failure during `operation` (a `*_FAILED` code).

    Messages are ours, never AWS's text or the request's parameters, so no secret can leak;
    the AWS error code travels in `details.upstreamCode`.
    """
    if isinstance(exc, ConnectorError):
        return exc
    name = operation.value.removesuffix("_FAILED")
    if isinstance(exc, ClientError):
        return _from_client_error(exc, operation, name)
    code = type(exc).__name__
    if isinstance(exc, BotocoreConnectionError | HTTPClientError | DeadlineExceededError):
        return UpstreamUnavailableError(
            f"AWS is unreachable ({name})",
            retry_after=RETRY_AFTER,
            details=_details(name, code, retryable=True),
        )
    return OperationFailedError(
        operation, f"{name} failed ({code})", details=_details(name, code, retryable=False)
    )


def upstream_code(exc: ClientError) -> str:
    """The AWS error code of `exc`, or `Unknown` when it is not a plain identifier."""
    error: dict[str, Any] = dict(exc.response.get("Error") or {})
    code = str(error.get("Code") or "Unknown")
    return code if _CODE_SHAPE.fullmatch(code) else "Unknown"


def _cause(exc: ClientError, code: str) -> Cause | None:
    message = str((exc.response.get("Error") or {}).get("Message") or "")
    if code == "InvalidClientTokenId" and "expired" in message.lower():
        return Cause.EXPIRED
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return UPSTREAM_CODES.get(code) or _STATUSES.get(status)


def _from_client_error(exc: ClientError, operation: ErrorCode, name: str) -> ConnectorError:
    code = upstream_code(exc)
    cause = _cause(exc, code)
    if cause is None:
        return OperationFailedError(
            operation, f"{name} failed ({code})", details=_details(name, code, retryable=False)
        )
    return _ERRORS[cause](name, code)


def _expired(name: str, code: str) -> ConnectorError:
    return ExpiredCredentialsError(
        f"AWS credentials expired ({name})", details=_details(name, code, retryable=True)
    )


def _throttled(name: str, code: str) -> ConnectorError:
    return RateLimitedError(
        f"AWS throttled {name}",
        retry_after=RETRY_AFTER,
        details=_details(name, code, retryable=True),
    )


def _denied(name: str, code: str) -> ConnectorError:
    return AccessDeniedError(
        f"AWS denied {name} ({code})", details=_details(name, code, retryable=False)
    )


def _not_found(name: str, code: str) -> ConnectorError:
    return NotFoundError(
        f"{name}: not found ({code})", details=_details(name, code, retryable=False)
    )


def _unavailable(name: str, code: str) -> ConnectorError:
    return UpstreamUnavailableError(
        f"AWS is unavailable ({name})",
        retry_after=RETRY_AFTER,
        details=_details(name, code, retryable=True),
    )


def _bad_range(_name: str, code: str) -> ConnectorError:
    return ValidationError(
        "the range is not satisfiable for this object",
        details={"field": "range", "upstreamCode": code},
    )


_ERRORS: dict[Cause, Callable[[str, str], ConnectorError]] = {
    Cause.EXPIRED: _expired,
    Cause.THROTTLED: _throttled,
    Cause.DENIED: _denied,
    Cause.NOT_FOUND: _not_found,
    Cause.UNAVAILABLE: _unavailable,
    Cause.BAD_RANGE: _bad_range,
}


def _details(operation: str, code: str, *, retryable: bool) -> dict[str, Any]:
    return {"operation": operation, "upstreamCode": code, "retryable": retryable}
