"""The output schemas of the MCP tools: the REST views' fields (camelCase), as pydantic models
because the MCP SDK derives each tool's `outputSchema` from its return annotation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Output(BaseModel):
    """camelCase on the wire, as every answer of the connector."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ConnectionStatusOutput(Output):
    user_id: str
    status: Literal["active", "reauth_required"]
    sub: str
    username: str | None
    email: str | None
    scopes: list[str]
    identity_id: str | None
    expires_at: str
    last_refreshed_at: str | None
    created_at: str
    updated_at: str


class BucketOutput(Output):
    name: str
    creation_date: str | None


class BucketsOutput(Output):
    buckets: list[BucketOutput]


class ObjectOutput(Output):
    key: str
    size: int
    last_modified: str
    etag: str
    storage_class: str | None


class ObjectPageOutput(Output):
    objects: list[ObjectOutput]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None


class ReadObjectOutput(Output):
    """The text, or (too large, binary, not UTF-8) a presigned GET URL instead."""

    bucket: str
    key: str
    content_type: str | None
    size: int | None
    etag: str | None
    text: str | None
    url: str | None
    url_expires_at: str | None
    reason: Literal["too_large", "binary"] | None
    """Why `url` was given instead of `text` (null when the text is here)."""


class StoredObjectOutput(Output):
    bucket: str
    key: str
    etag: str | None
    version_id: str | None


class DeletedOutput(Output):
    deleted: bool


class PresignOutput(Output):
    url: str
    method: Literal["GET", "PUT"]
    expires_at: str


class FunctionOutput(Output):
    name: str
    arn: str
    runtime: str | None
    handler: str | None
    description: str | None
    memory_size: int | None
    timeout: int | None
    last_modified: str | None


class FunctionDetailOutput(FunctionOutput):
    role: str | None
    state: str | None
    code_size: int | None


class FunctionPageOutput(Output):
    functions: list[FunctionOutput]
    next_marker: str | None


class InvokeOutput(Output):
    status_code: int
    payload: Any
    """The function's answer as JSON (text when it is not JSON), null when empty."""
    function_error: str | None
    log_tail: str | None
    """The last 4 KB of the function's log (decoded), when asked for."""
    executed_version: str | None


class ToolErrorOutput(Output):
    """The `structuredContent` of a failed call (`isError: true`), as the REST envelope."""

    code: str
    error: str
    details: dict[str, Any] | None = None
