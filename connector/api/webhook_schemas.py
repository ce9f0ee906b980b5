"""A webhook outbox record as `connector webhooks list|redeliver` prints it."""

from __future__ import annotations

from datetime import datetime

from connector.api.schemas import Wire
from connector.domain.events import OutboxRecord


class WebhookRecordView(Wire, omit_defaults=False):
    """The record without its payload (the payload is what the receiver got, names only)."""

    id: str
    event_id: str
    type: str
    user_id: str
    endpoint: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    settled_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, record: OutboxRecord) -> WebhookRecordView:
        return cls(
            id=record.id,
            event_id=record.event_id,
            type=record.type,
            user_id=record.user_id,
            endpoint=record.endpoint,
            status=record.status.value,
            attempts=record.attempts,
            created_at=record.created_at,
            next_attempt_at=record.next_attempt_at,
            settled_at=record.settled_at,
            last_error=record.last_error,
        )
