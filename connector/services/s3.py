"""S3 as the user: every check of the caller's key and of the names, then one call as the user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Literal

from connector.domain.aws import (
    AwsCredentials,
    Bucket,
    ObjectPage,
    ObjectStream,
    PresignedUrl,
    StoredObject,
)
from connector.domain.aws_names import (
    served_range,
    validate_bucket_name,
    validate_content_type,
    validate_object_key,
    validate_prefix,
)
from connector.domain.models import ApiKey, Scope
from connector.domain.ports import Clock, ObjectStorage
from connector.errors import ValidationError
from connector.services.access import bucket_allowed, require_bucket, require_scope
from connector.services.acting import ActingAsUser
from connector.services.limits import require_between

MAX_KEYS = 1000
PRESIGN_MIN, PRESIGN_MAX, PRESIGN_DEFAULT = 1, 3600, 900
CONTINUATION_TOKEN_MAX = 4096
# A put refused for expired credentials is sent again when no more than this was read of
# its body: the gateway reads about its multipart threshold (8 MiB) before the first call.
REPLAY_BUDGET = 9 << 20


class S3Service:
    """Names and the key's bucket policy are checked before any AWS call (a refused caller
    never costs a credential mint, and learns nothing of what exists). The key's scope is
    checked once, by the transport (route guard, JSON-RPC or MCP table), except presign's,
    which depends on the request and is checked here."""

    def __init__(self, *, acting: ActingAsUser, storage: ObjectStorage, clock: Clock) -> None:
        self._acting = acting
        self._storage = storage
        self._clock = clock

    async def list_buckets(self, caller: ApiKey, user_id: str) -> list[Bucket]:
        """The user's buckets that the key's policy covers."""
        buckets = await self._acting.call(caller, user_id, self._storage.list_buckets)
        return [b for b in buckets if bucket_allowed(caller, b.name)]

    async def list_objects(
        self,
        caller: ApiKey,
        user_id: str,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        max_keys: int = MAX_KEYS,
        continuation_token: str | None = None,
    ) -> ObjectPage:
        """One page of keys and common prefixes, and the token of the next page."""
        _authorize(caller, bucket)
        if prefix is not None:
            validate_prefix(prefix)
        if delimiter is not None and not 1 <= len(delimiter) <= 1024:
            raise ValidationError("delimiter: 1 to 1024 characters", details={"field": "delimiter"})
        require_between(max_keys, 1, MAX_KEYS, field="maxKeys")
        if continuation_token is not None and len(continuation_token) > CONTINUATION_TOKEN_MAX:
            raise ValidationError(
                "continuationToken is not one S3 issued", details={"field": "continuationToken"}
            )
        return await self._acting.call(
            caller,
            user_id,
            lambda creds: self._storage.list_objects(
                creds,
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                max_keys=max_keys,
                continuation_token=continuation_token,
            ),
        )

    async def open_object(
        self,
        caller: ApiKey,
        user_id: str,
        bucket: str,
        key: str,
        *,
        range_header: str | None = None,
    ) -> ObjectStream:
        """The object's headers; its bytes stream as the caller iterates (then `aclose()`)."""
        _authorize(caller, bucket, key)
        if range_header is not None:
            range_header = served_range(range_header)
        return await self._acting.call(
            caller,
            user_id,
            lambda creds: self._storage.open_object(creds, bucket, key, range_header=range_header),
        )

    async def put_object(
        self,
        caller: ApiKey,
        user_id: str,
        bucket: str,
        key: str,
        body: AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> StoredObject:
        """Stream `body` into the object; a failure leaves no part of it behind."""
        _authorize(caller, bucket, key)
        if content_type is not None:
            validate_content_type(content_type)
        if content_length is not None and content_length < 0:
            raise ValidationError("contentLength: not negative", details={"field": "contentLength"})
        replayable = _Replayable(body, REPLAY_BUDGET)
        etag, version_id = await self._acting.call(
            caller,
            user_id,
            lambda creds: self._storage.put_object(
                creds,
                bucket,
                key,
                replayable.stream(),
                content_type=content_type,
                content_length=content_length,
            ),
            can_retry=replayable.can_replay,
        )
        return StoredObject(bucket=bucket, key=key, etag=etag, version_id=version_id)

    async def delete_object(self, caller: ApiKey, user_id: str, bucket: str, key: str) -> None:
        """Delete the object; deleting one that does not exist succeeds too."""
        _authorize(caller, bucket, key)
        await self._acting.call(
            caller, user_id, lambda creds: self._storage.delete_object(creds, bucket, key)
        )

    async def presign(
        self,
        caller: ApiKey,
        user_id: str,
        bucket: str,
        key: str,
        *,
        method: Literal["GET", "PUT"],
        expires_in: int = PRESIGN_DEFAULT,
    ) -> PresignedUrl:
        """A URL signed with the user's credentials: GET needs `s3:read`, PUT `s3:write`.

        A URL signed with temporary credentials dies with them, so `expires_at` is the earlier
        of the two: what the caller can really count on."""
        if method not in ("GET", "PUT"):
            raise ValidationError("method: GET or PUT", details={"field": "method"})
        # The one scope that depends on the request: the transports cannot check it up front.
        require_scope(caller, Scope.S3_READ if method == "GET" else Scope.S3_WRITE)
        _authorize(caller, bucket, key)
        require_between(expires_in, PRESIGN_MIN, PRESIGN_MAX, field="expiresIn")

        async def sign(creds: AwsCredentials) -> PresignedUrl:
            url = await self._storage.presign(
                creds, bucket, key, method=method, expires_in=expires_in
            )
            asked = self._clock.now() + timedelta(seconds=expires_in)
            return PresignedUrl(url=url, method=method, expires_at=min(asked, creds.expiration))

        # Credentials that would die before the URL are re-minted first (once, single-flight).
        return await self._acting.call(
            caller, user_id, sign, valid_for=timedelta(seconds=expires_in)
        )


def _authorize(caller: ApiKey, bucket: str, key: str | None = None) -> None:
    """The names, then the key's bucket policy (its scope was checked by the transport)."""
    validate_bucket_name(bucket)
    if key is not None:
        validate_object_key(key)
    require_bucket(caller, bucket)


class _Replayable:
    """A request body that remembers its first `budget` bytes, so that it can be sent again
    after a refusal that came before more than that was read. Past the budget, the memory is
    let go (a large upload must not be held twice) and replaying is no longer possible."""

    def __init__(self, source: AsyncIterator[bytes], budget: int) -> None:
        self._source = aiter(source)
        self._budget = budget
        self._seen: list[bytes] | None = []
        self._size = 0

    def can_replay(self) -> bool:
        return self._seen is not None

    def stream(self) -> AsyncIterator[bytes]:
        """The whole body: what was already read (on a replay), then the rest of the source."""
        seen, self._seen, self._size = self._seen or [], [], 0
        return self._read(seen)

    async def _read(self, replayed: list[bytes]) -> AsyncIterator[bytes]:
        for chunk in replayed:
            self._remember(chunk)
            yield chunk
        async for chunk in self._source:
            self._remember(chunk)
            yield chunk

    def _remember(self, chunk: bytes) -> None:
        if self._seen is None:
            return
        self._size += len(chunk)
        if self._size > self._budget:
            self._seen = None
        else:
            self._seen.append(chunk)
