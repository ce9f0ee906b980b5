"""What the client returns: the `data` shapes of the contract as msgspec Structs (camelCase on the
wire, datetimes parsed). Unknown fields are ignored, so a newer connector can add some."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")


class Model(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every returned value."""


class Envelope(Model, Generic[T]):
    """A success envelope; only `data` is handed to callers."""

    success: bool
    data: T
    timestamp: int


class Failure(Model):
    """A failure envelope."""

    success: bool
    error: str
    code: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    timestamp: int = 0


class HealthChecks(Model):
    database: str
    cache: str


class Health(Model):
    status: Literal["ok", "degraded", "down"]
    version: str
    checks: HealthChecks


class FlowStart(Model):
    """A started flow: send the browser to `auth_url` before `expires_at`."""

    auth_url: str
    state: str
    expires_at: datetime


class FlowStatus(Model):
    state: str
    status: Literal["pending", "pending_confirmation", "completed", "failed", "expired"]


class Connection(Model):
    """A user's connection, without secrets."""

    user_id: str
    status: Literal["active", "reauth_required"]
    sub: str
    username: str | None
    email: str | None
    scopes: list[str]
    identity_id: str | None
    expires_at: datetime
    last_refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProviderConnection(Connection):
    """One of the user's connections in `list_connections`: a Connection and its provider."""

    provider: str


class ConnectionList(Model):
    connections: list[ProviderConnection]


class ProviderDisconnected(Model):
    provider: str
    revoked: bool


class Rejected(Model):
    rejected: bool


class Disconnected(Model):
    disconnected: bool
    revoked: bool
    providers: list[ProviderDisconnected] | None = None
    """With `all_providers` only: each provider the user was disconnected from."""


class AccessToken(Model):
    access_token: str
    token_type: str
    expires_at: datetime
    scopes: list[str]


class AwsCredentials(Model):
    """Temporary AWS credentials of the user's Cognito identity."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    identity_id: str


class Bucket(Model):
    name: str
    creation_date: datetime | None


class BucketList(Model):
    buckets: list[Bucket]


class ObjectInfo(Model):
    key: str
    size: int
    last_modified: datetime
    etag: str
    storage_class: str | None


class ObjectPage(Model):
    """One page of a listing; pass `next_continuation_token` back for the next one."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None


class StoredObject(Model):
    bucket: str
    key: str
    etag: str | None
    version_id: str | None


class Deleted(Model):
    deleted: bool


class Presigned(Model):
    """A URL signed with the user's credentials; plain HTTP clients can use it directly."""

    url: str
    method: Literal["GET", "PUT"]
    expires_at: datetime


class FunctionInfo(Model):
    name: str
    arn: str
    runtime: str | None
    handler: str | None
    description: str | None
    memory_size: int | None
    timeout: int | None
    last_modified: datetime | None


class FunctionDetail(FunctionInfo):
    role: str | None
    state: str | None
    code_size: int | None


class FunctionPage(Model):
    """One page of functions; pass `next_marker` back as `marker` for the next one."""

    functions: list[FunctionInfo]
    next_marker: str | None


class InvokeResult(Model):
    """`function_error` is set when the function raised (the call itself succeeded)."""

    status_code: int
    payload: Any
    function_error: str | None
    log_result: str | None
    executed_version: str | None


class ObjectMeta(Model):
    """What the headers of a downloaded object say about it."""

    status: int
    content_type: str | None
    content_length: int | None
    etag: str | None
    last_modified: str | None
    content_range: str | None
