"""S3Objects: the few S3 calls the stores make, in the AWS thread pool, with server-side
encryption, the JSON content type, conditional writes and one translation of failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, TypeVar
from weakref import WeakValueDictionary

from botocore.exceptions import BotoCoreError, ClientError

from connector.adapters.aws_clients import AwsClients
from connector.adapters.s3_store.failures import store_failure
from connector.adapters.s3_store.layout import S3Layout
from connector.errors import VersionConflictError

T = TypeVar("T")
CONTENT_TYPE = "application/json"
# 412 when the condition failed; 409 when S3 saw two conditional writes race on one key; and an
# If-Match on an object that is gone answers 404.
_CONFLICTS = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class Stored(NamedTuple):
    body: bytes
    etag: str


def encryption_parameters(kms_key_id: str | None) -> dict[str, Any]:
    """SSE-S3 by default; SSE-KMS with a bucket key (one KMS call per bucket key, not per read)."""
    if kms_key_id is None:
        return {"ServerSideEncryption": "AES256"}
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id, "BucketKeyEnabled": True}


class S3Objects:
    """Every write is conditional: `put(..., if_match=etag)` replaces only that object, and
    `if_match=None` creates only. With `conditional_writes=False` (endpoints without them) the
    condition is checked by a HEAD before an unconditional PUT, under a per-key lock of this
    process: exact within one process, racy across replicas (see docs/decisions.md)."""

    def __init__(
        self,
        clients: AwsClients,
        layout: S3Layout,
        *,
        kms_key_id: str | None,
        conditional_writes: bool,
    ) -> None:
        self._clients = clients
        self.layout = layout
        self.conditional_writes = conditional_writes
        self._encryption = encryption_parameters(kms_key_id)
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    async def get(self, key: str) -> Stored | None:
        """The object's bytes and ETag, or None when there is no such object."""

        def call(client: Any) -> Stored | None:
            try:
                response = client.get_object(Bucket=self.layout.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) == "NoSuchKey":
                    return None
                raise
            return Stored(response["Body"].read(), response["ETag"])

        return await self._call(f"read {self.layout.url(key)}", call)

    async def put(self, key: str, body: bytes, *, if_match: str | None) -> str:
        """Write while the object is still `if_match` (an ETag), or absent when None; returns
        the new ETag, or raises VersionConflictError when someone else wrote first."""
        if self.conditional_writes:
            condition = {"IfNoneMatch": "*"} if if_match is None else {"IfMatch": if_match}
            return await self._put(key, body, condition)
        async with self._held(key):
            if await self.etag(key) != if_match:
                raise VersionConflictError(f"{self.layout.url(key)} changed")
            return await self._put(key, body, {})

    async def put_unconditionally(self, key: str, body: bytes) -> str:
        """Write whatever is there (a copy whose content never competes); the new ETag."""
        return await self._put(key, body, {})

    async def etag(self, key: str) -> str | None:
        """The ETag of the object (HEAD), or None when there is no such object."""

        def call(client: Any) -> str | None:
            try:
                return str(client.head_object(Bucket=self.layout.bucket, Key=key)["ETag"])
            except ClientError as exc:
                if _status(exc) == 404:
                    return None
                raise

        return await self._call(f"read {self.layout.url(key)}", call)

    async def delete(self, key: str, *, if_match: str | None = None) -> bool:
        """Delete (idempotent); True if the object existed just before. Two racing deletes may
        both say True: S3's DeleteObject does not tell. With `if_match` (an ETag) delete only
        while the object is still that one, else VersionConflictError (also when it is gone)."""
        if if_match is None:
            existed = await self.etag(key) is not None
            await self._delete(key, {})
            return existed
        if self.conditional_writes:
            await self._delete(key, {"IfMatch": if_match})
            return True
        async with self._held(key):
            if await self.etag(key) != if_match:
                raise VersionConflictError(f"{self.layout.url(key)} changed")
            await self._delete(key, {})
            return True

    async def list_keys(
        self, prefix: str, *, after: str | None, limit: int
    ) -> tuple[list[str], bool]:
        """Up to `limit` keys under `prefix` strictly after `after`, in S3's byte order, and
        whether more follow. `after` (StartAfter) makes pages keyset pages."""
        parameters: dict[str, Any] = {
            "Bucket": self.layout.bucket,
            "Prefix": prefix,
            "MaxKeys": limit,
        }
        if after is not None:
            parameters["StartAfter"] = after

        def call(client: Any) -> tuple[list[str], bool]:
            response = client.list_objects_v2(**parameters)
            keys = [str(item["Key"]) for item in response.get("Contents", [])]
            return keys, bool(response.get("IsTruncated"))

        return await self._call(f"list {self.layout.url(prefix)}", call)

    async def check_bucket(self) -> None:
        """One cheap listing under the prefix: the bucket exists and the service may list it.
        (HeadBucket would need s3:ListBucket without the prefix condition of the README.)"""
        await self.list_keys(self.layout.prefix, after=None, limit=1)

    def close(self) -> None:
        self._clients.close()

    async def _put(self, key: str, body: bytes, condition: dict[str, str]) -> str:
        def call(client: Any) -> str | None:
            try:
                response = client.put_object(
                    Bucket=self.layout.bucket,
                    Key=key,
                    Body=body,
                    ContentType=CONTENT_TYPE,
                    **self._encryption,
                    **condition,
                )
            except ClientError as exc:
                code = _code(exc)
                if code in _CONFLICTS or ("IfMatch" in condition and code == "NoSuchKey"):
                    return None
                raise
            return str(response["ETag"])

        etag = await self._call(f"write {self.layout.url(key)}", call)
        if etag is None:
            raise VersionConflictError(f"{self.layout.url(key)} was written by someone else first")
        return etag

    async def _delete(self, key: str, condition: dict[str, str]) -> None:
        def call(client: Any) -> bool:
            try:
                client.delete_object(Bucket=self.layout.bucket, Key=key, **condition)
            except ClientError as exc:
                if condition and (_code(exc) in _CONFLICTS or _code(exc) == "NoSuchKey"):
                    return False
                raise
            return True

        if not await self._call(f"delete {self.layout.url(key)}", call):
            raise VersionConflictError(f"{self.layout.url(key)} was written by someone else first")

    async def _call(self, doing: str, call: Callable[[Any], T]) -> T:
        client = self._clients.service_client("s3")
        try:
            return await self._clients.run(call, client)
        except (BotoCoreError, ClientError) as exc:
            raise store_failure(
                exc, doing=doing, bucket=self.layout.bucket, endpoint=client.meta.endpoint_url
            ) from exc

    @asynccontextmanager
    async def _held(self, key: str) -> AsyncIterator[None]:
        # Weak values: a key's lock lives only while someone holds or awaits it.
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
