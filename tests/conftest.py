"""Fixtures shared by every suite: the real PostgreSQL and Redis of this machine (never
skipped: a suite that silently fell back would prove nothing), embedded settings, an app, keys."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet
from redis.asyncio import Redis
from support.factories import KeyMaker

from connector.app import create_app
from connector.bootstrap import Container, build_container
from connector.settings import (
    CacheSettings,
    DatabaseSettings,
    EncryptionSettings,
    Settings,
)


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(tmp_path: Path, fernet_key: str) -> Settings:
    """Embedded settings: a SQLite file of this test, the memory:// cache, a fresh key."""
    return Settings(
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'connector.db'}"),
        cache=CacheSettings(url="memory://"),
        encryption=EncryptionSettings(keys=(fernet_key,)),
    )


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = await build_container(settings)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def client(settings: Settings, container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the test's own event loop (loop-bound connections stay valid)."""
    app = create_app(settings, container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://connector.test") as http:
        yield http


@pytest.fixture
def make_key(container: Container) -> KeyMaker:
    """`await make_key(scopes=[...], ...)` -> the raw key string."""

    async def make(name: str | None = None, **options: Any) -> str:
        count = len(await container.services.api_keys.list())
        _, raw = await container.services.api_keys.create(name or f"key-{count}", **options)
        return raw

    return make


POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            host=POSTGRES_HOST,
            port=POSTGRES_PORT,
            user=POSTGRES_USER,
            database="postgres",
            timeout=5,
        )
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is required for the contract suites and is not reachable at "
            f"{POSTGRES_HOST}:{POSTGRES_PORT} as {POSTGRES_USER!r} ({exc!r}); start it "
            f"(scripts/services) and run again",
            pytrace=False,
        )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database for this run, dropped (even with open connections) at the end."""
    name = f"connector_test_{secrets.token_hex(6)}"
    admin = await _admin_connection()
    try:
        # ICU en-US, not C, as the default collation: a locale-aware server like most in
        # production, where only the store's own "C" collation keeps user ids in byte order.
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 '
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' ENCODING 'UTF8'"
        )
    finally:
        await admin.close()
    try:
        yield f"postgresql+asyncpg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        admin = await _admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test on the real Redis; every key under it is deleted afterwards."""
    prefix = f"connector-test-{secrets.token_hex(6)}:"
    client = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except OSError as exc:  # redis' ConnectionError is an OSError
        pytest.fail(f"Redis is required and not reachable at {REDIS_URL} ({exc!r})", pytrace=False)
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
