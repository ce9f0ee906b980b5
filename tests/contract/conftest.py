"""Backends for the contract suites: SQLite in a temporary file and a real PostgreSQL database.

PostgreSQL is not optional here: when it is down, these fixtures fail (never skip), because
a suite that silently ran on SQLite alone would prove nothing about production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from connector.adapters.sql import SqlDatabase
from connector.domain.ports import ApiKeyStore, ConnectionStore

SQL_BACKENDS = ("sqlite", "postgresql")
# Every ConnectionStore adapter; the S3 adapter adds "s3" here and a branch in connection_store.
CONNECTION_STORE_BACKENDS = (*SQL_BACKENDS,)


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
                await conn.exec_driver_sql("TRUNCATE connections, api_keys")
        yield database
    finally:
        await database.close()


@pytest.fixture(params=SQL_BACKENDS)
async def sql_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[SqlDatabase]:
    async with open_sql_database(request.param, tmp_path, postgres_url) as database:
        yield database


@pytest.fixture
def api_key_store(sql_database: SqlDatabase) -> ApiKeyStore:
    return sql_database.api_keys


@pytest.fixture(params=CONNECTION_STORE_BACKENDS)
async def connection_store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str
) -> AsyncIterator[ConnectionStore]:
    """Every ConnectionStore adapter in turn; the contract suite runs once per backend."""
    backend: str = request.param
    if backend in SQL_BACKENDS:
        async with open_sql_database(backend, tmp_path, postgres_url) as database:
            yield database.connections
        return
    raise AssertionError(f"no ConnectionStore backend named {backend!r}")
