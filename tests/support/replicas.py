"""Replicas in one test process on the real PostgreSQL and Redis: a world per test, and the
per-run database emptied between the tests that share it."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import asyncpg
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from connector.sandbox.hosted_ui import KeySet
from support.oauth_world import CognitoWorld, make_world, world_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def clear_of_window_end(window: int, margin: float = 30.0) -> None:
    """Wait out the end of the current clock-aligned `window` (seconds) when it is less than
    `margin` away, so that the counts a test takes fall in one rate-limit window."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.5)


async def empty_tables(postgres_url: str) -> None:
    """The per-run database is shared by the tests of a module: start each one empty."""
    url = make_url(postgres_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        names = {t["tablename"] for t in tables}
        if {"connections", "api_keys"} <= names:
            await conn.execute("TRUNCATE connections, api_keys")
    finally:
        await conn.close()


def shared_world(
    stack: AsyncExitStack,
    postgres_url: str,
    redis_prefix: str,
    pool_keys: KeySet,
    *,
    rotate: bool = False,
    **extra: str,
) -> CognitoWorld:
    """A Hosted UI stand-in and settings on the real PostgreSQL and Redis; each
    `world.instance()` is one more replica sharing them."""
    settings = world_settings(
        postgres_url,
        REDIS_URL,
        Fernet.generate_key().decode(),
        CONNECTOR_REDIS_PREFIX=redis_prefix,
        CONNECTOR_AUTO_MIGRATE="true",
        **extra,
    )
    return make_world(stack, pool_keys, settings, rotate=rotate)
