"""`connector webhooks list|redeliver` as operators run them, on an outbox with one failed event."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from connector.adapters.sql import SqlDatabase
from connector.domain.events import DeliveryStatus, EventType, OutboxRecord

WHEN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        [sys.executable, "-m", "connector", *args],
        env={"PATH": "/usr/bin:/bin", "CONNECTOR_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def seed(url: str) -> None:
    database = SqlDatabase.from_url(url)
    try:
        await database.migrate()
        assert database.outbox is not None
        await database.outbox.add(
            [
                OutboxRecord(
                    id="msg_abc_0",
                    event_id="msg_abc",
                    endpoint="https://hooks.example/in",
                    type=EventType.REAUTH_REQUIRED.value,
                    user_id="alice",
                    payload="{}",
                    created_at=WHEN,
                    next_attempt_at=WHEN,
                    status=DeliveryStatus.FAILED,
                    attempts=12,
                    last_error="HTTP 503",
                    settled_at=WHEN,
                )
            ]
        )
    finally:
        await database.close()


def test_webhooks_list_and_redeliver(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {
        "CONNECTOR_DATABASE_URL": url,
        "CONNECTOR_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    asyncio.run(seed(url))

    listed = run(env, "webhooks", "list")
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert (record["id"], record["eventId"], record["status"], record["attempts"]) == (
        "msg_abc_0",
        "msg_abc",
        "failed",
        12,
    )
    assert record["type"] == "connection.reauth_required"
    assert "payload" not in record

    again = run(env, "webhooks", "redeliver", "msg_abc_0")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "pending"
    assert json.loads(again.stdout)["attempts"] == 0

    unknown = run(env, "webhooks", "redeliver", "msg_nope")
    assert unknown.returncode == 1
    assert "NOT_FOUND" in unknown.stderr
