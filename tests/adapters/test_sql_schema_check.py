"""Start-up refuses a SQL schema that is not at the newest migration (PostgreSQL deployments run
`connector migrate` themselves), in one line naming CONNECTOR_DATABASE_URL."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from connector.adapters.sql import SqlDatabase
from connector.bootstrap import build_container, open_database
from connector.errors import ConfigurationError
from connector.settings import DatabaseSettings, Settings

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


async def _admin(statement: str) -> None:
    try:
        admin = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 for these tests ({exc!r})")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def unmigrated(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Settings naming an empty database of each kind, with auto-migration off."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
        yield replace(settings, database=DatabaseSettings(url=url, auto_migrate=False))
        return
    name = f"connector_test_{secrets.token_hex(6)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"{POSTGRES.replace('postgresql', 'postgresql+asyncpg')}/{name}"
        yield replace(settings, database=DatabaseSettings(url=url, auto_migrate=False))
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _assert_refusal(raised: pytest.ExceptionInfo[ConfigurationError]) -> None:
    assert raised.value.variable == "CONNECTOR_DATABASE_URL"
    message = str(raised.value)
    assert message.startswith("CONNECTOR_DATABASE_URL: ")
    assert "connector migrate" in message
    assert "\n" not in message


async def test_an_empty_database_is_refused_at_start_up(unmigrated: Settings) -> None:
    with pytest.raises(ConfigurationError) as raised:
        await open_database(unmigrated)
    _assert_refusal(raised)
    with pytest.raises(ConfigurationError) as raised:
        await build_container(unmigrated)
    _assert_refusal(raised)


async def test_a_schema_at_another_revision_is_refused_at_start_up(unmigrated: Settings) -> None:
    database = SqlDatabase.from_url(unmigrated.database.url)
    try:
        await database.migrate()
        async with database.begin() as conn:  # as left by an older (or newer) release
            await conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    finally:
        await database.close()

    with pytest.raises(ConfigurationError) as raised:
        await open_database(unmigrated)
    _assert_refusal(raised)


async def test_once_migrated_the_same_settings_start(unmigrated: Settings) -> None:
    with pytest.raises(ConfigurationError):
        await open_database(unmigrated)
    database = SqlDatabase.from_url(unmigrated.database.url)
    try:
        await database.migrate()
    finally:
        await database.close()

    opened = await open_database(unmigrated)
    try:
        assert await opened.connections.get("alice") is None
    finally:
        await opened.close()


async def test_with_auto_migration_on_an_empty_database_is_migrated_instead(
    unmigrated: Settings,
) -> None:
    migrating = replace(unmigrated, database=replace(unmigrated.database, auto_migrate=True))
    opened = await open_database(migrating)
    await opened.close()

    checked = await open_database(unmigrated)  # auto-migration off: now at head
    await checked.close()
