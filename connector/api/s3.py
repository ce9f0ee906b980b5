"""S3 routes: list, stream objects in and out, delete, presign — as the user named by X-User-Id."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Controller, Request, Response, delete, get, head, post, put
from litestar.params import JSONBody
from litestar.response import Stream

from connector.api.aws_schemas import (
    BucketsData,
    DeletedData,
    ObjectPageData,
    PresignBody,
    PresignData,
    StoredObjectData,
    view,
)
from connector.api.dependencies import ACTING_FOR_USER, Caller, OAuthDep, UserId
from connector.api.disposition import attachment
from connector.api.envelope import ApiResponse, ok
from connector.api.guards import SECURITY, authenticated, counts_as, names_user, requires
from connector.api.object_operations import ObjectDownload, ObjectMetadata, ObjectUpload
from connector.api.observe import acting_on
from connector.api.parameters import (
    BucketPath,
    ContinuationTokenQuery,
    DelimiterQuery,
    MaxKeysQuery,
    ObjectKeyPath,
    PrefixQuery,
    RangeHeader,
)
from connector.api.responses import as_user_responses
from connector.domain.aws import ObjectStream
from connector.domain.models import Scope
from connector.domain.rate_limits import ScopeClass
from connector.errors import ErrorCode
from connector.services.s3 import MAX_KEYS

OBJECT = "/buckets/{bucket:str}/objects/{key:path}"
# User data: never kept by shared caches between the connector and its caller.
PRIVATE = "private, no-store"
# The key in a raw request path (the bucket has no slash; the key is the rest, query excluded).
_RAW_KEY = re.compile(rb"/s3/buckets/[^/]+/objects/(?P<key>.+)\Z", re.DOTALL)


class S3Controller(Controller):
    path = "/s3"
    tags = ["s3"]
    security = SECURITY
    guards = [authenticated, names_user]
    dependencies = ACTING_FOR_USER

    @get(
        "/buckets",
        operation_id="listBuckets",
        guards=[requires(Scope.S3_READ)],
        responses=as_user_responses(ErrorCode.LIST_BUCKETS_FAILED),
    )
    async def list_buckets(
        self, *, user_id: UserId, oauth: OAuthDep, caller: Caller
    ) -> ApiResponse[BucketsData]:
        """The user's buckets, narrowed to the key's bucket patterns."""
        return ok(view({"buckets": await oauth.s3.list_buckets(caller, user_id)}, BucketsData))

    @get(
        "/buckets/{bucket:str}/objects",
        operation_id="listObjects",
        guards=[requires(Scope.S3_READ)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.LIST_OBJECTS_FAILED),
    )
    async def list_objects(
        self,
        *,
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        bucket: BucketPath,
        prefix: PrefixQuery = None,
        delimiter: DelimiterQuery = None,
        max_keys: MaxKeysQuery = MAX_KEYS,
        continuation_token: ContinuationTokenQuery = None,
    ) -> ApiResponse[ObjectPageData]:
        """One page (at most `maxKeys`, 1 to 1000) of objects and common prefixes; pass
        `nextContinuationToken` back as `continuationToken` for the next one."""
        page = await oauth.s3.list_objects(
            caller,
            user_id,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            continuation_token=continuation_token,
        )
        return ok(view(page, ObjectPageData))

    @get(
        OBJECT,
        operation_id="getObject",
        operation_class=ObjectDownload,
        guards=[requires(Scope.S3_READ)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.GET_OBJECT_FAILED),
    )
    async def get_object(
        self,
        *,
        request: Request[Any, Any, Any],
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        bucket: BucketPath,
        key: ObjectKeyPath,
        range_header: RangeHeader = None,
    ) -> Stream:
        """The object's bytes, streamed as S3 sends them (memory stays flat for any size).
        One `Range: bytes=…` is honoured (206 with Content-Range). Failures before the first
        byte are envelopes; a failure mid-stream cuts the response short of its Content-Length."""
        object_key = _object_key(request, key)
        opened = await oauth.s3.open_object(
            caller, user_id, bucket, object_key, range_header=range_header
        )
        headers = _object_headers(opened, object_key)
        return Stream(_drain(opened), status_code=opened.status, headers=headers)

    @head(
        OBJECT,
        operation_id="headObject",
        operation_class=ObjectMetadata,
        guards=[requires(Scope.S3_READ)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.GET_OBJECT_FAILED),
    )
    async def head_object(
        self,
        *,
        request: Request[Any, Any, Any],
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        bucket: BucketPath,
        key: ObjectKeyPath,
        range_header: RangeHeader = None,
    ) -> Response[None]:
        """The headers GET would send (size, type, ETag, Last-Modified), without the bytes.
        Failures are statuses only: a HEAD answer carries no body."""
        object_key = _object_key(request, key)
        opened = await oauth.s3.open_object(
            caller, user_id, bucket, object_key, range_header=range_header
        )
        await opened.aclose()  # nothing of the body is read
        headers = _object_headers(opened, object_key)
        return Response(None, status_code=opened.status, headers=headers)

    @put(
        OBJECT,
        operation_id="putObject",
        operation_class=ObjectUpload,
        status_code=200,
        request_max_body_size=None,  # streamed to S3 in parts; never held in memory
        guards=[requires(Scope.S3_WRITE)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.PUT_OBJECT_FAILED),
    )
    async def put_object(
        self,
        *,
        request: Request[Any, Any, Any],
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        bucket: BucketPath,
        key: ObjectKeyPath,
    ) -> ApiResponse[StoredObjectData]:
        """Stream the request body into the object (Content-Type is kept). Bodies over 8 MiB go
        up as a multipart upload; any failure aborts it, so no partial object ever appears."""
        stored = await oauth.s3.put_object(
            caller,
            user_id,
            bucket,
            _object_key(request, key),
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=request.content_length,
        )
        return ok(view(stored, StoredObjectData))

    @delete(
        OBJECT,
        operation_id="deleteObject",
        status_code=200,
        guards=[requires(Scope.S3_WRITE)],
        responses=as_user_responses(ErrorCode.NOT_FOUND, ErrorCode.DELETE_OBJECT_FAILED),
    )
    async def delete_object(
        self,
        *,
        request: Request[Any, Any, Any],
        user_id: UserId,
        oauth: OAuthDep,
        caller: Caller,
        bucket: BucketPath,
        key: ObjectKeyPath,
    ) -> ApiResponse[DeletedData]:
        """Delete the object; `deleted: true` also when it did not exist."""
        await oauth.s3.delete_object(caller, user_id, bucket, _object_key(request, key))
        return ok(DeletedData(deleted=True))

    @post(
        "/presign",
        operation_id="presign",
        status_code=200,
        guards=[counts_as(ScopeClass.READ)],
        responses=as_user_responses(ErrorCode.GET_OBJECT_FAILED, ErrorCode.PUT_OBJECT_FAILED),
    )
    async def presign(
        self, *, user_id: UserId, oauth: OAuthDep, caller: Caller, data: JSONBody[PresignBody]
    ) -> ApiResponse[PresignData]:
        """A URL signed with the user's own credentials, so large bytes never pass through
        the connector. GET needs `s3:read`, PUT `s3:write`; `expiresIn` is 1 to 3600 seconds
        (900 by default). `expiresAt` is capped by the credentials' own expiration."""
        acting_on(bucket=data.bucket, key=data.key)
        signed = await oauth.s3.presign(
            caller,
            user_id,
            data.bucket,
            data.key,
            method=data.method,
            expires_in=data.expires_in,
        )
        return ok(view(signed, PresignData))


def _object_key(request: Request[Any, Any, Any], routed: str) -> str:
    """The key exactly as sent. Litestar routes on a normalised path (trailing slash dropped,
    `//` collapsed), so its `path` parameter would read `folder/` as `folder` and `a//b` as
    `a/b`: other objects. The key is taken from the raw path instead, percent-decoded as UTF-8
    (anything else reaches the service's UTF-8 check). Without a raw path, the routed one."""
    raw = request.scope.get("raw_path")
    matched = _RAW_KEY.search(raw) if isinstance(raw, bytes) else None
    if matched is None:
        return routed.removeprefix("/")  # Litestar hands the parameter over with its slash
    return unquote_to_bytes(matched["key"]).decode("utf-8", errors="surrogateescape")


def _object_headers(opened: ObjectStream, key: str) -> dict[str, str]:
    headers = {
        # As stored: Litestar would append a charset to text/* types given as `media_type`.
        "Content-Type": opened.content_type or "application/octet-stream",
        "Accept-Ranges": "bytes",
        "Cache-Control": PRIVATE,
        # User content on the connector's origin: a browser that opens a download must neither
        # render it as a page nor guess a type, so an object stored as text/html is a file to
        # save, and would run in a sandbox (no scripts, an opaque origin) if rendered anyway.
        "Content-Disposition": attachment(key),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    if opened.content_length is not None:
        headers["Content-Length"] = str(opened.content_length)
    if opened.etag:
        headers["ETag"] = opened.etag
    if opened.content_range:
        headers["Content-Range"] = opened.content_range
    if opened.last_modified is not None:
        headers["Last-Modified"] = format_datetime(
            opened.last_modified.astimezone(UTC), usegmt=True
        )
    return headers


async def _drain(opened: ObjectStream) -> AsyncIterator[bytes]:
    """The object's chunks; the S3 connection is released however the response ends."""
    try:
        async for chunk in opened.chunks:
            yield chunk
    finally:
        await opened.aclose()
