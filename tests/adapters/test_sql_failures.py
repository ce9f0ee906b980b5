"""The SQL failure table: decided by the wrapped cause, the way SQLAlchemy actually wraps it."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from connector.adapters.sql.failures import causes, is_unavailable, sql_failures_translated
from connector.errors import UpstreamUnavailableError


class AdaptedDbapiError(Exception):
    """What SQLAlchemy's asyncpg adapter raises: its own DBAPI error, `from` asyncpg's."""


def wrapped(driver_error: BaseException, *, kind: type[DBAPIError] = DBAPIError) -> DBAPIError:
    """SQLAlchemy's wrapper around the adapter's error around `driver_error`."""
    try:
        try:
            raise driver_error
        except BaseException as exc:
            raise AdaptedDbapiError(str(exc)) from exc
    except AdaptedDbapiError as adapted:
        return kind("SELECT 1", {}, adapted)


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]  # set by sqlite3 itself
    return error


UNAVAILABLE = {
    "57P03 starting up, wrapped as a bare DBAPIError": wrapped(
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    ),
    "57P01 admin shutdown": wrapped(
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator")
    ),
    "57P02 crash shutdown": wrapped(asyncpg.exceptions.CrashShutdownError("crash")),
    "53300 too many connections": wrapped(
        asyncpg.exceptions.TooManyConnectionsError("too many connections for role")
    ),
    "53100 disk full": wrapped(asyncpg.exceptions.DiskFullError("could not extend file")),
    "08003 connection does not exist": wrapped(
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")
    ),
    "08006 connection failure": wrapped(asyncpg.exceptions.ConnectionFailureError("lost")),
    "25006 read only (a failover)": wrapped(
        asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction")
    ),
    "asyncpg InterfaceError (connection is closed)": wrapped(
        asyncpg.InterfaceError("connection is closed"), kind=InterfaceError
    ),
    "refused at connect (raw OSError)": ConnectionRefusedError(111, "Connect call failed"),
    "reset": wrapped(ConnectionResetError(104, "Connection reset by peer")),
    "asyncio timeout": TimeoutError(),
    "pool timeout": PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    "sqlite cannot open": wrapped(
        sqlite_error(sqlite3.SQLITE_CANTOPEN, "unable to open database file"),
        kind=OperationalError,
    ),
    "sqlite disk I/O (extended code)": wrapped(
        sqlite_error(sqlite3.SQLITE_IOERR_WRITE, "disk I/O error"), kind=OperationalError
    ),
    "sqlite locked past busy_timeout": wrapped(
        sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), kind=OperationalError
    ),
    "sqlite disk full": wrapped(
        sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"), kind=OperationalError
    ),
}

NOT_UNAVAILABLE = {
    "sqlite no such table": wrapped(
        sqlite_error(sqlite3.SQLITE_ERROR, "no such table: connections"), kind=OperationalError
    ),
    "sqlite corrupt": wrapped(
        sqlite_error(sqlite3.SQLITE_CORRUPT, "database disk image is malformed"),
        kind=OperationalError,
    ),
    "sqlite binding misuse": wrapped(
        sqlite3.InterfaceError("Error binding parameter 1"), kind=InterfaceError
    ),
    "postgres undefined table": wrapped(
        asyncpg.exceptions.UndefinedTableError('relation "connections" does not exist'),
        kind=ProgrammingError,
    ),
    "postgres unique violation": wrapped(
        asyncpg.exceptions.UniqueViolationError("duplicate key"), kind=IntegrityError
    ),
    "a plain bug": RuntimeError("bug"),
}


@pytest.mark.parametrize("error", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
def test_a_connection_class_cause_is_upstream_unavailable(error: BaseException) -> None:
    assert is_unavailable(error)
    with pytest.raises(UpstreamUnavailableError) as raised, sql_failures_translated():
        raise error
    assert raised.value.retry_after == 2
    assert raised.value.__cause__ is error


@pytest.mark.parametrize("error", NOT_UNAVAILABLE.values(), ids=NOT_UNAVAILABLE.keys())
def test_a_statement_the_database_refused_propagates_unchanged(error: BaseException) -> None:
    assert not is_unavailable(error)
    with pytest.raises(type(error)) as raised, sql_failures_translated():
        raise error
    assert raised.value is error


def test_an_invalidated_connection_is_unavailable_whatever_its_cause() -> None:
    lost = DBAPIError("SELECT 1", {}, RuntimeError("?"), connection_invalidated=True)
    assert is_unavailable(lost)


def test_a_value_a_column_refused_comes_back_as_that_value_error() -> None:
    refused = ValueError("naive datetime refused")
    wrapper = StatementError("bind", "INSERT", {}, refused)
    with pytest.raises(ValueError, match="naive") as raised, sql_failures_translated():
        raise wrapper
    assert raised.value is refused


def test_causes_walks_orig_then_cause_each_once() -> None:
    error = wrapped(asyncpg.exceptions.CannotConnectNowError("starting up"))
    walked = [type(cause).__name__ for cause in causes(error)]
    assert walked == ["DBAPIError", "AdaptedDbapiError", "CannotConnectNowError"]
