"""The one translation of botocore failures of the store's own S3 calls into connector errors.

The store runs on the service's own credentials, so what S3 refuses is the operator's to fix,
never the caller's: INTERNAL_ERROR with a message naming the fix (not ACCESS_DENIED, which says
AWS denied the *user*). An unreachable or overloaded S3 is UPSTREAM_UNAVAILABLE, like a database
that does not answer. Messages carry bucket and key names, never credentials or record contents.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from connector.adapters.aws_errors import DeadlineExceededError
from connector.errors import ConnectorError, InternalError, UpstreamUnavailableError

RETRY_AFTER = 2
README = "the README section 'Keeping connections in S3'"
_NO_CREDENTIALS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "AccountProblem",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "403",
    }
)
# Codes reach callers in details.upstreamCode: plain identifier shapes only.
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_BUSY = frozenset(
    {"InternalError", "RequestTimeout", "ServiceUnavailable", "SlowDown", "500", "503"}
)


def store_failure(exc: Exception, *, doing: str, bucket: str, endpoint: str) -> ConnectorError:
    """The error for a failed S3 call; `doing` says what the store was doing, e.g.
    "read s3://bucket/prefix/connections/….json". Call sites `raise ... from exc`."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, _NO_CREDENTIALS):
        return InternalError(
            f"no AWS credentials for the S3 store ({type(exc).__name__}): give the service"
            " credentials through boto3's default chain (AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web-identity token, a task or instance role)",
            details=_details(type(exc).__name__, retryable=False),
        )
    if isinstance(exc, BotocoreConnectionError | HTTPClientError | DeadlineExceededError):
        return UpstreamUnavailableError(
            f"S3 is unreachable at {endpoint} ({type(exc).__name__}): check the network,"
            " AWS_REGION and AWS_ENDPOINT_URL",
            retry_after=RETRY_AFTER,
            details=_details(type(exc).__name__, retryable=True),
        )
    if isinstance(exc, ClientError):
        return _from_client_error(exc, doing=doing, bucket=bucket)
    return InternalError(
        f"the S3 store could not {doing} ({type(exc).__name__})",
        details=_details(type(exc).__name__, retryable=False),
    )


def _from_client_error(exc: ClientError, *, doing: str, bucket: str) -> ConnectorError:
    error: dict[str, Any] = dict(exc.response.get("Error") or {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    code = str(error.get("Code") or status or "Unknown")
    code = code if _CODE_SHAPE.fullmatch(code) else "Unknown"
    if code == "NoSuchBucket":
        message = f"bucket {bucket!r} does not exist: create it or fix CONNECTOR_DATABASE_URL"
    elif code.startswith("KMS."):
        message = (
            f"KMS refused to {doing} ({code}): check CONNECTOR_DATABASE_KMS_KEY_ID and allow the"
            " service kms:GenerateDataKey and kms:Decrypt on that key"
        )
    elif code in _DENIED or status == 403:
        message = (
            f"S3 denied the service's credentials to {doing} ({code}): grant its role the"
            f" policy of {README}"
        )
    elif code == "NotImplemented" or status == 501:
        message = (
            f"the S3 endpoint cannot {doing} ({code}); an endpoint without conditional writes"
            f" needs CONNECTOR_DATABASE_CONDITIONAL_WRITES=false (see {README})"
        )
    elif code in _BUSY or status in (500, 503):
        return UpstreamUnavailableError(
            f"S3 is unavailable ({code})",
            retry_after=RETRY_AFTER,
            details=_details(code, retryable=True),
        )
    else:
        message = f"the S3 store could not {doing} ({code})"
    return InternalError(message, details=_details(code, retryable=False))


def _details(code: str, *, retryable: bool) -> dict[str, Any]:
    return {"upstreamCode": code, "retryable": retryable}
