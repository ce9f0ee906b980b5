"""Signed webhooks end to end: connection events reach a real HTTP receiver that verifies each
delivery with the `standardwebhooks` library; a failing receiver is retried until it recovers;
a black-holed one holds only the delivery worker; a replica that dies mid-delivery leaves the
event to another, which delivers it (at least once, one webhook-id)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY
from support.moto_s3 import admin_client, in_process_s3, make_conditional_writes_atomic, new_bucket
from support.oauth_world import CognitoWorld, Instance, make_world, world_settings
from support.servers import BlackHole
from support.webhook_receiver import SECRET, Receiver, running_receiver

from connector.domain.events import DeliveryStatus
from connector.sandbox.hosted_ui import KeySet
from connector.services.webhooks import WebhookAdmin, WebhookDelivery

TOKEN_MARKERS = ("eyJ", "accessToken", "refreshToken", "idToken", "sealed")


@pytest.fixture(scope="module")
def pool_keys() -> KeySet:
    return KeySet.generate()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def webhook_env(url: str, **extra: str) -> dict[str, str]:
    return {"CONNECTOR_WEBHOOK_URL": url, "CONNECTOR_WEBHOOK_SECRET": SECRET, **extra}


@pytest.fixture
async def world(
    tmp_path: Path, pool_keys: KeySet, receiver: Receiver, request: pytest.FixtureRequest
) -> AsyncIterator[CognitoWorld]:
    extra: dict[str, str] = getattr(request, "param", {})
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        **webhook_env(receiver.url, **extra),
    )
    async with AsyncExitStack() as stack:
        yield make_world(stack, pool_keys, settings)


def worker(replica: Instance) -> WebhookDelivery:
    assert replica.container.webhooks is not None
    return replica.container.webhooks


def admin(replica: Instance) -> WebhookAdmin:
    made = replica.container.webhook_admin()
    assert made is not None
    return made


def delivered_count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("connector_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


async def test_a_connection_lifecycle_delivers_each_event_signed_and_verified(
    world: CognitoWorld, receiver: Receiver
) -> None:
    await deliver_a_lifecycle(world, receiver)


async def test_on_the_s3_store_a_connection_lifecycle_delivers_each_event_once(
    monkeypatch: pytest.MonkeyPatch, pool_keys: KeySet, receiver: Receiver
) -> None:
    make_conditional_writes_atomic(monkeypatch)
    with in_process_s3(monkeypatch):
        bucket = new_bucket(admin_client())
        settings = world_settings(
            f"s3://{bucket}/connector",
            "memory://",
            Fernet.generate_key().decode(),
            **webhook_env(receiver.url),
        )
        async with AsyncExitStack() as stack:
            await deliver_a_lifecycle(make_world(stack, pool_keys, settings), receiver)
            # Every event was published and dropped from the documents; nothing is left over.
            listed = admin_client().list_objects_v2(Bucket=bucket, Prefix="connector/")
            keys = [item["Key"] for item in listed.get("Contents", [])]
            assert not [k for k in keys if "/outbox/pending/" in k or "/outbox/intents/" in k]
            assert len([k for k in keys if "/outbox/settled/" in k]) == 4
            assert not [k for k in keys if "/connections/" in k]  # the tombstone is gone too


async def deliver_a_lifecycle(world: CognitoWorld, receiver: Receiver) -> None:
    """Connect, lose the refresh token, reconnect, disconnect: four events, each delivered
    once, signed and verified."""
    replica = await world.instance()
    key = await world.key(replica)
    assert (await world.connect(replica, key)).status_code == 302
    connections = replica.container.services.connections
    await connections.mark_reauth_required(await connections.get("alice"))
    assert (await world.connect(replica, key)).status_code == 302
    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    assert (await replica.client.post("/disconnect", headers=headers)).status_code == 200

    assert await worker(replica).run_once() == 4

    # One poll delivers them concurrently: the receiver orders by the payload's timestamp.
    types = sorted(d.payload["type"] for d in receiver.deliveries)
    assert types == [
        "connection.created",
        "connection.deleted",
        "connection.reauth_required",
        "connection.recovered",
    ]
    assert all(d.verified and d.status == 200 for d in receiver.deliveries)
    assert len({d.webhook_id for d in receiver.deliveries}) == 4
    (created,) = [
        d.payload for d in receiver.deliveries if d.payload["type"] == "connection.created"
    ]
    assert set(created) == {"type", "timestamp", "data"}
    assert created["data"]["userId"] == "alice"
    assert created["data"]["status"] == "active"
    assert "provider" in created["data"]
    for delivery in receiver.deliveries:
        assert not any(marker in str(delivery.payload) for marker in TOKEN_MARKERS)
    records = await admin(replica).list()
    assert {r.status for r in records} == {DeliveryStatus.DELIVERED}
    assert await worker(replica).run_once() == 0  # nothing is delivered twice


async def test_a_failing_receiver_is_retried_with_the_same_id_until_it_recovers(
    world: CognitoWorld, receiver: Receiver
) -> None:
    replica = await world.instance()
    await world.connect(replica, await world.key(replica))
    receiver.fail_next(503, times=2)
    receiver.fail_next(429, **{"Retry-After": "7"})
    delivery, outbox = worker(replica), admin(replica)

    assert await delivery.run_once() == 1
    (record,) = await outbox.list()
    assert (record.status, record.attempts, record.last_error) == (
        DeliveryStatus.PENDING,
        1,
        "HTTP 503",
    )
    first_delay = record.next_attempt_at - world.clock.now()
    assert timedelta(seconds=1) <= first_delay <= timedelta(seconds=2)  # 2 s, half jittered
    assert await delivery.run_once() == 0  # not due yet

    world.clock.advance(2)
    assert await delivery.run_once() == 1  # 503 again: 2 to 4 s
    world.clock.advance(4)
    assert await delivery.run_once() == 1  # 429 with Retry-After: 7
    (record,) = await outbox.list()
    assert record.next_attempt_at - world.clock.now() == timedelta(seconds=7)
    world.clock.advance(7)
    assert await delivery.run_once() == 1

    (record,) = await outbox.list()
    assert (record.status, record.attempts) == (DeliveryStatus.DELIVERED, 4)
    assert [d.status for d in receiver.deliveries] == [503, 503, 429, 200]
    assert len({d.webhook_id for d in receiver.deliveries}) == 1
    assert len({d.timestamp for d in receiver.deliveries}) == 4  # signed afresh each time
    assert len({d.signature for d in receiver.deliveries}) == 4
    assert all(d.verified for d in receiver.deliveries)


@pytest.mark.parametrize("world", [{"CONNECTOR_WEBHOOK_HORIZON": "3"}], indirect=True)
async def test_past_the_horizon_an_event_is_failed_counted_and_can_be_redelivered(
    world: CognitoWorld, receiver: Receiver
) -> None:
    replica = await world.instance()
    await world.connect(replica, await world.key(replica))
    receiver.fail_next(500, times=3)
    delivery, outbox = worker(replica), admin(replica)
    failed_before = delivered_count("failed")

    await delivery.run_once()
    world.clock.advance(2)
    await delivery.run_once()  # the next retry would land past 3 s: failed
    (record,) = await outbox.list()
    assert (record.status, record.last_error) == (DeliveryStatus.FAILED, "HTTP 500")
    assert delivered_count("failed") == failed_before + 1
    world.clock.advance(60)
    assert await delivery.run_once() == 0

    again = await outbox.redeliver(record.id)
    assert (again.status, again.attempts, again.event_id) == (
        DeliveryStatus.PENDING,
        0,
        record.event_id,
    )
    receiver.script.clear()
    assert await delivery.run_once() == 1
    assert receiver.deliveries[-1].status == 200
    assert receiver.deliveries[-1].webhook_id == record.event_id


async def test_a_receiver_that_answers_4xx_is_not_retried(
    world: CognitoWorld, receiver: Receiver
) -> None:
    replica = await world.instance()
    await world.connect(replica, await world.key(replica))
    receiver.fail_next(410)
    await worker(replica).run_once()
    (record,) = await admin(replica).list()
    assert (record.status, record.attempts) == (DeliveryStatus.FAILED, 1)


async def test_a_black_holed_receiver_holds_only_the_delivery_worker(
    tmp_path: Path, pool_keys: KeySet
) -> None:
    hole = BlackHole()
    hole.start()
    settings = world_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'hole.db'}",
        "memory://",
        Fernet.generate_key().decode(),
        **webhook_env(hole.url, CONNECTOR_WEBHOOK_TIMEOUT="1"),
    )
    try:
        async with AsyncExitStack() as stack:
            world = make_world(stack, pool_keys, settings)
            replica = await world.instance()
            key = await world.key(replica)
            headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
            async with replica.container.running():  # the delivery loop, as when serving
                assert (await world.connect(replica, key)).status_code == 302
                for _ in range(50):  # until the worker is stuck in the hole
                    if hole.accepted:
                        break
                    await asyncio.sleep(0.05)
                assert hole.accepted == 1
                answers = await asyncio.gather(
                    *(replica.client.get("/connection", headers=headers) for _ in range(20))
                )
                assert [a.status_code for a in answers] == [200] * 20
                assert hole.accepted == 1  # the API made no call to the receiver
                outbox = admin(replica)
                for _ in range(60):  # the attempt ends at its 1 s deadline
                    (record,) = await outbox.list()
                    if record.attempts:
                        break
                    await asyncio.sleep(0.05)
            assert record.status is DeliveryStatus.PENDING
            assert record.last_error == "webhook receiver unreachable (TimeoutError)"
    finally:
        hole.stop()


async def test_an_event_whose_replica_dies_mid_delivery_is_delivered_by_another(
    world: CognitoWorld, receiver: Receiver
) -> None:
    """In-process, on a fake clock: the worker's task is cancelled. The real thing, a
    `connector serve` process SIGKILLed mid-delivery, is tests/processes/
    test_webhook_replica_killed.py."""
    dying, surviving = await world.instance(), await world.instance()
    await world.connect(dying, await world.key(dying))
    receiver.hold.set()
    attempt = asyncio.create_task(worker(dying).run_once())
    for _ in range(100):
        if receiver.arrived.is_set():
            break
        await asyncio.sleep(0.02)
    assert receiver.arrived.is_set()
    attempt.cancel()  # the replica dies: no outcome is written, its lease stays
    with pytest.raises(asyncio.CancelledError):
        await attempt
    receiver.hold.clear()

    assert await worker(surviving).run_once() == 0  # the lease still holds the event
    world.clock.advance(world.settings.webhooks.lease_seconds + 1)
    assert await worker(surviving).run_once() == 1

    (record,) = await admin(surviving).list()
    assert record.status is DeliveryStatus.DELIVERED
    ok = [d for d in receiver.deliveries if d.status == 200]
    assert len(ok) >= 1
    assert {d.webhook_id for d in receiver.deliveries} == {record.event_id}
