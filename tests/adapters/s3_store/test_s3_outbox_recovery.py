"""The s3:// store's outbox when a writer dies part-way: events stored with a connection write
are never lost (the next write or the outbox's next poll publishes them), a deleted connection's
tombstone is no connection, and a settled event is never published again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.factories import make_connection
from support.moto_s3 import REGION

from connector.adapters.crypto import FernetCipher
from connector.adapters.s3_store import S3Database
from connector.adapters.s3_store.outbox import S3Outbox
from connector.domain.events import DeliveryStatus, EventType, OutboxRecord
from connector.errors import VersionConflictError

PREFIX = "tenant/connector"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


class Died(BaseException):
    """The process stops here: nothing after this line of the writer runs."""


def event(number: int, user_id: str = "alice") -> OutboxRecord:
    return OutboxRecord(
        id=f"msg_{number:04d}_0",
        event_id=f"msg_{number:04d}",
        endpoint="https://hooks.example/connector",
        type=EventType.CREATED.value,
        user_id=user_id,
        payload=f'{{"n":{number}}}',
        created_at=NOW,
        next_attempt_at=NOW,
    )


@pytest.fixture
async def database(bucket: str) -> AsyncIterator[S3Database]:
    opened = await S3Database.open(f"s3://{bucket}/{PREFIX}", region=REGION)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def cipher() -> FernetCipher:
    return FernetCipher([Fernet.generate_key().decode()])


@pytest.fixture
def dies_once_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first publication never happens: its writer dies just after its connection write."""
    original = S3Outbox.publish
    calls = {"n": 0}

    async def publish(self: S3Outbox, records: Any) -> None:
        if records:
            calls["n"] += 1
            if calls["n"] == 1:
                raise Died
        await original(self, records)

    monkeypatch.setattr(S3Outbox, "publish", publish)


def keys(s3: Any, bucket: str, folder: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/{folder}")
    return [item["Key"] for item in listed.get("Contents", [])]


async def claim(database: S3Database, now: datetime) -> list[OutboxRecord]:
    assert database.outbox is not None
    return await database.outbox.claim(owner="w", now=now, lease_until=now + LEASE, limit=10)


@pytest.mark.usefixtures("dies_once_publishing")
async def test_events_of_a_writer_that_died_are_published_by_a_later_poll(
    database: S3Database, cipher: FernetCipher, s3: Any, bucket: str
) -> None:
    with pytest.raises(Died):
        await database.connections.put(
            make_connection("alice", cipher), expected_version=None, outbox=[event(1)]
        )
    # The change is stored with its event; nothing is pending yet, the intent says where.
    assert await database.connections.get("alice") is not None
    assert keys(s3, bucket, "outbox/pending/") == []
    assert len(keys(s3, bucket, "outbox/intents/")) == 1

    assert await claim(database, NOW) == []  # the writer gets a lease's length to finish
    (claimed,) = await claim(database, NOW + 2 * LEASE + timedelta(seconds=1))
    assert claimed.id == event(1).id
    assert keys(s3, bucket, "outbox/intents/") == []
    body = s3.get_object(Bucket=bucket, Key=keys(s3, bucket, "connections/")[0])["Body"].read()
    assert b"msg_0001" not in body  # published, then dropped from the document


@pytest.mark.usefixtures("dies_once_publishing")
async def test_the_next_write_publishes_events_left_behind_before_replacing_them(
    database: S3Database, cipher: FernetCipher
) -> None:
    with pytest.raises(Died):
        await database.connections.put(
            make_connection("alice", cipher), expected_version=None, outbox=[event(1)]
        )
    stored = await database.connections.get("alice")
    assert stored is not None
    await database.connections.put(stored, expected_version=stored.version)  # a refresh

    assert [r.id for r in await claim(database, NOW)] == [event(1).id]


@pytest.mark.usefixtures("dies_once_publishing")
async def test_a_delete_that_died_leaves_a_tombstone_that_is_no_connection_and_keeps_its_event(
    database: S3Database, cipher: FernetCipher, s3: Any, bucket: str
) -> None:
    connection = make_connection("alice", cipher)
    await database.connections.put(connection, expected_version=None)
    with pytest.raises(Died):
        await database.connections.delete("alice", outbox=[event(2)])

    assert await database.connections.get("alice") is None
    assert [c async for c in database.connections.iterate()] == []
    assert await database.connections.find_by_sub(connection.sub) == []
    assert sum((await database.connections.count_by_status()).values()) == 0
    assert await database.connections.delete("alice") is False

    # The user connects again: the deletion's event is published before the tombstone goes.
    await database.connections.put(connection, expected_version=None, outbox=[event(3)])
    assert sorted(r.id for r in await claim(database, NOW)) == [event(2).id, event(3).id]
    # The dead delete's intent is forgotten by a later poll, and publishes nothing twice.
    assert len(keys(s3, bucket, "outbox/intents/")) == 1
    later = NOW + 3 * LEASE
    assert sorted(r.id for r in await claim(database, later)) == [event(2).id, event(3).id]
    assert keys(s3, bucket, "outbox/intents/") == []
    assert len(keys(s3, bucket, "outbox/pending/")) == 2


async def test_a_refused_write_leaves_no_intent_and_a_delete_leaves_no_tombstone(
    database: S3Database, cipher: FernetCipher, s3: Any, bucket: str
) -> None:
    created = await database.connections.put(
        make_connection("alice", cipher), expected_version=None, outbox=[event(1)]
    )
    with pytest.raises(VersionConflictError):
        await database.connections.put(
            make_connection("alice", cipher), expected_version=None, outbox=[event(2)]
        )
    with pytest.raises(VersionConflictError):
        await database.connections.put(created, expected_version=7, outbox=[event(3)])
    assert keys(s3, bucket, "outbox/intents/") == []
    assert await database.connections.delete("alice", outbox=[event(4)]) is True
    assert keys(s3, bucket, "connections/") == []
    assert keys(s3, bucket, "outbox/intents/") == []
    assert sorted(r.id for r in await claim(database, NOW)) == [event(1).id, event(4).id]


async def test_a_settled_event_is_never_published_again(database: S3Database) -> None:
    outbox = database.outbox
    assert isinstance(outbox, S3Outbox)
    await outbox.publish([event(1)])
    await outbox.publish([event(1)])  # already pending: one record
    (claimed,) = await claim(database, NOW)
    delivered = OutboxRecord(
        **{
            **{f: getattr(claimed, f) for f in claimed.__struct_fields__},
            "status": DeliveryStatus.DELIVERED,
            "attempts": 1,
            "settled_at": NOW,
        }
    )
    assert await outbox.settle(delivered, owner="w") is True

    await outbox.publish([event(1)])
    assert await claim(database, NOW + LEASE * 3) == []
    assert await outbox.list() == [delivered]
