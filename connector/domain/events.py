"""Connection events for webhooks, and the outbox records that carry them to each endpoint."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec


class EventType(StrEnum):
    """What happened to a user's connection (the `type` of a webhook payload)."""

    CREATED = "connection.created"
    REFRESH_FAILED = "connection.refresh_failed"
    REAUTH_REQUIRED = "connection.reauth_required"
    RECOVERED = "connection.recovered"
    DELETED = "connection.deleted"
    IDENTITY_MISMATCH = "connection.identity_mismatch"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one endpoint. `event_id` is the constant `webhook-id` of every attempt
    (receivers de-duplicate by it); `payload` is the exact JSON text that is signed and sent."""

    id: str
    event_id: str
    endpoint: str
    """The endpoint's URL (its secret stays in the configuration)."""
    type: str
    user_id: str
    payload: str
    created_at: datetime
    next_attempt_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    settled_at: datetime | None = None
    """When it was delivered or given up."""
