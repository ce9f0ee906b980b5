"""The S3 routes, and the S3 helpers built on them, as request builders (see
`_connection_calls`)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from connector_client._body import Body, BodyLike, BytesBody, PathBody, body_of, json_body
from connector_client._receive import Decode, SaveTo
from connector_client._transport import JSON, Call, Pages, data_of, path_segment
from connector_client.errors import ConnectorClientError, NotFoundError
from connector_client.models import (
    Bucket,
    BucketList,
    Deleted,
    ObjectInfo,
    ObjectPage,
    Presigned,
    StoredObject,
)

T = TypeVar("T")


def _object_path(bucket: str, key: str) -> str:
    segments = "/".join(map(path_segment, key.split("/")))
    return f"/s3/buckets/{path_segment(bucket)}/objects/{segments}"


def _guess_type(path: Path) -> str | None:
    return mimetypes.guess_type(path.name)[0]


def list_buckets(user_id: str, *, provider: str | None = None) -> Call[list[Bucket]]:
    """The user's buckets (narrowed to the key's bucket patterns)."""
    decode = data_of(BucketList)
    return Call(
        method="GET",
        path="/s3/buckets",
        user_id=user_id,
        provider=provider,
        receive=Decode(lambda content: decode(content).buckets),
    )


def list_objects(
    user_id: str,
    bucket: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    max_keys: int | None = None,
    continuation_token: str | None = None,
    provider: str | None = None,
) -> Call[ObjectPage]:
    """One page of objects and common prefixes (see `iter_objects` for all of them)."""
    return Call(
        method="GET",
        path=f"/s3/buckets/{path_segment(bucket)}/objects",
        user_id=user_id,
        provider=provider,
        params={
            "prefix": prefix,
            "delimiter": delimiter,
            "maxKeys": max_keys,
            "continuationToken": continuation_token,
        },
        receive=Decode(data_of(ObjectPage)),
    )


def iter_objects(
    user_id: str,
    bucket: str,
    *,
    prefix: str | None = None,
    delimiter: str | None = None,
    page_size: int | None = None,
    provider: str | None = None,
) -> Pages[ObjectPage, ObjectInfo]:
    """Every object under `prefix`, page after page."""

    def page(token: str | None) -> Call[ObjectPage]:
        return list_objects(
            user_id,
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=page_size,
            continuation_token=token,
            provider=provider,
        )

    return Pages(
        first=page(None),
        items=lambda listed: listed.objects,
        following=lambda listed: (
            page(listed.next_continuation_token) if listed.next_continuation_token else None
        ),
    )


def get_object(
    user_id: str,
    bucket: str,
    key: str,
    *,
    byte_range: str | None = None,
    provider: str | None = None,
) -> Call[bytes]:
    """The object's bytes, in memory (`open_object` streams; `download_file` saves to disk).
    `byte_range` is one HTTP range such as `bytes=0-99`."""
    return Call(
        method="GET",
        path=_object_path(bucket, key),
        user_id=user_id,
        provider=provider,
        headers={"Range": byte_range} if byte_range else {},
        receive=Decode(bytes),
    )


def put_object(
    user_id: str,
    bucket: str,
    key: str,
    body: BodyLike,
    *,
    content_type: str | None = None,
    provider: str | None = None,
) -> Call[StoredObject]:
    """Store `body` (bytes, str, a binary file, or an iterator of chunks, streamed) as the
    object. Only bodies that can be sent again (bytes, seekable files) are ever retried."""
    return _put(user_id, bucket, key, body_of(body), content_type, provider=provider)


def _put(
    user_id: str,
    bucket: str,
    key: str,
    body: Body,
    content_type: str | None,
    *,
    provider: str | None = None,
) -> Call[StoredObject]:
    return Call(
        method="PUT",
        path=_object_path(bucket, key),
        user_id=user_id,
        provider=provider,
        body=body,
        headers={"Content-Type": content_type} if content_type else {},
        receive=Decode(data_of(StoredObject)),
    )


def delete_object(
    user_id: str, bucket: str, key: str, *, provider: str | None = None
) -> Call[Deleted]:
    """Delete the object (`deleted` is true also when it did not exist)."""
    return Call(
        method="DELETE",
        path=_object_path(bucket, key),
        user_id=user_id,
        provider=provider,
        receive=Decode(data_of(Deleted)),
    )


def presign(
    user_id: str,
    bucket: str,
    key: str,
    *,
    method: Literal["GET", "PUT"] = "GET",
    expires_in: int = 900,
    provider: str | None = None,
) -> Call[Presigned]:
    """A URL signed with the user's own credentials, for any HTTP client (1-3600 s)."""
    return Call(
        method="POST",
        path="/s3/presign",
        user_id=user_id,
        provider=provider,
        body=json_body({"bucket": bucket, "key": key, "method": method, "expiresIn": expires_in}),
        headers={"Content-Type": JSON},
        receive=Decode(data_of(Presigned)),
    )


def download_file(
    user_id: str, bucket: str, key: str, path: str | Path, *, provider: str | None = None
) -> Call[Path]:
    """Stream the object into the file at `path` (which appears only once complete)."""
    return Call(
        method="GET",
        path=_object_path(bucket, key),
        user_id=user_id,
        provider=provider,
        receive=SaveTo(Path(path)),
    )


def upload_file(
    user_id: str,
    path: str | Path,
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    provider: str | None = None,
) -> Call[StoredObject]:
    """Stream the file at `path` into the object (re-read from disk if retried). The order of
    boto3's `upload_file(Filename, Bucket, Key)`, as `download_file` follows boto3's
    `download_file(Bucket, Key, Filename)`."""
    path = Path(path)
    return _put(
        user_id, bucket, key, PathBody(path), content_type or _guess_type(path), provider=provider
    )


def read_json(user_id: str, bucket: str, key: str, *, provider: str | None = None) -> Call[Any]:
    """The object, parsed as JSON."""
    return _read(user_id, bucket, key, msgspec.json.decode, provider=provider)


def read_text(
    user_id: str, bucket: str, key: str, *, encoding: str = "utf-8", provider: str | None = None
) -> Call[str]:
    """The object, decoded as text."""
    return _read(user_id, bucket, key, lambda content: content.decode(encoding), provider=provider)


def _read(
    user_id: str,
    bucket: str,
    key: str,
    decode: Callable[[bytes], T],
    *,
    provider: str | None = None,
) -> Call[T]:
    return Call(
        method="GET",
        path=_object_path(bucket, key),
        user_id=user_id,
        provider=provider,
        receive=Decode(decode),
    )


def write_json(
    user_id: str,
    bucket: str,
    key: str,
    value: Any,
    *,
    content_type: str = JSON,
    provider: str | None = None,
) -> Call[StoredObject]:
    """Store `value` as a JSON object (msgspec encodes Structs, dataclasses, datetimes)."""
    return _put(user_id, bucket, key, json_body(value), content_type, provider=provider)


def write_text(
    user_id: str,
    bucket: str,
    key: str,
    text: str,
    *,
    encoding: str = "utf-8",
    content_type: str | None = None,
    provider: str | None = None,
) -> Call[StoredObject]:
    """Store `text` (as `text/plain` in `encoding` unless `content_type` says otherwise)."""
    content_type = content_type or f"text/plain; charset={encoding}"
    return _put(
        user_id, bucket, key, BytesBody(text.encode(encoding)), content_type, provider=provider
    )


def file_exists(user_id: str, bucket: str, key: str, *, provider: str | None = None) -> Call[bool]:
    """Whether the object exists (False too when the bucket does not). One listing call:
    the key itself is the first name listed under its own prefix, and a listing answers the
    same for empty objects, where a ranged GET would not."""
    first = data_of(ObjectPage)

    def recover(error: ConnectorClientError) -> bool:
        if isinstance(error, NotFoundError):
            return False
        raise error

    return Call(
        method="GET",
        path=f"/s3/buckets/{path_segment(bucket)}/objects",
        user_id=user_id,
        provider=provider,
        params={"prefix": key, "maxKeys": 1},
        receive=Decode(lambda content: [o.key for o in first(content).objects] == [key]),
        recover=recover,
    )
