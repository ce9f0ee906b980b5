"""A PostgreSQL that stops, restarts, refuses or freezes: every store call answers
UPSTREAM_UNAVAILABLE within its deadline, never an unmapped error, and works again once the
server is back. A private cluster of this module plays the server (tests/support)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from support.factories import make_api_key, make_connection
from support.postgres_cluster import PostgresCluster, StopMode

from connector.adapters.crypto import FernetCipher, generate_key
from connector.adapters.sql import SqlDatabase
from connector.adapters.sql.failures import causes
from connector.errors import ErrorCode, UpstreamUnavailableError

TIMEOUT = 1.0  # the database deadline these tests configure
MARGIN = 1.0  # scheduling slack on a shared 2-core machine
CIPHER = FernetCipher((generate_key(),))
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

StoreCall = Callable[[SqlDatabase], Awaitable[object]]


async def _drain(database: SqlDatabase) -> list[object]:
    return [c async for c in database.connections.iterate()]


STORE_CALLS: dict[str, StoreCall] = {
    "connections.get": lambda db: db.connections.get("alice"),
    "connections.put (create)": lambda db: db.connections.put(
        make_connection("bob", CIPHER), expected_version=None
    ),
    "connections.put (replace)": lambda db: db.connections.put(
        make_connection("alice", CIPHER, email="new@example.com"), expected_version=1
    ),
    "connections.delete": lambda db: db.connections.delete("alice"),
    "connections.iterate": _drain,
    "api_keys.get": lambda db: db.api_keys.get("k1"),
    "api_keys.list": lambda db: db.api_keys.list(),
    "api_keys.create": lambda db: db.api_keys.create(make_api_key("k2", "second")),
    "api_keys.revoke": lambda db: db.api_keys.revoke("k1", NOW),
    "ping": lambda db: db.ping(),
    "is_at_head": lambda db: db.is_at_head(),
}


@pytest.fixture
async def database(running_cluster: PostgresCluster) -> AsyncIterator[SqlDatabase]:
    """The private cluster's database, migrated, holding alice's connection and key k1."""
    opened = SqlDatabase.from_url(running_cluster.url(), timeout=TIMEOUT)
    try:
        await opened.migrate()
        async with opened.begin() as conn:
            await conn.exec_driver_sql("TRUNCATE connections, api_keys")
        await opened.connections.put(make_connection("alice", CIPHER), expected_version=None)
        await opened.api_keys.create(make_api_key("k1", "first"))
        yield opened
    finally:
        await opened.close()


async def _fails_in_time(call: Awaitable[object]) -> UpstreamUnavailableError:
    """The call raises UpstreamUnavailableError within the deadline and the margin."""
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailableError) as raised:
        await call
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + MARGIN, f"took {elapsed:.2f} s"
    assert raised.value.error_code is ErrorCode.UPSTREAM_UNAVAILABLE
    assert raised.value.retry_after == 2
    assert raised.value.message == "database unavailable"
    return raised.value


async def _fill_the_pool(database: SqlDatabase, connections: int = 5) -> None:
    """Several pooled connections, all of which the stop will kill under the pool."""
    async with AsyncExitStack() as stack:
        for _ in range(connections):
            conn = await stack.enter_async_context(database.connect())
            await conn.exec_driver_sql("SELECT 1")


async def _cause_names(call: Awaitable[object]) -> set[str]:
    failure = await _fails_in_time(call)
    return {type(cause).__name__ for cause in causes(failure)}


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_every_store_call_is_upstream_unavailable_while_stopped_and_works_after_a_start(
    database: SqlDatabase, running_cluster: PostgresCluster, mode: StopMode
) -> None:
    await _fill_the_pool(database)

    running_cluster.stop(mode)
    for name, call in STORE_CALLS.items():
        try:
            await _fails_in_time(call(database))
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc

    running_cluster.start()
    alice = await database.connections.get("alice")  # dead pooled connections are replaced
    assert alice is not None
    assert alice.version == 1  # nothing the outage refused was half-written
    assert await database.connections.get("bob") is None
    assert [key.id for key in await database.api_keys.list()] == ["k1"]
    for call in STORE_CALLS.values():
        await call(database)
    assert await database.api_keys.get("k2") is not None


async def test_a_server_shutting_down_refuses_new_sessions_with_57p03_which_is_unavailable(
    database: SqlDatabase, running_cluster: PostgresCluster
) -> None:
    await database.close()  # no idle pooled session keeps the smart shutdown waiting
    holder = await asyncpg.connect(running_cluster.dsn())
    try:
        running_cluster.stop("smart", wait=False)  # waits for `holder`, refusing others
        await _until_refused(running_cluster)

        names = await _cause_names(database.connections.get("alice"))
        assert "CannotConnectNowError" in names
        await _fails_in_time(database.api_keys.get("k1"))
    finally:
        await holder.close()
    _until_stopped(running_cluster)
    running_cluster.start()
    assert await database.connections.get("alice") is not None


async def test_a_server_not_accepting_connections_yet_is_unavailable_until_it_is(
    database: SqlDatabase, running_cluster: PostgresCluster
) -> None:
    await _fill_the_pool(database)
    running_cluster.stop("immediate")
    running_cluster.refuse_connections()  # up, in recovery, without hot standby
    await _until_refused(running_cluster)

    names = await _cause_names(database.connections.get("alice"))
    assert "CannotConnectNowError" in names
    for call in STORE_CALLS.values():
        await _fails_in_time(call(database))

    running_cluster.stop_refusing()
    running_cluster.start()
    assert await database.connections.get("alice") is not None


async def test_too_many_connections_is_unavailable(
    database: SqlDatabase, running_cluster: PostgresCluster
) -> None:
    async with database.begin() as conn:
        await conn.exec_driver_sql("DROP ROLE IF EXISTS limited")
        await conn.exec_driver_sql("CREATE ROLE limited LOGIN CONNECTION LIMIT 1")
        await conn.exec_driver_sql("GRANT SELECT ON connections, api_keys TO limited")
    limited = SqlDatabase.from_url(running_cluster.url(user="limited"), timeout=TIMEOUT)
    holder = await asyncpg.connect(running_cluster.dsn(user="limited"))
    try:
        names = await _cause_names(limited.connections.get("alice"))
        assert "TooManyConnectionsError" in names
    finally:
        await holder.close()
        await limited.close()
    # The slot is free again: the same database answers.
    limited = SqlDatabase.from_url(running_cluster.url(user="limited"), timeout=TIMEOUT)
    try:
        assert await limited.connections.get("alice") is not None
    finally:
        await limited.close()


async def test_a_pool_exhausted_past_the_timeout_is_unavailable(database: SqlDatabase) -> None:
    # The holders share the pool but not the deadline, which would end their hold at 1 s.
    patient = SqlDatabase(database.engine, timeout=60)
    async with AsyncExitStack() as stack:
        for _ in range(15):  # SQLAlchemy's default pool: 5 kept, 10 more on demand
            await stack.enter_async_context(patient.connect())

        failure = await _fails_in_time(database.connections.get("alice"))

    assert any(isinstance(c, PoolTimeoutError | TimeoutError) for c in causes(failure))
    assert await database.connections.get("alice") is not None


async def test_a_frozen_server_costs_one_deadline_per_call_and_recovers_when_it_thaws(
    database: SqlDatabase, running_cluster: PostgresCluster
) -> None:
    await _fill_the_pool(database)
    running_cluster.freeze()  # sessions stay open; nothing answers, not even a ping
    try:
        started = time.monotonic()
        for name in ("connections.get", "connections.put (replace)", "api_keys.get", "ping"):
            await _fails_in_time(STORE_CALLS[name](database))
        assert time.monotonic() - started >= 4 * TIMEOUT * 0.9  # each waited its deadline
    finally:
        running_cluster.thaw()

    alice = await database.connections.get("alice")
    assert alice is not None
    assert alice.email == "alice@example.com"  # the replace that timed out did not land


async def _until_refused(cluster: PostgresCluster) -> None:
    """Until a new session is refused with 57P03 (the server is up but not accepting)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            probe = await asyncpg.connect(cluster.dsn(), timeout=2)
        except asyncpg.exceptions.CannotConnectNowError:
            return
        except OSError:
            pass  # not listening yet
        else:
            await probe.close()
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server never refused with 57P03:\n{cluster.log_tail()}")


def _until_stopped(cluster: PostgresCluster) -> None:
    deadline = time.monotonic() + 30
    while cluster.running:
        assert time.monotonic() < deadline, cluster.log_tail()
        time.sleep(0.1)
