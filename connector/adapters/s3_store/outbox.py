"""S3Outbox: the Outbox port in the store's bucket, one JSON object per record.

A record waits under `outbox/pending/` with its lease inside the object; every change of it is a
conditional write on the ETag it was read at, so of two replicas claiming or settling one record
exactly one succeeds. Once delivered or given up it moves to `outbox/settled/` (written there,
then deleted from pending on the same ETag), so a poll lists only what still waits.

Events reach the outbox through a connection write: the connection document carries them (one
conditional PUT stores the change and its events together, see S3ConnectionStore), then they are
*published* here. `publish` is idempotent: a record already pending or already settled is left
alone. An *intent* object, written before such a connection write, lets a later poll publish the
events of a writer that died between its write and its publication.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from connector.adapters.s3_store.codec import (
    IntentDocument,
    OutboxDocument,
    decode_intent,
    decode_outbox,
    encode_intent,
    encode_outbox,
)
from connector.adapters.s3_store.objects import S3Objects
from connector.adapters.s3_store.records import Records
from connector.domain.events import DeliveryStatus, OutboxRecord
from connector.errors import InternalError, VersionConflictError

log = logging.getLogger(__name__)
_FORMAT: Literal[1] = 1
_PAGE = 1000
_ATTEMPTS = 5

# Publishes the events of intents older than the given moment (S3ConnectionStore.recover).
Recover = Callable[[datetime], Awaitable[None]]


class S3Outbox:
    """See the module docstring. Costs: a poll is one listing of the pending folder and one of
    the intents folder (each empty in the steady state) plus one GET per waiting record;
    `list` reads every record, pending and settled (an operator's command, not a hot path)."""

    def __init__(self, objects: S3Objects) -> None:
        self._objects = objects
        layout = objects.layout
        self._pending = Records(objects, layout.outbox_pending, decode_outbox, noun="outbox record")
        self._settled = Records(objects, layout.outbox_settled, decode_outbox, noun="outbox record")
        self._intents = Records(objects, layout.outbox_intents, decode_intent, noun="intent")
        self._recover: Recover | None = None

    def recover_with(self, recover: Recover) -> None:
        """Set what `claim` calls to publish the events of stale intents."""
        self._recover = recover

    async def add(self, records: Sequence[OutboxRecord]) -> None:
        for record in records:
            document = OutboxDocument(_FORMAT, record)
            try:
                await self._objects.put(
                    self._pending.key(record.id), encode_outbox(document), if_match=None
                )
            except VersionConflictError:
                raise ValueError(f"duplicate outbox id {record.id}") from None

    async def publish(self, records: Sequence[OutboxRecord]) -> None:
        """Make each record pending unless it already is, or was already settled (at least
        once: a record settled between the two checks is delivered again)."""
        for record in records:
            if await self._objects.etag(self._settled.key(record.id)) is not None:
                continue
            try:
                await self.add([record])
            except ValueError:
                continue  # already pending

    async def begin(self, connection_id: str, records: Sequence[OutboxRecord]) -> str:
        """Write the intent of a connection write carrying `records`; its key."""
        key = self._intents.key(records[0].id)
        await self._objects.put(key, encode_intent(connection_id, tuple(records)), if_match=None)
        return key

    async def end(self, intent_key: str) -> None:
        """Forget an intent whose events are published (or whose write never happened)."""
        await self._objects.delete(intent_key)

    async def stale_intents(self, older_than: datetime) -> list[tuple[str, IntentDocument]]:
        """Intents (key, document) whose events were made before `older_than`."""
        found: list[tuple[str, IntentDocument]] = []
        async for page in self._intents.pages(_PAGE):
            for intent in page:
                if intent.records and intent.records[0].created_at < older_than:
                    found.append((self._intents.key(intent.records[0].id), intent))
        return found

    async def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxRecord]:
        if self._recover is not None:
            # A writer that died mid-way is given a lease's length to finish on its own.
            await self._recover(now - (lease_until - now))
        waiting = [stored for stored in await self._read_all(self._pending) if stored is not None]
        due: list[tuple[OutboxDocument, str]] = []
        for document, etag in waiting:
            if document.record.status is not DeliveryStatus.PENDING:
                await self._move_settled(document, etag)  # a settle interrupted mid-move
            elif document.record.next_attempt_at <= now and (
                document.lease_until is None or document.lease_until < now
            ):
                due.append((document, etag))
        due.sort(key=lambda item: (item[0].record.next_attempt_at, item[0].record.id))
        claimed: list[OutboxRecord] = []
        for document, etag in due:
            if len(claimed) == limit:
                break
            leased = msgspec.structs.replace(document, lease_owner=owner, lease_until=lease_until)
            try:
                await self._objects.put(
                    self._pending.key(document.record.id), encode_outbox(leased), if_match=etag
                )
            except VersionConflictError:
                continue  # another replica took (or settled) it first
            claimed.append(document.record)
        return claimed

    async def settle(self, record: OutboxRecord, *, owner: str) -> bool:
        read = await self._pending.read(record.id)
        if read is None or read[0].lease_owner != owner:
            return False
        stored, etag = read
        settled = OutboxDocument(_FORMAT, _with_state(stored.record, record))
        try:
            etag = await self._objects.put(
                self._pending.key(record.id), encode_outbox(settled), if_match=etag
            )
        except VersionConflictError:
            return False
        if settled.record.status is not DeliveryStatus.PENDING:
            await self._move_settled(settled, etag)
        return True

    async def redeliver(self, record_id: str, *, now: datetime) -> OutboxRecord | None:
        for _ in range(_ATTEMPTS):
            read = await self._pending.read(record_id)
            if read is not None:
                again = OutboxDocument(_FORMAT, _reset(read[0].record, now))
                try:
                    await self._objects.put(
                        self._pending.key(record_id), encode_outbox(again), if_match=read[1]
                    )
                except VersionConflictError:
                    continue
                return again.record
            settled = await self._settled.read(record_id)
            if settled is None:
                return None
            again = OutboxDocument(_FORMAT, _reset(settled[0].record, now))
            try:
                await self._objects.put(
                    self._pending.key(record_id), encode_outbox(again), if_match=None
                )
            except VersionConflictError:
                continue
            await self._objects.delete(self._settled.key(record_id))
            return again.record
        raise VersionConflictError(f"outbox record {record_id!r} kept changing")

    async def get(self, record_id: str) -> OutboxRecord | None:
        for records in (self._pending, self._settled):
            read = await records.read(record_id)
            if read is not None:
                return read[0].record
        return None

    async def list(self, *, limit: int = 100) -> list[OutboxRecord]:
        by_id: dict[str, OutboxRecord] = {}
        # Settled first: a record caught mid-move is shown in its pending (newer) state.
        for records in (self._settled, self._pending):
            for stored in await self._read_all(records):
                if stored is not None:
                    by_id[stored[0].record.id] = stored[0].record
        newest = sorted(by_id.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        return newest[:limit]

    async def _move_settled(self, document: OutboxDocument, etag: str) -> None:
        record = document.record
        await self._objects.put_unconditionally(
            self._settled.key(record.id), encode_outbox(document)
        )
        try:
            await self._objects.delete(self._pending.key(record.id), if_match=etag)
        except VersionConflictError:
            log.info("outbox record %s changed while it moved to settled", record.id)

    async def _read_all(
        self, records: Records[OutboxDocument]
    ) -> builtins.list[tuple[OutboxDocument, str] | None]:
        keys: builtins.list[str] = []
        after: str | None = None
        while True:
            page, more = await self._objects.list_keys(records.folder, after=after, limit=_PAGE)
            keys.extend(page)
            if not more or not page:
                break
            after = page[-1]
        ids = [records.id_of(key) for key in keys]
        return list(await asyncio.gather(*(_read_or_skip(records, i) for i in ids if i)))


async def _read_or_skip(
    records: Records[OutboxDocument], record_id: str
) -> tuple[OutboxDocument, str] | None:
    # One damaged record must not stop every delivery: it is logged and left where it is.
    try:
        return await records.read(record_id)
    except InternalError as exc:
        log.error("skipped an outbox record: %s", exc.message)
        return None


def _with_state(stored: OutboxRecord, outcome: OutboxRecord) -> OutboxRecord:
    """The stored record with the state fields of `outcome` (what SQL's settle updates)."""
    return msgspec.structs.replace(
        stored,
        status=outcome.status,
        attempts=outcome.attempts,
        next_attempt_at=outcome.next_attempt_at,
        last_error=outcome.last_error,
        settled_at=outcome.settled_at,
    )


def _reset(record: OutboxRecord, now: datetime) -> OutboxRecord:
    return msgspec.structs.replace(
        record,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error=None,
        settled_at=None,
    )
