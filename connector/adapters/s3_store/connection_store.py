"""S3ConnectionStore: the ConnectionStore port on S3, one JSON object per connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import msgspec

from connector.adapters.s3_store.codec import decode_connection, encode_connection
from connector.adapters.s3_store.layout import CONNECTIONS, connection_id
from connector.adapters.s3_store.objects import S3Objects
from connector.adapters.s3_store.records import Records
from connector.domain.models import Connection
from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import VersionConflictError


class S3ConnectionStore:
    """Versions live in the documents; S3's conditional writes make the check atomic:
    create is `If-None-Match: *`, replace is `If-Match: <ETag of the version read>`."""

    def __init__(self, objects: S3Objects) -> None:
        self._records = Records(
            objects,
            objects.layout.connections,
            decode_connection,
            noun="connection of user",
            remedy="; the user can then connect again",
            naming=CONNECTIONS,
        )

    async def get(self, user_id: str, provider: str = DEFAULT_PROVIDER) -> Connection | None:
        """The user's connection with `provider`, or None; a document that does not decode is
        INTERNAL_ERROR for this connection alone."""
        read = await self._records.read(connection_id(user_id, provider))
        return None if read is None else read[0]

    async def put(self, connection: Connection, *, expected_version: int | None) -> Connection:
        """Create (expected_version None) or replace while the stored version is expected."""
        user_id = connection.user_id
        record_id = connection_id(user_id, connection.provider)
        etag: str | None = None
        if expected_version is not None:
            read = await self._records.read(record_id)
            if read is None or read[0].version != expected_version:
                raise _stale(user_id, expected_version)
            etag = read[1]
        stored = msgspec.structs.replace(connection, version=(expected_version or 0) + 1)
        body = encode_connection(stored)
        try:
            await self._records.objects.put(self._records.key(record_id), body, if_match=etag)
        except VersionConflictError as exc:
            if expected_version is None:
                raise VersionConflictError(
                    f"user {user_id!r} already has a connection with {connection.provider!r}"
                ) from exc
            raise _stale(user_id, expected_version) from exc
        return stored

    async def delete(self, user_id: str, provider: str = DEFAULT_PROVIDER) -> bool:
        """Remove the user's connection with `provider`; True if there was one. Reads no
        document, so a corrupted one can always be deleted (POST /disconnect)."""
        return await self._records.objects.delete(
            self._records.key(connection_id(user_id, provider))
        )

    async def iterate(
        self, *, page_size: int = 100, on_unreadable: Callable[[str], None] | None = None
    ) -> AsyncIterator[Connection]:
        """Every stored connection, ordered by user id, one listing page at a time. An
        unreadable document is logged, reported to `on_unreadable` and skipped, so one damaged
        record never stops `connector reencrypt` for everyone else."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        async for page in self._records.pages(page_size, on_unreadable=on_unreadable):
            for connection in page:
                yield connection

    async def ping(self) -> None:
        """Raise unless the bucket answers a listing under the prefix."""
        await self._records.objects.check_bucket()

    async def close(self) -> None:
        """Stop the store's AWS thread pool (closing twice is harmless)."""
        self._records.objects.close()


def _stale(user_id: str, expected_version: int) -> VersionConflictError:
    return VersionConflictError(
        f"the connection of {user_id!r} is not at version {expected_version}"
    )
