"""SqlDatabase: one async engine (SQLite or PostgreSQL), its stores, migrations and failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext import asyncio as sqlalchemy_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.adapters.sql.api_key_store import SqlApiKeyStore
from connector.adapters.sql.connection_store import SqlConnectionStore
from connector.adapters.sql.failures import sql_failures_translated
from connector.adapters.sql.outbox import SqlOutbox
from connector.errors import ConfigurationError

VARIABLE = "CONNECTOR_DATABASE_URL"
MIGRATIONS = "connector.adapters.sql:migrations"
DEFAULT_TIMEOUT = 5.0
SQLITE_BUSY_TIMEOUT_MS = 5000
# Any fixed 64-bit key works; every replica must use the same one. ASCII "connecto".
MIGRATION_LOCK_KEY = 0x636F6E6E6563746F
T = TypeVar("T")


class SqlDatabase:
    """Owns the engine; `connections` and `api_keys` are the stores built on it.

    Every store operation (`read`, `write`) answers within `timeout` seconds, from the pool
    checkout to the last row: a server that stopped answering costs a bounded wait, never a
    hung request. The connect and the wait for a pooled connection have the same bound.
    """

    def __init__(self, engine: AsyncEngine, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._engine = engine
        self._timeout = timeout
        # PostgreSQL reads skip BEGIN/ROLLBACK: one round trip for a lookup, not three (API
        # keys are read on every request). SQLite opens no transaction for a SELECT anyway.
        self._read_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        # Operations past their deadline, still closing their connection; held so they are
        # not garbage-collected while they do.
        self._abandoned: set[asyncio.Task[Any]] = set()
        self.connections = SqlConnectionStore(self)
        self.api_keys = SqlApiKeyStore(self)
        self.outbox: SqlOutbox | None = SqlOutbox(self)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> SqlDatabase:
        """`sqlite+aiosqlite:///path` or `postgresql+asyncpg://…`; else ConfigurationError."""
        return cls(_create_engine(_parse(url), timeout), timeout=timeout)

    @property
    def timeout(self) -> float:
        """The deadline of each store operation, in seconds."""
        return self._timeout

    @property
    def engine(self) -> AsyncEngine:
        """The engine (for diagnostics and tests; the stores go through `read` and `write`)."""
        return self._engine

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    async def read(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on a connection where each statement sees committed data, within the
        deadline, failures translated."""
        return await self._within_deadline(self._read_engine.connect, work)

    async def write(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` in a transaction committed at the end, within the deadline, failures
        translated."""
        return await self._within_deadline(self._engine.begin, work)

    async def _within_deadline(
        self,
        session: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
        work: Callable[[AsyncConnection], Awaitable[T]],
    ) -> T:
        async def operation() -> T:
            async with session() as connection:
                return await work(connection)

        # A task of its own, so the caller can be answered at the deadline: the cleanup of a
        # cancelled operation may wait on the server too (SQLAlchemy gives a graceful close 2 s
        # before it terminates the connection), and that wait is not the caller's.
        task = asyncio.ensure_future(operation())
        with sql_failures_translated():
            try:
                return await asyncio.wait_for(asyncio.shield(task), self._timeout)
            except BaseException:
                if not task.done():
                    task.cancel()
                    self._abandoned.add(task)
                    task.add_done_callback(_forget_abandoned(self._abandoned))
                raise

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads with failures translated and no deadline (migrations,
        maintenance and tests; the stores use `read`)."""
        with sql_failures_translated():
            async with self._read_engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction committed at the end, failures translated, no deadline (migrations,
        maintenance and tests; the stores use `write`)."""
        with sql_failures_translated():
            async with self._engine.begin() as connection:
                yield connection

    async def ping(self) -> None:
        """Raise UpstreamUnavailableError unless the database answers within the deadline."""
        await self.read(_select_one)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` (head: the newest); idempotent, and safe from
        several replicas at once. An older revision serves tests of the migrations themselves."""
        # No deadline: a migration takes as long as it takes, and waits for other replicas'.
        async with self.begin() as connection:
            await self._migrate_locked(connection, revision)

    async def _migrate_locked(self, connection: AsyncConnection, revision: str) -> None:
        if self.dialect_name == "postgresql":
            # Held until commit: replicas starting together migrate one after the other,
            # and the later ones then find the schema at head.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        else:
            # SQLite's write lock, taken up front, does the same for several processes.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        await connection.run_sync(_upgrade_to, revision)

    async def is_at_head(self) -> bool:
        """True when the schema is at the newest migration (False on an empty database)."""
        return await self.read(lambda connection: connection.run_sync(_is_at_head))


async def _select_one(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT 1"))


def _forget_abandoned(abandoned: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def forget(task: asyncio.Task[Any]) -> None:
        abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # seen: nobody awaits an abandoned operation's failure

    return forget


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


def _create_engine(url: URL, timeout: float) -> AsyncEngine:
    # hide_parameters: bound values (sealed tokens, key hashes) stay out of errors and logs.
    if url.drivername == "postgresql+asyncpg":
        return _create_async_engine(
            url,
            # A pooled connection the server dropped (a restart, a failover) is found by a
            # ping at checkout and replaced, instead of failing the request that drew it.
            pool_pre_ping=True,
            pool_timeout=timeout,  # waiting for a free pooled connection
            hide_parameters=True,
            connect_args={"timeout": timeout},  # asyncpg's connect, TLS and auth included
        )
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(VARIABLE, "a SQLite URL needs a file path")
    _ensure_directory(Path(path).parent)
    engine = _create_async_engine(url, pool_timeout=timeout, hide_parameters=True)
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


def _upgrade_to(connection: Connection, revision: str) -> None:
    command.upgrade(_alembic_config(connection), revision)


def _is_at_head(connection: Connection) -> bool:
    heads = ScriptDirectory.from_config(_alembic_config(connection)).get_heads()
    current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(heads)


def _create_async_engine(*args: Any, **kwargs: Any) -> AsyncEngine:
    # Looked up when called, not bound at import: OpenTelemetry's SQLAlchemy instrumentation
    # wraps the module's function, whenever the tracing starts.
    return sqlalchemy_asyncio.create_async_engine(*args, **kwargs)
