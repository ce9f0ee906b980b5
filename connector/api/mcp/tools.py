"""The MCP tools: each one's arguments (its JSON schema), description, annotations and scope,
and the one service call it makes. Arguments are snake_case like the tool names; results are
the REST views (camelCase) as structured content."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from mcp.types import CallToolResult
from pydantic import Field

from connector.api.aws_schemas import (
    BucketsData,
    FunctionDetailView,
    FunctionPageData,
    InvokeData,
    ObjectPageData,
    PresignData,
    StoredObjectData,
    view,
)
from connector.api.mcp.calls import McpCall, ToolContext
from connector.api.mcp.outputs import (
    BucketsOutput,
    ConnectionStatusOutput,
    DeletedOutput,
    FunctionDetailOutput,
    FunctionPageOutput,
    InvokeOutput,
    ObjectPageOutput,
    PresignOutput,
    ReadObjectOutput,
    StoredObjectOutput,
)
from connector.api.mcp.runner import Tool, run
from connector.api.schemas import ConnectionView
from connector.domain.models import Scope
from connector.errors import ValidationError

Bucket = Annotated[str, Field(description="The bucket's name", min_length=1, max_length=63)]
Key = Annotated[str, Field(description="The object's key", min_length=1, max_length=1024)]
FunctionName = Annotated[
    str, Field(description="A function name, ARN or name:qualifier", min_length=1, max_length=170)
]
PRESIGN_FOR_READ = 900
# Content types whose bytes are text; others are sniffed (octet-stream, none) or are binary.
_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/x-ndjson",
    "application/toml",
    "application/sql",
    "application/csv",
)
_SNIFFED_TYPES = ("", "binary/octet-stream", "application/octet-stream")


async def connection_status(ctx: ToolContext) -> Annotated[CallToolResult, ConnectionStatusOutput]:
    """The user's connection: status (active or reauth_required), account and expiry, no secrets."""

    async def call(c: McpCall, user_id: str) -> Any:
        return ConnectionView.of(await c.services.connections.get(user_id))

    return await run(ctx, TOOLS["connection_status"], None, call)


async def list_buckets(ctx: ToolContext) -> Annotated[CallToolResult, BucketsOutput]:
    """The user's S3 buckets that this caller may see."""

    async def call(c: McpCall, user_id: str) -> Any:
        buckets = await c.oauth.s3.list_buckets(c.agent.key, user_id)
        return view({"buckets": buckets}, BucketsData)

    return await run(ctx, TOOLS["list_buckets"], None, call)


async def list_objects(
    ctx: ToolContext,
    *,
    bucket: Bucket,
    prefix: Annotated[str | None, Field(description="Only keys starting with this")] = None,
    delimiter: Annotated[
        str | None, Field(description="Group keys by this (usually '/') into commonPrefixes")
    ] = None,
    max_keys: Annotated[int, Field(description="Keys in this page", ge=1, le=1000)] = 100,
    continuation_token: Annotated[
        str | None, Field(description="nextContinuationToken of the previous page")
    ] = None,
) -> Annotated[CallToolResult, ObjectPageOutput]:
    """One page of a bucket's objects and common prefixes; pass nextContinuationToken for more."""

    async def call(c: McpCall, user_id: str) -> Any:
        page = await c.oauth.s3.list_objects(
            c.agent.key,
            user_id,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            continuation_token=continuation_token,
        )
        return view(page, ObjectPageData)

    return await run(ctx, TOOLS["list_objects"], bucket, call)


async def read_object(
    ctx: ToolContext, *, bucket: Bucket, key: Key
) -> Annotated[CallToolResult, ReadObjectOutput]:
    """An object's text with its content type; a large or binary object gives a download URL."""

    async def call(c: McpCall, user_id: str) -> Any:
        return await _read(c, user_id, bucket, key)

    return await run(ctx, TOOLS["read_object"], f"{bucket}/{key}", call)


async def write_object(
    ctx: ToolContext,
    *,
    bucket: Bucket,
    key: Key,
    content: Annotated[str, Field(description="The object's content, as `encoding` says")],
    encoding: Annotated[
        Literal["text", "base64"], Field(description="text (stored as UTF-8) or base64 bytes")
    ] = "text",
    content_type: Annotated[
        str | None, Field(description="Stored Content-Type; text/plain for text by default")
    ] = None,
) -> Annotated[CallToolResult, StoredObjectOutput]:
    """Create or replace an object from text or base64; larger bodies go to presign_object PUT."""

    async def call(c: McpCall, user_id: str) -> Any:
        body = _body(content, encoding, c.settings.max_read_bytes)
        stored = await c.oauth.s3.put_object(
            c.agent.key,
            user_id,
            bucket,
            key,
            _one_chunk(body),
            content_type=content_type
            or ("text/plain; charset=utf-8" if encoding == "text" else None),
            content_length=len(body),
        )
        return view(stored, StoredObjectData)

    return await run(ctx, TOOLS["write_object"], f"{bucket}/{key}", call)


async def delete_object(
    ctx: ToolContext, *, bucket: Bucket, key: Key
) -> Annotated[CallToolResult, DeletedOutput]:
    """Delete an object (succeeds also when it does not exist)."""

    async def call(c: McpCall, user_id: str) -> Any:
        await c.oauth.s3.delete_object(c.agent.key, user_id, bucket, key)
        return {"deleted": True}

    return await run(ctx, TOOLS["delete_object"], f"{bucket}/{key}", call)


async def presign_object(
    ctx: ToolContext,
    *,
    bucket: Bucket,
    key: Key,
    method: Annotated[
        Literal["GET", "PUT"], Field(description="GET to download, PUT to upload")
    ] = "GET",
    expires_in: Annotated[int, Field(description="Seconds the URL lives", ge=1, le=3600)] = 900,
) -> Annotated[CallToolResult, PresignOutput]:
    """A URL signed as the user to GET or PUT an object's bytes directly (any size)."""

    async def call(c: McpCall, user_id: str) -> Any:
        signed = await c.oauth.s3.presign(
            c.agent.key, user_id, bucket, key, method=method, expires_in=expires_in
        )
        return view(signed, PresignData)

    return await run(ctx, TOOLS["presign_object"], f"{bucket}/{key}", call)


async def list_functions(
    ctx: ToolContext,
    *,
    marker: Annotated[str | None, Field(description="nextMarker of the previous page")] = None,
    max_items: Annotated[int, Field(description="Functions in this page", ge=1, le=50)] = 50,
) -> Annotated[CallToolResult, FunctionPageOutput]:
    """One page of the user's Lambda functions; pass nextMarker for more."""

    async def call(c: McpCall, user_id: str) -> Any:
        page = await c.oauth.functions.list_functions(
            c.agent.key, user_id, marker=marker, max_items=max_items
        )
        return view(page, FunctionPageData)

    return await run(ctx, TOOLS["list_functions"], None, call)


async def get_function(
    ctx: ToolContext, *, name: FunctionName
) -> Annotated[CallToolResult, FunctionDetailOutput]:
    """A Lambda function's configuration: runtime, handler, memory, timeout, state."""

    async def call(c: McpCall, user_id: str) -> Any:
        detail = await c.oauth.functions.get_function(c.agent.key, user_id, name)
        return view(detail, FunctionDetailView)

    return await run(ctx, TOOLS["get_function"], name, call)


async def invoke_function(
    ctx: ToolContext,
    *,
    name: FunctionName,
    payload: Annotated[Any, Field(description="The event: any JSON value")] = None,
    include_log: Annotated[
        bool, Field(description="Also return the last 4 KB of the function's log")
    ] = False,
) -> Annotated[CallToolResult, InvokeOutput]:
    """Run a Lambda function with a JSON event; returns its status, answer, error and log tail."""

    async def call(c: McpCall, user_id: str) -> Any:
        result = await c.oauth.functions.invoke(
            c.agent.key,
            user_id,
            name,
            {} if payload is None else payload,
            log_type="Tail" if include_log else "None",
        )
        data = view(result, InvokeData)
        return {
            "statusCode": data.status_code,
            "payload": data.payload,
            "functionError": data.function_error,
            "logTail": data.log_result,
            "executedVersion": data.executed_version,
        }

    return await run(ctx, TOOLS["invoke_function"], name, call)


async def _read(c: McpCall, user_id: str, bucket: str, key: str) -> dict[str, Any]:
    """At most `max_read_bytes` are ever held: a larger object is refused by its length, or
    cut off as it streams, and answered with a presigned URL instead."""
    limit = c.settings.max_read_bytes
    opened = await c.oauth.s3.open_object(c.agent.key, user_id, bucket, key)
    reason: Literal["too_large", "binary"] | None = None
    text: str | None = None
    try:
        media = (opened.content_type or "").split(";")[0].strip().lower()
        if opened.content_length is not None and opened.content_length > limit:
            reason = "too_large"
        elif not _may_be_text(media):
            reason = "binary"
        else:
            body = bytearray()
            async for chunk in opened.chunks:
                if len(body) + len(chunk) > limit:
                    reason = "too_large"
                    break
                body += chunk
            if reason is None:
                text = _text_of(bytes(body))
                reason = None if text is not None else "binary"
    finally:
        await opened.aclose()
    answer: dict[str, Any] = {
        "bucket": bucket,
        "key": key,
        "contentType": opened.content_type,
        "size": opened.content_length,
        "etag": opened.etag,
        "text": text,
        "url": None,
        "urlExpiresAt": None,
        "reason": reason,
    }
    if reason is not None:
        signed = view(
            await c.oauth.s3.presign(
                c.agent.key, user_id, bucket, key, method="GET", expires_in=PRESIGN_FOR_READ
            ),
            PresignData,
        )
        answer |= {"url": signed.url, "urlExpiresAt": signed.expires_at}
    return answer


def _may_be_text(media: str) -> bool:
    return (
        media.startswith("text/")
        or media in _TEXT_TYPES
        or media.endswith(("+json", "+xml"))
        or media in _SNIFFED_TYPES
    )


def _text_of(body: bytes) -> str | None:
    """UTF-8 text without NUL bytes, else None (binary)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def _body(content: str, encoding: str, limit: int) -> bytes:
    """The bytes to store, refused past `limit` before anything is decoded or sent."""
    if encoding == "base64":
        if len(content) * 3 // 4 > limit + 2:
            raise _too_large(limit)
        try:
            body = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(
                "content: not valid base64", details={"field": "content"}
            ) from None
    else:
        if len(content) > limit:  # each character is at least one byte
            raise _too_large(limit)
        body = content.encode("utf-8")
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        f"the content is larger than {limit} bytes: call presign_object with method PUT and"
        " upload the bytes to that URL",
        details={"field": "content", "limit": limit, "use": "presign_object"},
    )


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


READ = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True}
TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("connection_status", connection_status, (Scope.CONNECTION_READ,), READ),
        Tool("list_buckets", list_buckets, (Scope.S3_READ,), READ),
        Tool("list_objects", list_objects, (Scope.S3_READ,), READ),
        Tool("read_object", read_object, (Scope.S3_READ,), READ),
        Tool(
            "write_object",
            write_object,
            (Scope.S3_WRITE,),
            # Replaces an object that exists: destructive, and the same call twice is the same.
            {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
        ),
        Tool(
            "delete_object",
            delete_object,
            (Scope.S3_WRITE,),
            {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
        ),
        # GET needs s3:read, PUT s3:write (the S3 service checks which): either shows it.
        Tool(
            "presign_object",
            presign_object,
            (Scope.S3_READ, Scope.S3_WRITE),
            {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": False},
            checks_own_scope=True,
        ),
        Tool("list_functions", list_functions, (Scope.LAMBDA_READ,), READ),
        Tool("get_function", get_function, (Scope.LAMBDA_READ,), READ),
        Tool(
            "invoke_function",
            invoke_function,
            (Scope.LAMBDA_INVOKE,),
            # A function may do anything; running it twice may do it twice.
            {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False},
        ),
    )
}
"""Every tool, by name. `tools/list` shows a caller the tools its key may call."""
