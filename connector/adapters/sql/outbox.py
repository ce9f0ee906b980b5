"""SqlOutbox: the Outbox port on the `webhook_outbox` table. Leases are taken one row at a time
by a conditional UPDATE, so two replicas never hold one record, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import RowMapping, insert, or_, select, update

from connector.adapters.sql.tables import webhook_outbox
from connector.domain.events import DeliveryStatus, OutboxRecord

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from connector.adapters.sql.database import SqlDatabase

_PENDING = DeliveryStatus.PENDING.value


class SqlOutbox:
    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def add(self, records: Sequence[OutboxRecord]) -> None:
        if records:
            await self._database.write(lambda conn: add_records(conn, records))

    async def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxRecord]:
        table = webhook_outbox
        free = or_(table.c.lease_until.is_(None), table.c.lease_until < now)
        due = (
            select(table.c.id)
            .where(table.c.status == _PENDING, table.c.next_attempt_at <= now, free)
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(limit)
        )

        async def take(conn: AsyncConnection) -> list[OutboxRecord]:
            ids = (await conn.execute(due)).scalars().all()
            claimed: list[OutboxRecord] = []
            for record_id in ids:
                # Re-checked in the UPDATE itself: of two claimers, one changes the row.
                taken = await conn.execute(
                    update(table)
                    .where(table.c.id == record_id, table.c.status == _PENDING, free)
                    .values(lease_owner=owner, lease_until=lease_until)
                )
                if taken.rowcount == 1:
                    row = (await conn.execute(select(table).where(table.c.id == record_id))).one()
                    claimed.append(_record_from(row._mapping))
            return claimed

        return await self._database.write(take)

    async def settle(self, record: OutboxRecord, *, owner: str) -> bool:
        table = webhook_outbox
        statement = (
            update(table)
            .where(table.c.id == record.id, table.c.lease_owner == owner)
            .values(**_state_of(record), lease_owner=None, lease_until=None)
        )
        result = await self._database.write(lambda conn: conn.execute(statement))
        return bool(result.rowcount == 1)

    async def redeliver(self, record_id: str, *, now: datetime) -> OutboxRecord | None:
        table = webhook_outbox
        statement = (
            update(table)
            .where(table.c.id == record_id)
            .values(
                status=_PENDING,
                attempts=0,
                next_attempt_at=now,
                last_error=None,
                settled_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )
        await self._database.write(lambda conn: conn.execute(statement))
        return await self.get(record_id)

    async def get(self, record_id: str) -> OutboxRecord | None:
        query = select(webhook_outbox).where(webhook_outbox.c.id == record_id)
        result = await self._database.read(lambda conn: conn.execute(query))
        row = result.mappings().first()
        return None if row is None else _record_from(row)

    async def list(self, *, limit: int = 100) -> list[OutboxRecord]:
        table = webhook_outbox
        query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
        result = await self._database.read(lambda conn: conn.execute(query))
        return [_record_from(row) for row in result.mappings().all()]


async def add_records(conn: AsyncConnection, records: Sequence[OutboxRecord]) -> None:
    """Insert records on `conn`: inside the caller's transaction (a connection write's)."""
    if records:
        await conn.execute(insert(webhook_outbox), [_values_of(r) for r in records])


def _state_of(record: OutboxRecord) -> dict[str, Any]:
    return {
        "status": record.status.value,
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at,
        "last_error": record.last_error,
        "settled_at": record.settled_at,
    }


def _values_of(record: OutboxRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "event_id": record.event_id,
        "endpoint": record.endpoint,
        "type": record.type,
        "user_id": record.user_id,
        "payload": record.payload,
        "created_at": record.created_at,
        **_state_of(record),
        "lease_owner": None,
        "lease_until": None,
    }


def _record_from(row: RowMapping) -> OutboxRecord:
    return OutboxRecord(
        id=row["id"],
        event_id=row["event_id"],
        endpoint=row["endpoint"],
        type=row["type"],
        user_id=row["user_id"],
        payload=row["payload"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        settled_at=row["settled_at"],
    )
