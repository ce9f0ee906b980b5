"""Wire shapes of the S3 and Lambda routes (the contract's data shapes), from domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

import msgspec

from connector.api.constraints import BucketField, ObjectKeyField, PresignExpiryField
from connector.api.schemas import Wire

W = TypeVar("W", bound=Wire)


def view(value: Any, shape: type[W]) -> W:
    """The wire view of a domain value, field by field (domain names are the snake_case
    twins of the wire's camelCase ones)."""
    return msgspec.convert(value, shape, from_attributes=True)


class BucketView(Wire):
    name: str
    creation_date: datetime | None


class BucketsData(Wire):
    buckets: list[BucketView]


class ObjectView(Wire):
    key: str
    size: int
    last_modified: datetime
    etag: str
    storage_class: str | None


class ObjectPageData(Wire):
    objects: list[ObjectView]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None


class StoredObjectData(Wire):
    bucket: str
    key: str
    etag: str | None
    version_id: str | None


class DeletedData(Wire):
    deleted: bool


class PresignBody(Wire):
    bucket: BucketField
    key: ObjectKeyField
    method: Literal["GET", "PUT"]
    expires_in: PresignExpiryField = 900


class PresignData(Wire):
    url: str
    method: Literal["GET", "PUT"]
    expires_at: datetime


class FunctionView(Wire):
    name: str
    arn: str
    runtime: str | None
    handler: str | None
    description: str | None
    memory_size: int | None
    timeout: int | None
    last_modified: datetime | None


class FunctionDetailView(FunctionView):
    role: str | None
    state: str | None
    code_size: int | None


class FunctionPageData(Wire):
    functions: list[FunctionView]
    next_marker: str | None


class InvokeBody(Wire):
    payload: Any = msgspec.field(default_factory=dict)
    """The event (any JSON value); `{}` when omitted."""
    invocation_type: Literal["RequestResponse", "Event"] = "RequestResponse"
    log_type: Literal["None", "Tail"] = "None"


class InvokeData(Wire):
    status_code: int
    payload: Any
    """The function's answer as JSON (text when it is not JSON), null when empty."""
    function_error: str | None
    """`Unhandled` or `Handled` when the function raised; the call itself succeeded."""
    log_result: str | None
    executed_version: str | None


class ObjectBytesData(Wire):
    """An object inline (JSON-RPC `getObject`), for small objects only."""

    bucket: str
    key: str
    content_type: str | None
    etag: str | None
    body: str
    """base64."""
