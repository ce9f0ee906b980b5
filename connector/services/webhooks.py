"""Signed webhooks on connection events: the records a change writes to the outbox, and the
worker that delivers them out of the request path.

Delivery (one worker per replica, every `poll_seconds`): claim due records under a lease, POST
each one signed afresh per the Standard Webhooks scheme (`webhook-id` constant, a new
`webhook-timestamp` and `webhook-signature` per attempt), settle the outcome. A network error, a
timeout, a 5xx or a 429 is retried with exponential backoff and full jitter (Retry-After
honoured) until `horizon_seconds` after the event, then failed and counted; another 4xx is
failed at once (the receiver refused this message). A replica that dies mid-delivery leaves its
lease to expire: another replica delivers the event again (at least once; receivers de-duplicate
by `webhook-id`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import random
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from connector import metrics
from connector.domain.events import DeliveryStatus, EventType, OutboxRecord
from connector.domain.ports import Clock, Outbox, WebhookSender
from connector.errors import NotFoundError, UpstreamUnavailableError
from connector.webhook_settings import WebhookSettings

log = logging.getLogger(__name__)
_CLAIM_LIMIT = 20
_TOO_MANY = 429
_SERVER_ERROR = 500


def sign(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256>` over
    `<id>.<timestamp>.<body>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode()}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class WebhookEvents:
    """Builds one outbox record per configured endpoint for an event; none without endpoints."""

    def __init__(self, settings: WebhookSettings, clock: Clock) -> None:
        self._urls = tuple(e.url for e in settings.endpoints)
        self._clock = clock

    def records(
        self, event: EventType, user_id: str, data: Mapping[str, Any]
    ) -> list[OutboxRecord]:
        """`data` holds names and states only (never a token): userId is added."""
        if not self._urls:
            return []
        now = self._clock.now()
        event_id = f"msg_{uuid.uuid4().hex}"
        payload = msgspec.json.encode(
            {"type": event.value, "timestamp": _iso(now), "data": {"userId": user_id, **data}}
        ).decode()
        return [
            OutboxRecord(
                id=f"{event_id}_{number}",
                event_id=event_id,
                endpoint=url,
                type=event.value,
                user_id=user_id,
                payload=payload,
                created_at=now,
                next_attempt_at=now,
            )
            for number, url in enumerate(self._urls)
        ]


class WebhookDelivery:
    """The delivery worker of one replica (`run_once` is one poll)."""

    def __init__(
        self,
        outbox: Outbox,
        sender: WebhookSender,
        settings: WebhookSettings,
        clock: Clock,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._settings = settings
        self._clock = clock
        self._jitter = jitter
        self.owner = f"replica-{secrets.token_hex(8)}"

    async def run_once(self) -> int:
        """Claim due records and attempt each; the number attempted."""
        now = self._clock.now()
        lease_until = now + timedelta(seconds=self._settings.lease_seconds)
        claimed = await self._outbox.claim(
            owner=self.owner, now=now, lease_until=lease_until, limit=_CLAIM_LIMIT
        )
        await asyncio.gather(*(self._attempt(record) for record in claimed))
        return len(claimed)

    async def _attempt(self, record: OutboxRecord) -> None:
        settled = self._outcome(record, await self._send(record))
        if not await self._outbox.settle(settled, owner=self.owner):
            # Our lease ran out and another replica took the record: it settles it.
            metrics.WEBHOOK_DELIVERIES.labels("lease_lost").inc()
            return
        metrics.WEBHOOK_DELIVERIES.labels(_OUTCOMES[settled.status]).inc()
        if settled.status is DeliveryStatus.FAILED:
            log.warning(
                "webhook %s (%s) to %s failed for good after %d attempts: %s",
                record.id,
                record.type,
                record.endpoint,
                settled.attempts,
                settled.last_error,
            )

    async def _send(self, record: OutboxRecord) -> tuple[int | None, float | None, str | None]:
        """(status, retry_after, error) of one signed attempt."""
        endpoint = self._settings.endpoint(record.endpoint)
        if endpoint is None:
            return None, None, "endpoint no longer configured"
        timestamp = int(self._clock.now().timestamp())
        body = record.payload.encode()
        headers = {
            "content-type": "application/json",
            "webhook-id": record.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, record.event_id, timestamp, body),
        }
        try:
            answer = await self._sender.send(
                endpoint.url, body, headers, deadline=self._settings.timeout_seconds
            )
        except UpstreamUnavailableError as exc:
            return None, None, exc.message
        return answer.status, answer.retry_after, None

    def _outcome(
        self, record: OutboxRecord, sent: tuple[int | None, float | None, str | None]
    ) -> OutboxRecord:
        status, retry_after, error = sent
        now = self._clock.now()
        attempts = record.attempts + 1
        if status is not None and 200 <= status < 300:
            return msgspec.structs.replace(
                record,
                status=DeliveryStatus.DELIVERED,
                attempts=attempts,
                last_error=None,
                settled_at=now,
            )
        reason = error or f"HTTP {status}"
        retryable = error != "endpoint no longer configured" and (
            status is None or status == _TOO_MANY or status >= _SERVER_ERROR
        )
        next_at = now + timedelta(seconds=self._delay(attempts, retry_after))
        horizon = record.created_at + timedelta(seconds=self._settings.horizon_seconds)
        if not retryable or next_at > horizon:
            return msgspec.structs.replace(
                record,
                status=DeliveryStatus.FAILED,
                attempts=attempts,
                last_error=reason,
                settled_at=now,
            )
        return msgspec.structs.replace(
            record, attempts=attempts, next_attempt_at=next_at, last_error=reason
        )

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        cap = self._settings.max_retry_seconds
        if retry_after is not None:
            return min(max(retry_after, 0.0), cap)
        ceiling = float(min(cap, self._settings.first_retry_seconds * 2 ** (attempts - 1)))
        # Half fixed, half random: spread retries of many events without ever retrying at once.
        return ceiling / 2 + ceiling / 2 * self._jitter()


_OUTCOMES = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "retry",
    DeliveryStatus.FAILED: "failed",
}


class WebhookAdmin:
    """What operators do with the outbox (`connector webhooks list|redeliver`)."""

    def __init__(self, outbox: Outbox, clock: Clock) -> None:
        self._outbox = outbox
        self._clock = clock

    async def list(self, *, limit: int = 100) -> list[OutboxRecord]:
        """The newest records first."""
        return await self._outbox.list(limit=limit)

    async def redeliver(self, record_id: str) -> OutboxRecord:
        """Send a record again (delivered, failed or pending), due now, with its webhook-id."""
        record = await self._outbox.redeliver(record_id, now=self._clock.now())
        if record is None:
            raise NotFoundError(f"no webhook record {record_id!r}")
        return record
