"""The in-process layer on the real PostgreSQL and Redis: a warm request makes no round trip
but the one it exists for (and its rate-limit hits), and a change on one replica reaches the
others' layers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from support.aws_world import connect_alice, headers
from support.envelopes import assert_envelope
from support.replicas import empty_tables, shared_world
from support.round_trips import counting_round_trips

from connector.errors import ErrorCode
from connector.sandbox.hosted_ui import KeySet
from connector.services.process_layer import KEY_TTL

# An announcement crosses Redis pub/sub in well under this, even on a loaded machine.
PROPAGATION = 1.0


@pytest.fixture
async def stack(postgres_url: str) -> AsyncIterator[AsyncExitStack]:
    await empty_tables(postgres_url)
    async with AsyncExitStack() as opened:
        yield opened


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    """How long `check` took to come true (it must, within `seconds`)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        assert loop.time() - started < seconds, f"not true within {seconds} s"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def test_a_warm_get_connection_touches_neither_the_database_nor_redis(
    stack: AsyncExitStack,
    postgres_url: str,
    redis_prefix: str,
    pool_keys: KeySet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys)
    replica = await world.instance()
    await connect_alice(world, replica)
    key = await world.key(replica, "connection:read")
    cold = await replica.client.get("/connection", headers=headers(key))
    assert cold.status_code == 200, cold.text

    with counting_round_trips(monkeypatch) as trips:
        for _ in range(20):
            warm = await replica.client.get("/connection", headers=headers(key))
            assert warm.status_code == 200

    assert (trips.sql, dict(trips.redis), dict(trips.aws)) == (0, {}, {})
    # The rate limits' one transaction (per key and per key and user) is each request's only trip.
    assert trips.rate_limit == 20


async def test_a_warm_list_buckets_makes_the_aws_call_and_nothing_else(
    *,
    stack: AsyncExitStack,
    postgres_url: str,
    redis_prefix: str,
    pool_keys: KeySet,
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = shared_world(
        stack, postgres_url, redis_prefix, pool_keys, AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"]
    )
    replica = await world.instance()
    await connect_alice(world, replica)
    key = await world.key(replica, "s3:read")
    cold = await replica.client.get("/s3/buckets", headers=headers(key))
    assert cold.status_code == 200, cold.text

    with counting_round_trips(monkeypatch) as trips:
        warm = await replica.client.get("/s3/buckets", headers=headers(key))

    assert warm.status_code == 200, warm.text
    assert (trips.sql, dict(trips.redis), dict(trips.aws)) == (0, {}, {"s3": 1})
    assert trips.rate_limit == 1


async def test_a_revoked_key_is_refused_by_every_replica_at_once(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys)
    replicas = [await world.instance() for _ in range(3)]
    await connect_alice(world, replicas[0])
    raw = await world.key(replicas[0], "connection:read")
    for replica in replicas:  # every replica holds the key in its layer
        assert (await replica.client.get("/connection", headers=headers(raw))).status_code == 200

    key_id = raw.split("_")[1]
    await replicas[0].container.services.api_keys.revoke(key_id)

    async def refused_everywhere() -> bool:
        answers = [await r.client.get("/connection", headers=headers(raw)) for r in replicas]
        return all(a.status_code == 401 for a in answers)

    took = await within(PROPAGATION, refused_everywhere)
    assert took < KEY_TTL  # the announcement, not the TTL, stopped it
    assert_envelope(
        await replicas[2].client.get("/connection", headers=headers(raw)), ErrorCode.UNAUTHORIZED
    )


async def test_a_disconnect_on_one_replica_empties_the_others_layers(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys)
    first, second = await world.instance(), await world.instance()
    await connect_alice(world, first)
    key = await world.key(first, "connect", "connection:read")
    assert (await second.client.get("/connection", headers=headers(key))).status_code == 200

    assert (await first.client.post("/disconnect", headers=headers(key))).status_code == 200

    async def gone_on_second() -> bool:
        answer = await second.client.get("/connection", headers=headers(key))
        return answer.status_code == 404

    await within(PROPAGATION, gone_on_second)


async def test_a_refresh_on_one_replica_reaches_the_others(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys)
    first, second = await world.instance(), await world.instance()
    await connect_alice(world, first)
    key = await world.key(first, "connection:read", "token:read")
    before = (await second.client.get("/connection", headers=headers(key))).json()["data"]
    world.clock.advance(3600)

    assert (await first.client.get("/token", headers=headers(key))).status_code == 200

    async def refreshed_on_second() -> bool:
        view = (await second.client.get("/connection", headers=headers(key))).json()["data"]
        return bool(view["lastRefreshedAt"]) and view["expiresAt"] != before["expiresAt"]

    await within(PROPAGATION, refreshed_on_second)
    assert world.hosted_ui.stats.refresh_grants == 1
