"""Backends for the contract suites: SQLite in a temporary file, a real PostgreSQL database, the
s3:// store on in-process moto (with S3's conditional writes, and with the fallback for
endpoints without them), and the fakes the unit suites rely on (a fake that drifts from the
contract would make those suites prove nothing).

PostgreSQL is not optional here: when it is down, these fixtures fail (never skip), because
a suite that silently ran on SQLite alone would prove nothing about production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.fakes import FakeDatabase
from support.moto_s3 import (
    REGION,
    admin_client,
    in_process_s3,
    make_conditional_writes_atomic,
    new_bucket,
)

from connector.adapters.s3_store import S3Database
from connector.adapters.sql import SqlDatabase
from connector.bootstrap import Database
from connector.domain.ports import ApiKeyStore, ConnectionStore

SQL_BACKENDS = ("sqlite", "postgresql")
S3_BACKENDS = ("s3", "s3-fallback")
# Every adapter of the ConnectionStore and ApiKeyStore ports, and their fakes.
CONNECTION_STORE_BACKENDS = (*SQL_BACKENDS, *S3_BACKENDS, "fake")


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'connector.db'}"


@asynccontextmanager
async def open_sql_database(
    backend: str, tmp_path: Path, postgres_url: str
) -> AsyncIterator[SqlDatabase]:
    """A migrated, empty database of `backend`, closed on exit."""
    url = sqlite_url(tmp_path) if backend == "sqlite" else postgres_url
    database = SqlDatabase.from_url(url)
    try:
        await database.migrate()
        if backend == "postgresql":
            # One database serves the whole run; each test starts from empty tables.
            async with database.begin() as conn:
                await conn.exec_driver_sql("TRUNCATE connections, api_keys, webhook_outbox")
        yield database
    finally:
        await database.close()


@asynccontextmanager
async def open_s3_database(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[S3Database]:
    """An S3 store in a bucket of its own, under a prefix, on moto in this process."""
    make_conditional_writes_atomic(monkeypatch)
    with in_process_s3(monkeypatch):
        bucket = new_bucket(admin_client())
        database = await S3Database.open(
            f"s3://{bucket}/tenant/connector",
            region=REGION,
            conditional_writes=backend == "s3",
        )
        try:
            yield database
        finally:
            await database.close()


@asynccontextmanager
async def open_fake_database() -> AsyncIterator[FakeDatabase]:
    database = FakeDatabase()
    try:
        yield database
    finally:
        await database.close()


@dataclass
class Backends:
    """What every backend needs; `open(name)` gives an empty database of that backend."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    postgres_url: str

    def open(self, backend: str) -> AbstractAsyncContextManager[Database]:
        if backend in SQL_BACKENDS:
            return open_sql_database(backend, self.tmp_path, self.postgres_url)
        if backend in S3_BACKENDS:
            return open_s3_database(backend, self.monkeypatch)
        if backend == "fake":
            return open_fake_database()
        raise AssertionError(f"no backend named {backend!r}")


@pytest.fixture
def backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Backends:
    return Backends(tmp_path, monkeypatch, postgres_url)


@pytest.fixture(params=CONNECTION_STORE_BACKENDS)
async def api_key_store(
    request: pytest.FixtureRequest, backends: Backends
) -> AsyncIterator[ApiKeyStore]:
    """Every ApiKeyStore adapter in turn (keys live where the connections live)."""
    async with backends.open(request.param) as database:
        yield database.api_keys


# Every store of record keeps an outbox (a table; objects beside the connections on S3).
OUTBOX_BACKENDS = CONNECTION_STORE_BACKENDS


@pytest.fixture(params=OUTBOX_BACKENDS)
async def outbox_database(
    request: pytest.FixtureRequest, backends: Backends
) -> AsyncIterator[Database]:
    """Every store of record with an Outbox adapter, in turn."""
    async with backends.open(request.param) as database:
        assert database.outbox is not None
        yield database


@pytest.fixture(params=CONNECTION_STORE_BACKENDS)
async def connection_store(
    request: pytest.FixtureRequest, backends: Backends
) -> AsyncIterator[ConnectionStore]:
    """Every ConnectionStore adapter in turn; the contract suite runs once per backend."""
    async with backends.open(request.param) as database:
        yield database.connections
