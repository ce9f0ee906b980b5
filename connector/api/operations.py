"""Each operation once: one service call and its wire view. REST routes and JSON-RPC methods
both call these, so the two transports can never drift apart."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, Literal

from connector.api.aws_schemas import (
    BucketsData,
    DeletedData,
    FunctionDetailView,
    FunctionPageData,
    InvokeData,
    ObjectBytesData,
    ObjectPageData,
    PresignData,
    StoredObjectData,
    view,
)
from connector.api.schemas import (
    ConnectionView,
    CredentialsData,
    DisconnectData,
    FlowStartData,
    RejectedData,
    TokenData,
)
from connector.domain.models import ApiKey
from connector.errors import ValidationError
from connector.services.container import Services


async def connect(
    services: Services,
    caller: ApiKey,
    user_id: str,
    redirect_uri: str | None,
    *,
    login_hint: str | None = None,
    replace: bool = False,
) -> FlowStartData:
    start = await services.oauth().flow.start(
        user_id, redirect_uri, key_id=caller.id, login_hint=login_hint, replace=replace
    )
    return FlowStartData.of(start)


async def complete_callback(
    services: Services, caller: ApiKey, *, code: str, state: str, user_id: str | None
) -> ConnectionView:
    connection = await services.oauth().flow.complete(
        state, code=code, key_id=caller.id, user_id=user_id
    )
    return ConnectionView.of(connection)


async def confirm_connect(
    services: Services, caller: ApiKey, user_id: str, confirmation: str
) -> ConnectionView:
    connection = await services.oauth().flow.confirm(
        confirmation, key_id=caller.id, user_id=user_id
    )
    return ConnectionView.of(connection)


async def reject_connect(services: Services, caller: ApiKey, confirmation: str) -> RejectedData:
    await services.oauth().flow.reject(confirmation, key_id=caller.id)
    return RejectedData(rejected=True)


async def disconnect(services: Services, user_id: str) -> DisconnectData:
    result = await services.oauth().disconnect.disconnect(user_id)
    return DisconnectData(disconnected=result.disconnected, revoked=result.revoked)


async def get_connection(services: Services, user_id: str) -> ConnectionView:
    return ConnectionView.of(await services.connections.get(user_id))


async def get_token(services: Services, user_id: str) -> TokenData:
    tokens = await services.oauth().tokens.get_tokens(user_id)
    return TokenData(
        access_token=tokens.access_token,
        token_type="Bearer",  # noqa: S106 - the token type, not a secret
        expires_at=tokens.expires_at,
        scopes=list(tokens.scopes),
    )


async def get_credentials(services: Services, user_id: str) -> CredentialsData:
    credentials = await services.oauth().credentials.get_credentials(user_id)
    return CredentialsData(
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        expiration=credentials.expiration,
        identity_id=credentials.identity_id,
    )


async def list_buckets(services: Services, caller: ApiKey, user_id: str) -> BucketsData:
    buckets = await services.s3().list_buckets(caller, user_id)
    return view({"buckets": buckets}, BucketsData)


async def list_objects(
    services: Services,
    caller: ApiKey,
    user_id: str,
    bucket: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    max_keys: int = 1000,
    continuation_token: str | None = None,
) -> ObjectPageData:
    page = await services.s3().list_objects(
        caller,
        user_id,
        bucket,
        prefix=prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        continuation_token=continuation_token,
    )
    return view(page, ObjectPageData)


async def read_object(
    services: Services, caller: ApiKey, user_id: str, bucket: str, key: str, *, limit: int
) -> ObjectBytesData:
    """The whole object, base64, when it is at most `limit` bytes (JSON-RPC's `getObject`)."""
    opened = await services.s3().open_object(caller, user_id, bucket, key)
    try:
        if opened.content_length is not None and opened.content_length > limit:
            raise _too_large(limit)
        body = bytearray()
        async for chunk in opened.chunks:
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    finally:
        await opened.aclose()
    return ObjectBytesData(
        bucket=bucket,
        key=key,
        content_type=opened.content_type,
        etag=opened.etag,
        body=base64.b64encode(body).decode("ascii"),
    )


async def put_object(
    services: Services,
    caller: ApiKey,
    user_id: str,
    bucket: str,
    key: str,
    *,
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_length: int | None,
) -> StoredObjectData:
    stored = await services.s3().put_object(
        caller,
        user_id,
        bucket,
        key,
        body,
        content_type=content_type,
        content_length=content_length,
    )
    return view(stored, StoredObjectData)


async def delete_object(
    services: Services, caller: ApiKey, user_id: str, bucket: str, key: str
) -> DeletedData:
    await services.s3().delete_object(caller, user_id, bucket, key)
    return DeletedData(deleted=True)


async def presign(
    services: Services,
    caller: ApiKey,
    user_id: str,
    bucket: str,
    key: str,
    *,
    method: Literal["GET", "PUT"],
    expires_in: int,
) -> PresignData:
    signed = await services.s3().presign(
        caller, user_id, bucket, key, method=method, expires_in=expires_in
    )
    return view(signed, PresignData)


async def list_functions(
    services: Services, caller: ApiKey, user_id: str, *, marker: str | None, max_items: int
) -> FunctionPageData:
    page = await services.functions().list_functions(
        caller, user_id, marker=marker, max_items=max_items
    )
    return view(page, FunctionPageData)


async def get_function(
    services: Services, caller: ApiKey, user_id: str, name: str
) -> FunctionDetailView:
    return view(await services.functions().get_function(caller, user_id, name), FunctionDetailView)


async def invoke(
    services: Services,
    caller: ApiKey,
    user_id: str,
    name: str,
    payload: Any,
    *,
    invocation_type: Literal["RequestResponse", "Event"],
    log_type: Literal["None", "Tail"],
) -> InvokeData:
    result = await services.functions().invoke(
        caller, user_id, name, payload, invocation_type=invocation_type, log_type=log_type
    )
    return view(result, InvokeData)


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        f"the object is larger than {limit} bytes: use presign (method GET) and fetch it directly",
        details={"field": "key", "limit": limit, "use": "presign"},
    )
