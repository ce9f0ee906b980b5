"""The Outbox contract (ports.py), run against every adapter (SQL, S3, the fake), and
the ConnectionStore half of it: outbox records are stored with a connection change or not at all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from test_connection_store import make_connection

from connector.bootstrap import Database
from connector.domain.events import DeliveryStatus, EventType, OutboxRecord
from connector.domain.ports import Outbox
from connector.errors import VersionConflictError

NOW = datetime(2026, 12, 5, 9, 0, 0, 250000, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def record(number: int, *, due: datetime = NOW, **overrides: object) -> OutboxRecord:
    fields: dict[str, object] = {
        "id": f"rec_{number:04d}",
        "event_id": f"msg_{number:04d}",
        "endpoint": "https://hooks.example/connector",
        "type": EventType.CREATED.value,
        "user_id": f"user-{number}",
        "payload": f'{{"type":"connection.created","n":{number}}}',
        "created_at": NOW - timedelta(seconds=number),
        "next_attempt_at": due,
    }
    fields.update(overrides)
    return OutboxRecord(**fields)  # type: ignore[arg-type]


def outbox_of(database: Database) -> Outbox:
    assert database.outbox is not None
    return database.outbox


async def test_an_added_record_reads_back_field_for_field(outbox_database: Database) -> None:
    outbox = outbox_of(outbox_database)
    written = record(1, last_error=None)
    await outbox.add([written])
    assert await outbox.get(written.id) == written
    assert await outbox.list() == [written]
    assert await outbox.get("rec_missing") is None


async def test_claim_leases_due_pending_records_oldest_due_first_up_to_the_limit(
    outbox_database: Database,
) -> None:
    outbox = outbox_of(outbox_database)
    await outbox.add(
        [
            record(1, due=NOW - timedelta(seconds=5)),
            record(2, due=NOW - timedelta(seconds=10)),
            record(3, due=NOW + timedelta(seconds=1)),  # not due yet
            record(4, due=NOW - timedelta(seconds=1), status=DeliveryStatus.DELIVERED),
            record(5, due=NOW - timedelta(seconds=2), status=DeliveryStatus.FAILED),
            record(6, due=NOW),
        ]
    )
    first = await outbox.claim(owner="a", now=NOW, lease_until=NOW + LEASE, limit=2)
    assert [r.id for r in first] == ["rec_0002", "rec_0001"]
    rest = await outbox.claim(owner="b", now=NOW, lease_until=NOW + LEASE, limit=10)
    assert [r.id for r in rest] == ["rec_0006"]  # the others are leased, settled or not due


async def test_two_claimers_at_once_never_hold_the_same_record(outbox_database: Database) -> None:
    outbox = outbox_of(outbox_database)
    await outbox.add([record(n) for n in range(1, 21)])
    claims = await asyncio.gather(
        *(
            outbox.claim(owner=owner, now=NOW, lease_until=NOW + LEASE, limit=20)
            for owner in ("a", "b", "c")
        )
    )
    ids = [r.id for claim in claims for r in claim]
    assert sorted(ids) == sorted(set(ids))
    assert len(ids) == 20


async def test_an_expired_lease_passes_to_another_claimer_and_the_first_cannot_settle(
    outbox_database: Database,
) -> None:
    outbox = outbox_of(outbox_database)
    await outbox.add([record(1)])
    (taken,) = await outbox.claim(owner="a", now=NOW, lease_until=NOW + LEASE, limit=5)
    assert (
        await outbox.claim(owner="b", now=NOW + LEASE / 2, lease_until=NOW + LEASE, limit=5) == []
    )
    later = NOW + LEASE + timedelta(seconds=1)
    (again,) = await outbox.claim(owner="b", now=later, lease_until=later + LEASE, limit=5)
    assert again.event_id == taken.event_id
    delivered = msgspec.structs.replace(
        taken, status=DeliveryStatus.DELIVERED, attempts=1, settled_at=later
    )
    assert await outbox.settle(delivered, owner="a") is False
    assert await outbox.settle(delivered, owner="b") is True
    assert await outbox.get(taken.id) == delivered


async def test_a_settled_retry_is_claimable_when_due_and_a_settled_delivery_never_again(
    outbox_database: Database,
) -> None:
    outbox = outbox_of(outbox_database)
    await outbox.add([record(1), record(2)])
    one, two = await outbox.claim(owner="a", now=NOW, lease_until=NOW + LEASE, limit=5)
    retry_at = NOW + timedelta(seconds=8)
    await outbox.settle(
        msgspec.structs.replace(one, attempts=1, next_attempt_at=retry_at, last_error="HTTP 503"),
        owner="a",
    )
    await outbox.settle(
        msgspec.structs.replace(two, status=DeliveryStatus.DELIVERED, attempts=1, settled_at=NOW),
        owner="a",
    )
    assert await outbox.claim(owner="b", now=NOW, lease_until=NOW + LEASE, limit=5) == []
    (due,) = await outbox.claim(owner="b", now=retry_at, lease_until=retry_at + LEASE, limit=5)
    assert (due.id, due.attempts, due.last_error) == (one.id, 1, "HTTP 503")


async def test_redeliver_puts_a_failed_record_back_due_now(outbox_database: Database) -> None:
    outbox = outbox_of(outbox_database)
    failed = record(1, status=DeliveryStatus.FAILED, attempts=9, last_error="gave up")
    await outbox.add([failed])
    later = NOW + timedelta(hours=2)
    again = await outbox.redeliver(failed.id, now=later)
    assert again is not None
    assert (again.status, again.attempts, again.next_attempt_at) == (
        DeliveryStatus.PENDING,
        0,
        later,
    )
    assert again.event_id == failed.event_id  # the same webhook-id: receivers de-duplicate
    assert await outbox.redeliver("rec_missing", now=later) is None
    (claimed,) = await outbox.claim(owner="a", now=later, lease_until=later + LEASE, limit=5)
    assert claimed.id == failed.id


async def test_outbox_records_are_stored_with_a_connection_change_or_not_at_all(
    outbox_database: Database,
) -> None:
    store, outbox = outbox_database.connections, outbox_of(outbox_database)
    created = await store.put(make_connection("alice"), expected_version=None, outbox=[record(1)])
    with pytest.raises(VersionConflictError):
        await store.put(make_connection("alice"), expected_version=None, outbox=[record(2)])
    with pytest.raises(VersionConflictError):
        await store.put(created, expected_version=created.version + 5, outbox=[record(3)])
    await store.put(created, expected_version=created.version, outbox=[record(4)])
    assert await store.delete("nobody", outbox=[record(5)]) is False
    assert await store.delete("alice", outbox=[record(6)]) is True
    assert sorted(r.id for r in await outbox.list()) == ["rec_0001", "rec_0004", "rec_0006"]
