"""A Redis that dies (SIGKILL) or freezes (SIGSTOP) under the rate limits: requests and Cognito
calls pass unchecked (logged, counted) within a bounded time, and counting resumes once Redis
is back. A private redis-server plays the deployment's Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from support.redis_server import RedisServer, redis_server

from connector.adapters.rate_limiter import create_rate_limiter
from connector.app import create_app
from connector.bootstrap import build_container
from connector.domain.rate_limits import Rate
from connector.services.cognito_budget import CognitoBudget
from connector.services.outage_log import OutageLog
from connector.settings import CacheSettings, DatabaseSettings, EncryptionSettings, Settings

RETRY_INTERVAL = 0.5
# Connect, one retried connect and the command (0.25 s each at most), and the app's own work.
BOUND = 1.5


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with redis_server() as started:
        yield started


@pytest.fixture
def settings(tmp_path: Path, fernet_key: str, server: RedisServer) -> Settings:
    return Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'connector.db'}"),
        cache=CacheSettings(url=server.url, retry_interval=RETRY_INTERVAL),
        encryption=EncryptionSettings(keys=(fernet_key,)),
    )


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    container = await build_container(settings)
    try:
        _, key = await container.services.api_keys.create("k", scopes=["connection:read"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, container=container)),
            base_url="http://connector.test",
        ) as client:
            yield client, key
    finally:
        await container.close()


async def timed_get(client: httpx.AsyncClient, key: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await client.get("/connection", headers={"X-API-Key": key, "X-User-Id": "alice"})
    return answer, time.monotonic() - started


async def test_requests_pass_unchecked_within_the_bound_while_redis_is_dead_then_count_again(
    http: tuple[httpx.AsyncClient, str], server: RedisServer
) -> None:
    client, key = http
    counted, _ = await timed_get(client, key)
    assert "RateLimit" in counted.headers

    server.kill()
    during = [await timed_get(client, key) for _ in range(10)]

    assert [a.status_code for a, _ in during] == [404] * 10  # served, never 429 nor 500
    assert all("RateLimit" not in a.headers for a, _ in during)
    assert max(took for _, took in during) < BOUND
    assert sum(took for _, took in during) < 2 * BOUND  # skipped at once after the first failure

    server.start()
    await asyncio.sleep(RETRY_INTERVAL)  # then the breaker lets one call probe again
    again, _ = await timed_get(client, key)
    assert "RateLimit" in again.headers


async def test_a_frozen_redis_costs_a_request_at_most_the_bound(
    http: tuple[httpx.AsyncClient, str], server: RedisServer
) -> None:
    client, key = http
    assert "RateLimit" in (await timed_get(client, key))[0].headers
    server.freeze()
    try:
        answers = [await timed_get(client, key) for _ in range(5)]
    finally:
        server.thaw()
    assert [a.status_code for a, _ in answers] == [404] * 5
    assert max(took for _, took in answers) < BOUND


async def test_cognito_calls_pass_within_the_bound_when_the_budget_store_is_dead(
    server: RedisServer, redis_prefix: str
) -> None:
    limiter = create_rate_limiter(server.url, prefix=redis_prefix, retry_interval=RETRY_INTERVAL)
    budget = CognitoBudget(limiter, {"GetId": Rate(1, 60)}, outages=OutageLog())
    try:
        await budget.spend("GetId")
        server.kill()
        started = time.monotonic()
        for _ in range(5):
            await budget.spend("GetId")  # over the budget of 1, but unchecked: passes
        took = time.monotonic() - started
    finally:
        await limiter.close()
    assert budget.unchecked == 5
    assert took < BOUND
