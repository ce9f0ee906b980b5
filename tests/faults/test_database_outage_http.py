"""Through the HTTP app: while PostgreSQL stops and starts, a request that needs the database
answers 503 UPSTREAM_UNAVAILABLE with Retry-After, never 500, and succeeds once it is back."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import pytest
from support.envelopes import assert_envelope
from support.factories import make_connection
from support.postgres_cluster import PostgresCluster, StopMode

from connector.adapters.sql import SqlDatabase
from connector.app import create_app
from connector.bootstrap import build_container
from connector.errors import ErrorCode
from connector.settings import DatabaseSettings, Settings


@dataclass
class App:
    http: httpx.AsyncClient
    key: str

    async def connection_of(self, user: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", "X-User-Id": user}
        return await self.http.get("/connection", headers=headers)


async def _emptied(url: str) -> None:
    database = SqlDatabase.from_url(url)
    try:
        await database.migrate()
        async with database.begin() as conn:
            await conn.exec_driver_sql("TRUNCATE connections, api_keys")
    finally:
        await database.close()


@pytest.fixture
async def app(settings: Settings, running_cluster: PostgresCluster) -> AsyncIterator[App]:
    """The app on the private cluster: alice connected, bob not, a key that reads both."""
    url = running_cluster.url()
    await _emptied(url)
    settings = replace(settings, database=DatabaseSettings(url=url, auto_migrate=False))
    container = await build_container(settings)
    try:
        await container.store.put(make_connection("alice", container.cipher), expected_version=None)
        _, key = await container.services.api_keys.create("outage", scopes=["connection:read"])
        transport = httpx.ASGITransport(app=create_app(settings, container=container))
        async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as http:
            yield App(http, key)
    finally:
        await container.close()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_get_connection_is_503_with_retry_after_while_stopped_and_200_after_a_start(
    app: App, running_cluster: PostgresCluster, mode: StopMode
) -> None:
    assert (await app.connection_of("alice")).status_code == 200  # now cached

    running_cluster.stop(mode)
    for user in ("bob", "carol"):  # connections that are not cached
        answer = await app.connection_of(user)
        body = assert_envelope(answer, ErrorCode.UPSTREAM_UNAVAILABLE, 503)
        assert answer.headers["Retry-After"] == "2"
        assert body.details is not None
        assert body.details["retryAfter"] == 2

    running_cluster.start()
    assert (await app.connection_of("alice")).status_code == 200
    assert_envelope(await app.connection_of("bob"), ErrorCode.NOT_CONNECTED, 404)


async def test_no_request_answers_500_across_stops_and_starts(
    app: App, running_cluster: PostgresCluster
) -> None:
    statuses: Counter[int] = Counter()
    stopping = asyncio.Event()

    async def traffic() -> None:
        while not stopping.is_set():
            for user in ("alice", "bob"):
                statuses[(await app.connection_of(user)).status_code] += 1
            await asyncio.sleep(0.005)

    running = asyncio.create_task(traffic())
    try:
        for mode in ("fast", "immediate", "fast"):
            await asyncio.sleep(0.2)
            await asyncio.to_thread(running_cluster.stop, mode)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(running_cluster.start)
        await asyncio.sleep(0.2)
    finally:
        stopping.set()
        await running

    assert set(statuses) <= {200, 404, 503}, statuses
    assert statuses[503] > 0  # the outages were seen
    assert statuses[200] > 0  # and so were the times between them
    assert (await app.connection_of("bob")).status_code == 404
