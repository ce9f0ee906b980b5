"""AWS values: a user's temporary credentials and the shapes of S3 and Lambda answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec


class AwsCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """Temporary credentials of one user's Cognito identity. Secret: sealed in the cache."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    identity_id: str
    issued_at: datetime
    """When they were minted; with `expiration`, the lifetime the refresh windows divide."""


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    creation_date: datetime | None


class ObjectSummary(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    last_modified: datetime
    etag: str
    storage_class: str | None


class ObjectPage(msgspec.Struct, frozen=True, kw_only=True):
    objects: tuple[ObjectSummary, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_continuation_token: str | None


class FunctionSummary(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    arn: str
    runtime: str | None
    handler: str | None
    description: str | None
    memory_size: int | None
    timeout: int | None
    last_modified: datetime | None


class FunctionDetail(FunctionSummary, frozen=True, kw_only=True):
    role: str | None
    state: str | None
    code_size: int | None


class FunctionPage(msgspec.Struct, frozen=True, kw_only=True):
    functions: tuple[FunctionSummary, ...]
    next_marker: str | None


class InvokeResult(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    payload: Any
    function_error: str | None
    log_result: str | None
    executed_version: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectStream:
    """An object being read. Iterating `chunks` to the end or `aclose()` frees the connection."""

    content_type: str | None
    content_length: int | None
    etag: str | None
    content_range: str | None
    status: int
    """200, or 206 for a range."""
    last_modified: datetime | None
    chunks: AsyncIterator[bytes]
    _release: Callable[[], Awaitable[None]] = field(repr=False, compare=False)

    async def aclose(self) -> None:
        """Stop reading and release the connection (safe to call more than once)."""
        await self._release()


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    bucket: str
    key: str
    etag: str | None
    version_id: str | None


class PresignedUrl(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    method: str
    expires_at: datetime
    """The earlier of the asked expiry and the signing credentials' own expiration."""
