"""S3ConnectionStore: the ConnectionStore port on S3, one JSON object per connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence

import msgspec

from connector.adapters.s3_store.codec import decode_connection, encode_connection
from connector.adapters.s3_store.layout import (
    CONNECTIONS,
    connection_id,
    id_of,
    object_key,
    split_connection_id,
)
from connector.adapters.s3_store.objects import S3Objects
from connector.adapters.s3_store.records import Records
from connector.domain.events import OutboxRecord
from connector.domain.models import Connection, ConnectionStatus
from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import ConnectorError, InternalError, VersionConflictError

log = logging.getLogger(__name__)
_COUNT_PAGE = 1000  # S3 lists at most 1000 keys a request


class S3ConnectionStore:
    """Versions live in the documents; S3's conditional writes make the check atomic:
    create is `If-None-Match: *`, replace is `If-Match: <ETag of the version read>`.

    `find_by_sub` reads an index: an empty object per (sub, user id and provider), created if
    absent after each write of the connection (a refresh makes one more small PUT). Entries
    are hints: a lookup reads each connection and keeps it only while its `sub` still matches
    (an account replaced leaves a stale entry behind); `delete` removes the entry after the
    connection. An entry missing after a failure or a delete racing a reconnect is written
    again at the connection's next write (each token refresh is one)."""

    def __init__(self, objects: S3Objects) -> None:
        self._objects = objects
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

    async def put(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        outbox: Sequence[OutboxRecord] = (),
    ) -> Connection:
        """Create (expected_version None) or replace while the stored version is expected."""
        _refuse_events(outbox)
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
        await self._index(connection.sub, record_id)
        return stored

    async def delete(
        self,
        user_id: str,
        provider: str = DEFAULT_PROVIDER,
        *,
        outbox: Sequence[OutboxRecord] = (),
    ) -> bool:
        """Remove the user's connection with `provider` and its index entry; True if there was
        one. A document that does not decode is deleted all the same (POST /disconnect)."""
        _refuse_events(outbox)
        record_id = connection_id(user_id, provider)
        try:
            read = await self._records.read(record_id)
        except InternalError:
            read = None  # a corrupted document is deleted all the same; its entry stays stale
        deleted = await self._records.objects.delete(self._records.key(record_id))
        if read is not None:
            entry = object_key(self._objects.layout.connections_of_sub(read[0].sub), record_id)
            await self._objects.delete(entry)
        return deleted

    async def find_by_sub(
        self, sub: str, provider: str = DEFAULT_PROVIDER, *, limit: int = 2
    ) -> list[Connection]:
        """The connections of `provider` holding this Cognito account, by user id (see the
        class)."""
        folder = self._objects.layout.connections_of_sub(sub)
        found: list[Connection] = []
        after: str | None = None
        while len(found) < limit:
            keys, more = await self._objects.list_keys(folder, after=after, limit=100)
            for key in keys:
                record_id = id_of(folder, key)
                if record_id is None:
                    continue
                user_id, of_provider = split_connection_id(record_id)
                if of_provider != provider:
                    continue
                connection = await self.get(user_id, provider)
                if connection is not None and connection.sub == sub:
                    found.append(connection)
                if len(found) == limit:
                    break
            if not more or not keys:
                break
            after = keys[-1]
        return found

    async def _index(self, sub: str, record_id: str) -> None:
        """Create the index entry if absent. Its failure fails nothing: the connection is
        stored, and the entry is written again at its next write (each token refresh)."""
        key = object_key(self._objects.layout.connections_of_sub(sub), record_id)
        try:
            await self._objects.put(key, b"{}", if_match=None)
        except VersionConflictError:
            return  # already indexed
        except ConnectorError as exc:
            log.warning("could not index the connection of a user by sub: %s", exc.message)

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

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        """How many connections are in each status: reads every connection (S3 has no query),
        so its caller caches the answer (ConnectionCensus, a minute). An unreadable document
        is logged by the walk and not counted."""
        counts = dict.fromkeys(ConnectionStatus, 0)
        async for page in self._records.pages(_COUNT_PAGE, on_unreadable=None):
            for connection in page:
                counts[connection.status] += 1
        return counts

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


def _refuse_events(outbox: Sequence[OutboxRecord]) -> None:
    # The s3:// store has no outbox yet; bootstrap refuses webhooks with it at start-up, so
    # reaching this is a wiring error, never a silently dropped event.
    if outbox:
        raise ValueError("the s3:// store keeps no webhook outbox")
