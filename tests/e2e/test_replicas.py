"""Several replicas on the real PostgreSQL and Redis: one refresh per user, nothing in clear."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from support.aws_world import MOTO_LIFETIME, connect_alice, headers, identities
from support.replicas import empty_tables, shared_world

from connector.adapters.cognito_identity import CognitoIdentityBroker
from connector.sandbox.hosted_ui import KeySet

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def stack(postgres_url: str) -> AsyncIterator[AsyncExitStack]:
    await empty_tables(postgres_url)
    async with AsyncExitStack() as opened:
        yield opened


@pytest.mark.parametrize("rotate", [False, True], ids=["no-rotation", "rotation"])
async def test_two_replicas_sharing_redis_and_postgres_refresh_exactly_once(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet, rotate: bool
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys, rotate=rotate)
    first, second = await world.instance(), await world.instance()
    key = await world.key(first)
    assert (await world.connect(first, key)).status_code == 302
    world.clock.advance(3600)  # the access token has expired for every replica

    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    answers = await asyncio.gather(
        *(replica.client.get("/token", headers=headers) for replica in (first, second) * 25)
    )

    assert [a.status_code for a in answers] == [200] * 50
    assert world.hosted_ui.stats.refresh_grants == 1
    assert len({a.json()["data"]["accessToken"] for a in answers}) == 1
    # And the refreshed connection still refreshes later (with rotation: the new token was kept).
    world.clock.advance(3600)
    assert (await second.client.get("/token", headers=headers)).status_code == 200
    assert world.hosted_ui.stats.refresh_grants == 2


async def test_tokens_are_never_in_clear_in_postgres_or_redis(
    stack: AsyncExitStack, postgres_url: str, redis_prefix: str, pool_keys: KeySet
) -> None:
    world = shared_world(stack, postgres_url, redis_prefix, pool_keys)
    replica = await world.instance()
    key = await world.key(replica)
    await world.connect(replica, key)
    headers = {"Authorization": f"Bearer {key}", "X-User-Id": "alice"}
    assert (await replica.client.get("/connection", headers=headers)).status_code == 200  # cached
    tokens = replica.container.services.connections.open_tokens(
        await replica.container.services.connections.get("alice")
    )
    plaintexts = [tokens.access_token, tokens.id_token, tokens.refresh_token or "", key]
    assert all(plaintexts)

    url = make_url(postgres_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM connections")]
        rows += [dict(r) for r in await conn.fetch("SELECT * FROM api_keys")]
    finally:
        await conn.close()
    assert rows
    stored_text = repr(rows)
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{redis_prefix}*")]
        values = [await redis.get(k) for k in keys if await redis.type(k) == b"string"]
    finally:
        await redis.aclose()
    assert any(k.endswith(b"conn:alice") for k in keys)  # the connection really is cached
    cached_bytes = b"".join(v for v in values if v)
    for secret in plaintexts:
        assert secret not in stored_text
        assert secret.encode() not in cached_bytes
        # JWTs share a recognisable header; check a distinctive slice too.
        assert secret[-40:].encode() not in cached_bytes


async def test_replicas_get_the_identity_once_and_mint_credentials_once_per_lifetime(
    *,
    stack: AsyncExitStack,
    postgres_url: str,
    redis_prefix: str,
    pool_keys: KeySet,
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = Counter[str]()
    for method in ("get_identity_id", "get_credentials"):
        real = getattr(CognitoIdentityBroker, method)

        async def counted(
            self: Any, *args: Any, _real: Any = real, _name: str = method, **kwargs: Any
        ) -> Any:
            calls[_name] += 1
            return await _real(self, *args, **kwargs)

        monkeypatch.setattr(CognitoIdentityBroker, method, counted)
    world = shared_world(
        stack, postgres_url, redis_prefix, pool_keys, AWS_COGNITO_IDENTITY_POOL_ID=aws["pool_id"]
    )
    first, second = await world.instance(), await world.instance()
    await connect_alice(world, first)
    key = await world.key(first, "s3:read", "s3:write")

    async def burst() -> None:
        answers = await asyncio.gather(
            *(
                replica.client.get("/s3/buckets", headers=headers(key))
                for replica in (first, second) * 25
            )
        )
        assert [a.status_code for a in answers] == [200] * 50, answers[0].text

    await burst()
    assert calls == {"get_identity_id": 1, "get_credentials": 1}
    world.clock.advance(MOTO_LIFETIME + 1)  # every replica now sees them expired
    await burst()
    assert calls == {"get_identity_id": 1, "get_credentials": 2}
    assert len(identities(aws)) == 1
