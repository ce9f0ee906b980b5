"""SqlDatabase: one async engine (SQLite or PostgreSQL), its stores, migrations and failures."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from connector.adapters.sql.api_key_store import SqlApiKeyStore
from connector.adapters.sql.connection_store import SqlConnectionStore
from connector.errors import ConfigurationError, UpstreamUnavailableError

VARIABLE = "CONNECTOR_DATABASE_URL"
MIGRATIONS = "connector.adapters.sql:migrations"
CONNECT_TIMEOUT = 5.0
PING_TIMEOUT = 5.0
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any fixed 64-bit key works; every replica must use the same one. ASCII "connecto".
MIGRATION_LOCK_KEY = 0x636F6E6E6563746F

# Failures that mean "the database cannot answer now", not "this request is wrong".
# OSError covers refused connections and TimeoutError; asyncpg raises its own at connect time
# (later ones reach us wrapped in a DBAPIError, see _is_unavailable).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


@contextmanager
def _failures_translated() -> Iterator[None]:
    """Connection failures become UpstreamUnavailableError; a refused value stays ValueError."""
    try:
        yield
    except Exception as exc:
        if _is_unavailable(exc):
            # A constant message: the URL, and so a password, never reaches a caller or a log.
            raise UpstreamUnavailableError("database unavailable", retry_after=2) from exc
        # SQLAlchemy wraps what a bind processor raises (UtcDateTime's naive-datetime refusal).
        if type(exc) is StatementError and isinstance(exc.orig, ValueError):
            raise exc.orig from exc
        raise


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, OperationalError) and _is_sqlite_statement_error(exc.orig):
        return False
    # connection_invalidated: SQLAlchemy's dialect recognised a lost connection.
    return isinstance(exc, _UNAVAILABLE) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _is_sqlite_statement_error(error: BaseException | None) -> bool:
    # SQLite reports "no such table" and friends as OperationalError too, with the generic
    # SQLITE_ERROR code: a bug or a missing migration, which no retry will fix.
    return isinstance(error, sqlite3.Error) and error.sqlite_errorcode == sqlite3.SQLITE_ERROR


class SqlDatabase:
    """Owns the engine; `connections` and `api_keys` are the stores built on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # PostgreSQL reads skip BEGIN/ROLLBACK: one round trip for a lookup, not three (API
        # keys are read on every request). SQLite opens no transaction for a SELECT anyway.
        self._read_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self.connections = SqlConnectionStore(self)
        self.api_keys = SqlApiKeyStore(self)

    @classmethod
    def from_url(cls, url: str) -> SqlDatabase:
        """`sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`; else ConfigurationError."""
        return cls(_create_engine(_parse(url)))

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (each statement sees committed data), failures translated."""
        with _failures_translated():
            async with self._read_engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction committed at the end, with failures translated."""
        with _failures_translated():
            async with self._engine.begin() as connection:
                yield connection

    async def ping(self) -> None:
        """Raise UpstreamUnavailableError unless the database answers within PING_TIMEOUT."""
        with _failures_translated():
            async with asyncio.timeout(PING_TIMEOUT), self._read_engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def migrate(self) -> None:
        """Upgrade the schema to head; idempotent, and safe from several replicas at once."""
        async with self.begin() as connection:
            if self.dialect_name == "postgresql":
                # Held until commit: replicas starting together migrate one after the other,
                # and the later ones then find the schema at head.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            else:
                # SQLite's write lock, taken up front, does the same for several processes.
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            await connection.run_sync(_upgrade_to_head)

    async def is_at_head(self) -> bool:
        """True when the schema is at the newest migration (False on an empty database)."""
        async with self.connect() as connection:
            return await connection.run_sync(_is_at_head)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # `from None`: SQLAlchemy's message repeats the URL, which may hold a password.
        raise ConfigurationError(VARIABLE, "is not a database URL") from None
    if parsed.drivername not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise ConfigurationError(
            VARIABLE, "must start with sqlite+aiosqlite:/// or postgresql+asyncpg://"
        )
    return parsed


def _create_engine(url: URL) -> AsyncEngine:
    # hide_parameters: bound values (sealed tokens, key hashes) stay out of errors and logs.
    if url.drivername == "postgresql+asyncpg":
        return create_async_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args={"timeout": CONNECT_TIMEOUT},
        )
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(VARIABLE, "a SQLite URL needs a file path")
    _ensure_directory(Path(path).parent)
    engine = create_async_engine(url, hide_parameters=True)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _ensure_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            VARIABLE, f"cannot create the directory {directory}: {exc.strerror}"
        ) from None


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL; the mode is the file's, so it stays for every later connection.
    The switch fails at once (busy_timeout or not) while another connection holds a lock: on a
    new file, that is a connection opened at the same moment, which has made the switch itself,
    so this one goes on without it (waiting here would block the event loop it needs)."""
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except Exception as exc:  # the driver adapter's OperationalError
        if "locked" not in str(exc):
            raise


def _alembic_config(connection: Connection) -> Config:
    # Built in code: nothing to ship or find at run time besides the migrations package.
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


def _is_at_head(connection: Connection) -> bool:
    heads = ScriptDirectory.from_config(_alembic_config(connection)).get_heads()
    current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(heads)
