"""The one translation of SQL failures: "the database cannot answer now" is UPSTREAM_UNAVAILABLE.

SQLAlchemy wraps what the driver raises, and its wrapper class says little: asyncpg's
`CannotConnectNowError` (SQLSTATE 57P03, "the database system is starting up" / "shutting
down") reaches us as a bare `DBAPIError`, SQLite's "no such table" as an `OperationalError`.
So the decision is made on the *cause*: the exception itself, then `exc.orig` (the DBAPI
error SQLAlchemy wrapped) and `__cause__` (the driver's error the DBAPI adapter wrapped), each
looked up in one table, as httpx's `map_httpcore_exceptions` does for its transport.

    looked at, in turn               unavailable when it is
    the exception itself             OSError (refused, reset, unreachable, TimeoutError)
      .orig (DBAPI error)            SQLAlchemy's pool timeout or disconnection
        .__cause__ (driver error)    asyncpg: class 08 (connection), 57 (operator intervention:
                                     57P01 admin shutdown, 57P02 crash, 57P03 cannot connect now,
                                     57014 statement timeout), 53 (too many connections, disk full,
                                     out of memory), 25006 (read-only: a failover in progress),
                                     InterfaceError (connection closed under us)
                                     sqlite3: busy, locked, read-only, I/O, full, cannot open
    or SQLAlchemy marked the connection invalidated (its dialect recognised a lost connection)

Anything else (a missing table, a bad statement) is a bug or a missing migration, which no
retry fixes: it propagates and becomes INTERNAL_ERROR.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy.exc import DBAPIError, DisconnectionError, StatementError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from connector.errors import UpstreamUnavailableError

RETRY_AFTER = 2

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    PoolTimeoutError,
    DisconnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.InterfaceError,
)
# SQLite's primary result codes (the low byte of an extended code) for a file that cannot be
# used now: another writer holds it past busy_timeout, the disk failed, filled up or turned
# read-only, or the file cannot be opened. Not SQLITE_ERROR ("no such table", a bad statement),
# nor CORRUPT or NOTADB: damage no retry repairs.
_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then what it wraps (`orig`, then `__cause__`), each once, outermost first."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        for inner in (orig, current.__cause__):
            if isinstance(inner, BaseException):
                pending.append(inner)


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or anything it wraps, says the database cannot answer now."""
    for cause in causes(exc):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        code = getattr(cause, "sqlite_errorcode", None)
        if isinstance(cause, sqlite3.Error) and isinstance(code, int):
            # SQLite's verdict is final: a code outside the table is a statement it refused.
            return (code & 0xFF) in _SQLITE_UNAVAILABLE
        if isinstance(cause, _UNAVAILABLE):
            return True
    return False


@contextmanager
def sql_failures_translated() -> Iterator[None]:
    """Connection-class failures become UpstreamUnavailableError (retry_after 2 s); a value
    a column refused stays the ValueError it was; everything else propagates unchanged."""
    try:
        yield
    except Exception as exc:
        if is_unavailable(exc):
            # A constant message: the URL, and so a password, never reaches a caller or a log.
            raise UpstreamUnavailableError("database unavailable", retry_after=RETRY_AFTER) from exc
        # SQLAlchemy wraps what a bind processor raises (UtcDateTime's naive-datetime refusal).
        if type(exc) is StatementError and isinstance(exc.orig, ValueError):
            raise exc.orig from exc
        raise
