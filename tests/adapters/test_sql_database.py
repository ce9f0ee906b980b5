"""SqlDatabase: URLs, migrations (idempotent, concurrent, matching tables.py) and failures."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import asyncpg
import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from connector.adapters.sql import SqlDatabase
from connector.adapters.sql.tables import UtcDateTime, metadata
from connector.domain.models import Connection as UserConnection
from connector.domain.models import ConnectionStatus, SealedTokens
from connector.errors import ConfigurationError, ErrorCode, UpstreamUnavailableError

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def _admin(statement: str) -> None:
    try:
        admin = await asyncpg.connect(f"{POSTGRES.replace('+asyncpg', '')}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 for these tests ({exc!r})")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database nobody has migrated yet (PostgreSQL: created for this test)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"connector_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_an_unmigrated_database_is_not_at_head(empty_database_url: str) -> None:
    database = SqlDatabase.from_url(empty_database_url)
    try:
        assert await database.is_at_head() is False
    finally:
        await database.close()


async def test_a_missing_schema_is_an_error_not_an_outage(empty_database_url: str) -> None:
    database = SqlDatabase.from_url(empty_database_url)
    try:
        with pytest.raises(DBAPIError) as raised:
            await database.connections.get("alice")
        assert not isinstance(raised.value, UpstreamUnavailableError)
        assert "connections" in str(raised.value)
    finally:
        await database.close()


async def test_migrate_reaches_head_and_running_it_again_changes_nothing(
    empty_database_url: str,
) -> None:
    database = SqlDatabase.from_url(empty_database_url)
    try:
        await database.migrate()
        assert await database.is_at_head() is True
        await database.connections.put(sample_connection(), expected_version=None)
        await database.migrate()
        assert await database.is_at_head() is True
        assert await database.connections.get("alice") is not None
    finally:
        await database.close()


async def test_replicas_migrating_at_the_same_time_all_succeed(empty_database_url: str) -> None:
    replicas = [SqlDatabase.from_url(empty_database_url) for _ in range(4)]
    try:
        # Without the migration lock they deadlock rather than fail: bound the wait.
        async with asyncio.timeout(30):
            await asyncio.gather(*(replica.migrate() for replica in replicas))
        assert all([await replica.is_at_head() for replica in replicas])
    finally:
        await asyncio.gather(*(replica.close() for replica in replicas))
    if empty_database_url.startswith("sqlite"):
        # Some replicas met a lock when switching to WAL; the file is WAL all the same.
        path = empty_database_url.removeprefix("sqlite+aiosqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as plain:
            assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _schema_differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_the_migrations_create_exactly_the_schema_of_tables_py(
    empty_database_url: str,
) -> None:
    database = SqlDatabase.from_url(empty_database_url)
    try:
        await database.migrate()
        async with database.connect() as connection:
            assert await connection.run_sync(_schema_differences) == []
    finally:
        await database.close()


@pytest.mark.parametrize(
    "url",
    [
        "mysql+aiomysql://admin:hunter2@db.internal/connector",
        "postgresql://admin:hunter2@db.internal/connector",  # the sync driver
        "sqlite:///connector.db",
        "s3://bucket/prefix/",
        "not a url at all hunter2",
    ],
)
def test_a_url_of_another_kind_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        SqlDatabase.from_url(url)
    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    assert str(raised.value).startswith("CONNECTOR_DATABASE_URL: ")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite://"])
def test_sqlite_without_a_file_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="CONNECTOR_DATABASE_URL"):
        SqlDatabase.from_url(url)


async def test_sqlite_creates_the_missing_directory_and_runs_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "connector.db"
    database = SqlDatabase.from_url(f"sqlite+aiosqlite:///{path}")
    try:
        assert path.parent.is_dir()
        await database.ping()
        async with database.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert (mode, busy) == ("wal", 5000)
        assert database.dialect_name == "sqlite"
    finally:
        await database.close()


async def test_unreachable_postgresql_is_upstream_unavailable_without_the_url() -> None:
    url = "postgresql+asyncpg://connector:hunter2@127.0.0.1:1/connector"
    database = SqlDatabase.from_url(url)
    try:
        assert database.dialect_name == "postgresql"
        attempts = (database.ping, lambda: database.connections.get("alice"), database.migrate)
        for attempt in attempts:
            with pytest.raises(UpstreamUnavailableError) as raised:
                await attempt()
            failure = raised.value
            assert failure.error_code is ErrorCode.UPSTREAM_UNAVAILABLE
            assert failure.retry_after == 2
            shown = f"{failure} {failure.message} {failure.details}"
            assert "hunter2" not in shown
            assert "127.0.0.1:1" not in shown
            assert "connector:" not in shown
    finally:
        await database.close()


def _aiosqlite_workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.endswith("(_connection_worker_thread)")}


async def test_an_unopenable_sqlite_file_is_upstream_unavailable(tmp_path: Path) -> None:
    workers_before = _aiosqlite_workers()
    database = SqlDatabase.from_url(f"sqlite+aiosqlite:///{tmp_path}")  # a directory
    try:
        with pytest.raises(UpstreamUnavailableError, match="database unavailable"):
            await database.ping()
    finally:
        await database.close()
        # aiosqlite stops the worker of a failed connect without waiting for it
        # (omnilib/aiosqlite#241): let it finish while this test's event loop still runs.
        for worker in _aiosqlite_workers() - workers_before:
            await asyncio.to_thread(worker.join, 5)


def test_utc_datetime_refuses_a_naive_datetime_and_normalises_to_utc() -> None:
    column = UtcDateTime()
    dialect = sqlite.dialect()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 11, 21, 12, 0), dialect)  # noqa: DTZ001
    athens = datetime(2026, 11, 21, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    written = column.process_bind_param(athens, dialect)
    assert written == NOW
    assert written is not None
    assert written.tzinfo is UTC
    read = column.process_result_value(datetime(2026, 11, 21, 12, 0), dialect)  # noqa: DTZ001
    assert read == NOW
    assert read is not None
    assert read.tzinfo is UTC


async def test_a_store_refuses_a_naive_datetime_and_stores_nothing(tmp_path: Path) -> None:
    database = SqlDatabase.from_url(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        await database.migrate()
        naive = sample_connection(expires_at=datetime(2026, 11, 21, 13, 0))  # noqa: DTZ001
        with pytest.raises(ValueError, match="naive"):
            await database.connections.put(naive, expected_version=None)
        assert await database.connections.get("alice") is None
    finally:
        await database.close()


def sample_connection(**overrides: datetime) -> UserConnection:
    fields = {
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        "created_at": NOW,
        "updated_at": NOW,
        **overrides,
    }
    return UserConnection(
        user_id="alice",
        status=ConnectionStatus.ACTIVE,
        sub="sub-alice",
        username=None,
        email=None,
        scopes=("openid",),
        identity_id=None,
        tokens=SealedTokens(access_token="sealed-a", id_token="sealed-i", refresh_token=None),
        last_refreshed_at=None,
        **fields,
    )


_ROW_AT_0001 = """INSERT INTO connections (user_id, status, sub, username, email, scopes,
    identity_id, access_token, id_token, refresh_token, issued_at, expires_at,
    last_refreshed_at, created_at, updated_at, version)
    VALUES (:user_id, 'active', :sub, NULL, NULL, 'openid email', :identity_id, 'sealed-access',
    'sealed-id', 'sealed-refresh', :now, :later, NULL, :now, :now, 3)"""
_KEY_AT_0001 = """INSERT INTO api_keys (id, name, key_hash, scopes, buckets, functions, read_only,
    created_at, revoked_at) VALUES ('k1', 'ops', 'hash', 'connect', '[]', '["fn-*"]', false,
    :now, NULL)"""


async def test_the_providers_migration_keeps_rows_of_the_previous_schema_as_default(
    empty_database_url: str,
) -> None:
    """A database made by revision 0001, with rows in it, upgrades to head: each connection
    becomes the default provider's (same version, same fields), keys cover every provider, and
    the user can then connect with another provider beside it."""
    database = SqlDatabase.from_url(empty_database_url)
    try:
        await database.migrate("0001")
        async with database.begin() as conn:
            for user in ("alice", "bob"):
                await conn.execute(
                    text(_ROW_AT_0001),
                    {
                        "user_id": user,
                        "sub": f"sub-{user}",
                        "identity_id": f"eu-west-1:{user}",
                        "now": NOW,
                        "later": NOW + timedelta(hours=1),
                    },
                )
            await conn.execute(text(_KEY_AT_0001), {"now": NOW})
        assert await database.is_at_head() is False
        await database.migrate()
        assert await database.is_at_head() is True
        alice = await database.connections.get("alice")
        assert alice is not None
        assert (alice.provider, alice.sub, alice.version) == ("default", "sub-alice", 3)
        assert alice.identity_id == "eu-west-1:alice"
        assert alice.tokens.refresh_token == "sealed-refresh"
        assert await database.connections.get("alice", "acme") is None
        walked = [(c.user_id, c.provider) async for c in database.connections.iterate()]
        assert walked == [("alice", "default"), ("bob", "default")]
        key = await database.api_keys.get("k1")
        assert key is not None
        assert (key.providers, key.functions) == ((), ("fn-*",))
        other = msgspec.structs.replace(alice, provider="acme", sub="sub-acme", version=0)
        assert (await database.connections.put(other, expected_version=None)).version == 1
        assert (await database.connections.get("alice")) == alice
    finally:
        await database.close()
