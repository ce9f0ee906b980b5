"""The connector's Python client: `ConnectorClient` (sync) and `AsyncConnectorClient` on httpx.

    from connector_client import ConnectorClient
    with ConnectorClient("http://127.0.0.1:8000", api_key) as client:
        client.s3("alice").write_json("bucket", "a.json", {"x": 1})

It imports neither the server (Litestar, SQLAlchemy, Redis, authlib, jose) nor, until
`boto3_session` is called, boto3.
"""

from connector_client._transport import RetryPolicy
from connector_client.aio import AsyncConnectorClient
from connector_client.codes import ErrorCode
from connector_client.connection import (
    ensure_connected,
    ensure_connected_async,
    requires_connection,
)
from connector_client.errors import (
    AccessDeniedError,
    ConnectionRequiredError,
    ConnectorClientError,
    ConnectorUnreachableError,
    ForbiddenError,
    IdentityMismatchError,
    InternalServerError,
    InvalidStateError,
    MissingUserIdError,
    NotConnectedError,
    NotFoundError,
    OperationFailedError,
    RateLimitedError,
    ReauthRequiredError,
    UnauthorizedError,
    UnexpectedResponseError,
    UpstreamUnavailableError,
    ValidationError,
)
from connector_client.s3 import UserS3
from connector_client.streams import AsyncObjectStream, ObjectStream
from connector_client.sync import ConnectorClient

__all__ = [
    "AccessDeniedError",
    "AsyncConnectorClient",
    "AsyncObjectStream",
    "ConnectionRequiredError",
    "ConnectorClient",
    "ConnectorClientError",
    "ConnectorUnreachableError",
    "ErrorCode",
    "ForbiddenError",
    "IdentityMismatchError",
    "InternalServerError",
    "InvalidStateError",
    "MissingUserIdError",
    "NotConnectedError",
    "NotFoundError",
    "ObjectStream",
    "OperationFailedError",
    "RateLimitedError",
    "ReauthRequiredError",
    "RetryPolicy",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UpstreamUnavailableError",
    "UserS3",
    "ValidationError",
    "ensure_connected",
    "ensure_connected_async",
    "requires_connection",
]
