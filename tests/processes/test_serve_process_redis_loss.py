"""A `connector serve` process whose Redis goes away flushes its in-process layer: pub/sub drops
what is published while a subscriber is away, so nothing it holds can be trusted any longer.
Proved with a private redis-server (killed, then restarted on the same port) and a change made
behind the process's back, in the database, that only a flushed layer can see before the
entries' own TTL runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from support.redis_server import RedisServer, redis_server
from support.serve_processes import ProcessWorld, Replica, process_world, start_replica

from connector.sandbox.hosted_ui import KeySet
from connector.services.process_layer import CONNECTION_TTL

RESUBSCRIBED = 3.0  # the listener retries every 0.1-2 s: subscribed again within this


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def world(tmp_path: Path, private_redis: RedisServer) -> Iterator[ProcessWorld]:
    with process_world(tmp_path, KeySet.generate(), redis_url=private_redis.url) as made:
        yield made


def delete_behind_its_back(world: ProcessWorld, user_id: str) -> None:
    """Remove the stored connection with SQL: no announcement, no cache eviction."""
    url = make_url(world.environment["CONNECTOR_DATABASE_URL"])

    async def run() -> None:
        conn = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, database=url.database
        )
        try:
            await conn.execute("DELETE FROM connections WHERE user_id = $1", user_id)
        finally:
            await conn.close()

    asyncio.run(run())


def get_connection(replica: Replica, key: str) -> httpx.Response:
    head = {"Authorization": f"Bearer {key}", "X-User-Id": "u-flush"}
    return httpx.get(f"{replica.url}/connection", headers=head, timeout=30)


def test_a_killed_redis_flushes_the_layer_and_so_does_the_restart(
    world: ProcessWorld, private_redis: RedisServer
) -> None:
    replica = start_replica(world, "p")
    key = world.create_key("flush", "connect", "connection:read")
    world.connect(replica, key, "u-flush")
    assert get_connection(replica, key).status_code == 200  # held in the layer from now on

    # Killed: the subscription is lost, the layer flushed. The next read goes to the database
    # (the cache is down), which no longer has the connection.
    private_redis.kill()
    killed_at = time.monotonic()
    delete_behind_its_back(world, "u-flush")
    gone = get_connection(replica, key)
    assert time.monotonic() - killed_at < CONNECTION_TTL  # well before the entry's own TTL
    assert gone.status_code == 404, gone.text
    assert gone.json()["code"] == "NOT_CONNECTED"

    # Connected again while Redis is down is impossible (OAuth state lives there); put the row
    # back by connecting once Redis is back, then take Redis away and back once more.
    private_redis.start()
    time.sleep(RESUBSCRIBED)
    world.connect(replica, key, "u-flush")
    private_redis.kill()
    # Read during the outage: the layer holds the connection again, after the first flush.
    assert get_connection(replica, key).status_code == 200
    held_at = time.monotonic()
    private_redis.start()
    time.sleep(RESUBSCRIBED)  # subscribed again: what was missed is unknown, so flushed again
    delete_behind_its_back(world, "u-flush")
    again = get_connection(replica, key)
    assert time.monotonic() - held_at < CONNECTION_TTL
    assert again.status_code == 404, again.text
