"""AWS values: a user's temporary credentials and the shapes of S3 and Lambda answers."""

from __future__ import annotations

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
    last_modified: str | None


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
