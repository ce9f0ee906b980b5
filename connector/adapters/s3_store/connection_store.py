"""S3ConnectionStore: the ConnectionStore port on S3, one JSON object per connection."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

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
from connector.adapters.s3_store.outbox import S3Outbox
from connector.adapters.s3_store.records import Records
from connector.domain.events import OutboxRecord
from connector.domain.models import Connection, ConnectionStatus
from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import ConnectorError, InternalError, VersionConflictError

log = logging.getLogger(__name__)
_ATTEMPTS = 3
_COUNT_PAGE = 1000  # S3 lists at most 1000 keys a request


class S3ConnectionStore:
    """Versions live in the documents; S3's conditional writes make the check atomic:
    create is `If-None-Match: *`, replace is `If-Match: <ETag of the version read>`.

    Webhook events are stored with the change that produces them: the document written carries
    them, in the same conditional PUT (a refused write stores none). Then they are published to
    the outbox and the document is written once more without them (a change of ETag, not of
    version). A delete that carries events first replaces the connection by a *tombstone*
    holding them (reads see no connection), publishes them, then deletes the tombstone on its
    ETag. Every write that finds events left behind by a writer that died publishes them before
    replacing them, and an intent object written before each such write lets the outbox's next
    poll publish what no later write would (S3Outbox.claim; at least once, never zero times).

    `find_by_sub` reads an index: an empty object per (sub, user id and provider), created if
    absent after each write of the connection (a refresh makes one more small PUT). Entries
    are hints: a lookup reads each connection and keeps it only while its `sub` still matches
    (an account replaced leaves a stale entry behind); `delete` removes the entry after the
    connection. An entry missing after a failure or a delete racing a reconnect is written
    again at the connection's next write (each token refresh is one)."""

    def __init__(self, objects: S3Objects, outbox: S3Outbox) -> None:
        self._objects = objects
        self._outbox = outbox
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
        return None if read is None else read[0].connection

    async def put(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        outbox: Sequence[OutboxRecord] = (),
    ) -> Connection:
        """Create (expected_version None) or replace while the stored version is expected."""
        records = tuple(outbox)
        record_id = connection_id(connection.user_id, connection.provider)
        stored = msgspec.structs.replace(connection, version=(expected_version or 0) + 1)
        body = encode_connection(stored, records)
        intent = await self._outbox.begin(record_id, records) if records else None
        try:
            if expected_version is None:
                etag = await self._create(record_id, body, connection)
            else:
                etag = await self._replace(record_id, body, connection.user_id, expected_version)
        except VersionConflictError:
            if intent is not None:
                await self._outbox.end(intent)  # nothing was written: no event either
            raise
        await self._index(connection.sub, record_id)
        if intent is not None:
            await self._publish(record_id, records, intent, etag, encode_connection(stored))
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
        records = tuple(outbox)
        record_id = connection_id(user_id, provider)
        key = self._records.key(record_id)
        for _ in range(_ATTEMPTS):
            try:
                read = await self._records.read(record_id)
            except InternalError:
                # A corrupted document is deleted all the same; its index entry stays stale.
                deleted = await self._objects.delete(key)
                await self._outbox.publish(records)
                return deleted
            if read is None:
                return False
            document, etag = read
            await self._outbox.publish(document.outbox)  # left by a writer that died
            if document.connection is None:
                await self._drop_tombstone(key, etag)  # an interrupted delete: finish it
                return False
            intent = await self._outbox.begin(record_id, records) if records else None
            try:
                if intent is None:
                    await self._objects.delete(key, if_match=etag)
                else:
                    etag = await self._objects.put(
                        key, encode_connection(None, records), if_match=etag
                    )
            except VersionConflictError:
                if intent is not None:
                    await self._outbox.end(intent)
                continue  # rewritten since the read: read again
            if intent is not None:
                await self._publish(record_id, records, intent, etag, None)
            entry = object_key(
                self._objects.layout.connections_of_sub(document.connection.sub), record_id
            )
            await self._objects.delete(entry)
            return True
        raise VersionConflictError(f"the connection of {user_id!r} kept changing during a delete")

    async def recover(self, older_than: datetime) -> None:
        """Publish the events of intents made before `older_than` whose connection document
        still carries them (their writer died between its write and their publication), and
        forget every such intent."""
        for intent_key, intent in await self._outbox.stale_intents(older_than):
            try:
                read = await self._records.read(intent.connection_id)
            except InternalError as exc:
                log.error("webhook events of an unreadable connection are lost: %s", exc.message)
                read = None
            if read is not None:
                document, etag = read
                carried = {r.id for r in document.outbox}
                if carried and carried >= {r.id for r in intent.records}:
                    stripped = (
                        None
                        if document.connection is None
                        else encode_connection(document.connection)
                    )
                    await self._publish(
                        intent.connection_id, document.outbox, intent_key, etag, stripped
                    )
                    continue
            # Not carried: published already, or the write never happened.
            await self._outbox.end(intent_key)

    async def _create(self, record_id: str, body: bytes, connection: Connection) -> str:
        key = self._records.key(record_id)
        exists = VersionConflictError(
            f"user {connection.user_id!r} already has a connection with {connection.provider!r}"
        )
        for _ in range(_ATTEMPTS):
            try:
                return await self._objects.put(key, body, if_match=None)
            except VersionConflictError:
                pass
            try:
                read = await self._records.read(record_id)
            except InternalError:
                raise exists from None
            if read is None:
                continue  # deleted since: create again
            if read[0].connection is not None:
                raise exists
            # A tombstone: its events are published first, then it is replaced.
            await self._outbox.publish(read[0].outbox)
            try:
                return await self._objects.put(key, body, if_match=read[1])
            except VersionConflictError:
                continue
        raise exists

    async def _replace(
        self, record_id: str, body: bytes, user_id: str, expected_version: int
    ) -> str:
        key = self._records.key(record_id)
        for _ in range(_ATTEMPTS):
            read = await self._records.read(record_id)
            current = None if read is None else read[0].connection
            if read is None or current is None or current.version != expected_version:
                raise _stale(user_id, expected_version)
            await self._outbox.publish(read[0].outbox)  # left by a writer that died
            try:
                return await self._objects.put(key, body, if_match=read[1])
            except VersionConflictError:
                continue  # written since the read (a write of the same version drops events)
        raise _stale(user_id, expected_version)

    async def _publish(
        self,
        record_id: str,
        records: Sequence[OutboxRecord],
        intent: str,
        etag: str,
        stripped: bytes | None,
    ) -> None:
        """Publish the events a document carries, then drop them from it (`stripped`, the
        document without them; None drops a tombstone), then the intent. A failure here fails
        nothing: the change and its events are stored, and the next write of the connection or
        the outbox's next poll publishes them."""
        key = self._records.key(record_id)
        try:
            await self._outbox.publish(records)
            if stripped is None:
                await self._drop_tombstone(key, etag)
            else:
                # Rewritten since: that write published them before replacing them.
                with contextlib.suppress(VersionConflictError):
                    await self._objects.put(key, stripped, if_match=etag)
            await self._outbox.end(intent)
        except ConnectorError as exc:
            log.warning("webhook events wait for the outbox's next poll: %s", exc.message)

    async def _drop_tombstone(self, key: str, etag: str) -> None:
        # Conflict: the user connected again since, and the tombstone is already replaced.
        with contextlib.suppress(VersionConflictError):
            await self._objects.delete(key, if_match=etag)

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
            for document in page:
                if document.connection is not None:  # a tombstone is no connection
                    yield document.connection

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        """How many connections are in each status: reads every connection (S3 has no query),
        so its caller caches the answer (ConnectionCensus, a minute). An unreadable document
        is logged by the walk and not counted."""
        counts = dict.fromkeys(ConnectionStatus, 0)
        async for page in self._records.pages(_COUNT_PAGE, on_unreadable=None):
            for document in page:
                if document.connection is not None:  # a tombstone is no connection
                    counts[document.connection.status] += 1
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
