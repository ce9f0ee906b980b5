"""SqlConnectionStore: the ConnectionStore port on SQL, with optimistic versioning."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import (
    Executable,
    Result,
    RowMapping,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from connector.adapters.sql.outbox import add_records
from connector.adapters.sql.tables import connections
from connector.domain.events import OutboxRecord
from connector.domain.models import Connection, ConnectionStatus, SealedTokens
from connector.domain.providers import DEFAULT_PROVIDER
from connector.errors import VersionConflictError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from connector.adapters.sql.database import SqlDatabase


class SqlConnectionStore:
    """Rows of `connections`; every write checks and bumps `version` in one statement."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def get(self, user_id: str, provider: str = DEFAULT_PROVIDER) -> Connection | None:
        """The user's connection with `provider`, or None."""
        query = select(connections).where(_key(user_id, provider))
        result = await self._database.read(lambda conn: conn.execute(query))
        row = result.mappings().first()
        return None if row is None else _connection_from(row)

    async def put(
        self,
        connection: Connection,
        *,
        expected_version: int | None,
        outbox: Sequence[OutboxRecord] = (),
    ) -> Connection:
        """Create (expected_version None) or replace while the stored version is expected;
        the outbox records in the same transaction."""
        values = _values_of(connection)
        if expected_version is None:
            created = insert(connections).values(**values, version=1)

            async def create(conn: AsyncConnection) -> None:
                await conn.execute(created)
                await add_records(conn, outbox)

            try:
                await self._database.write(create)
            except IntegrityError as exc:
                # The primary key is the only constraint a well-formed connection can break.
                raise VersionConflictError(
                    f"user {connection.user_id!r} already has a connection with"
                    f" {connection.provider!r}"
                ) from exc
            return msgspec.structs.replace(connection, version=1)
        statement = (
            update(connections)
            .where(_key(connection.user_id, connection.provider))
            .where(connections.c.version == expected_version)
            .values(**_without_key(values), version=expected_version + 1)
        )

        async def replace(conn: AsyncConnection) -> None:
            if (await conn.execute(statement)).rowcount != 1:
                # Raised inside the transaction: the outbox records roll back with it.
                raise VersionConflictError(
                    f"the connection of {connection.user_id!r} is not at version {expected_version}"
                )
            await add_records(conn, outbox)

        await self._database.write(replace)
        return msgspec.structs.replace(connection, version=expected_version + 1)

    async def delete(
        self,
        user_id: str,
        provider: str = DEFAULT_PROVIDER,
        *,
        outbox: Sequence[OutboxRecord] = (),
    ) -> bool:
        """Remove the user's connection with `provider`; True if there was one (the outbox
        records with it)."""
        statement = delete(connections).where(_key(user_id, provider))

        async def remove(conn: AsyncConnection) -> bool:
            removed = (await conn.execute(statement)).rowcount > 0
            if removed:
                await add_records(conn, outbox)
            return bool(removed)

        return await self._database.write(remove)

    async def find_by_sub(
        self, sub: str, provider: str = DEFAULT_PROVIDER, *, limit: int = 2
    ) -> list[Connection]:
        """The connections of `provider` holding this Cognito account, by user id (indexed on
        `sub`)."""
        query = (
            select(connections)
            .where(connections.c.sub == sub, connections.c.provider == provider)
            .order_by(connections.c.user_id)
            .limit(limit)
        )
        rows = (await self._database.read(_executing(query))).mappings().all()
        return [_connection_from(row) for row in rows]

    async def iterate(
        self, *, page_size: int = 100, on_unreadable: Callable[[str], None] | None = None
    ) -> AsyncIterator[Connection]:
        """Every stored connection, ordered by user id (then provider), one short query per
        page. (Typed columns: a row always reads, so `on_unreadable` is never called.)"""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        after: tuple[str, str] | None = None
        columns = connections.c
        while True:
            query = select(connections).order_by(columns.user_id, columns.provider)
            query = query.limit(page_size)
            if after is not None:
                # Keyset, not OFFSET: rows rewritten or removed meanwhile cannot shift a page.
                user_id, provider = after
                query = query.where(
                    or_(
                        columns.user_id > user_id,
                        and_(columns.user_id == user_id, columns.provider > provider),
                    )
                )
            # The connection goes back to the pool before the caller sees a row, so a caller
            # that writes while iterating never waits on, or deadlocks with, this read.
            rows = (await self._database.read(_executing(query))).mappings().all()
            for row in rows:
                yield _connection_from(row)
            if len(rows) < page_size:
                return
            after = (rows[-1]["user_id"], rows[-1]["provider"])

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        """How many connections are in each status: one grouped query."""
        status = connections.c.status
        query = select(status, func.count().label("count")).group_by(status)
        rows = (await self._database.read(_executing(query))).mappings().all()
        counts = dict.fromkeys(ConnectionStatus, 0)
        for row in rows:
            counts[ConnectionStatus(row["status"])] = int(row["count"])
        return counts

    async def ping(self) -> None:
        """Raise UpstreamUnavailableError if the database cannot answer."""
        await self._database.ping()

    async def close(self) -> None:
        """Close the shared engine's pool (SqlDatabase owns it; closing twice is harmless)."""
        await self._database.close()


def _executing(statement: Executable) -> Callable[[AsyncConnection], Awaitable[Result[Any]]]:
    return lambda conn: conn.execute(statement)


def _key(user_id: str, provider: str) -> Any:
    return and_(connections.c.user_id == user_id, connections.c.provider == provider)


def _values_of(connection: Connection) -> dict[str, Any]:
    for scope in connection.scopes:
        # Scopes are stored space-joined (as OAuth sends them); these could not come back.
        if not scope or any(ch.isspace() for ch in scope):
            raise ValueError(f"invalid OAuth scope {scope!r}")
    return {
        "user_id": connection.user_id,
        "provider": connection.provider,
        "status": connection.status.value,
        "sub": connection.sub,
        "username": connection.username,
        "email": connection.email,
        "scopes": " ".join(connection.scopes),
        "identity_id": connection.identity_id,
        "access_token": connection.tokens.access_token,
        "id_token": connection.tokens.id_token,
        "refresh_token": connection.tokens.refresh_token,
        "issued_at": connection.issued_at,
        "expires_at": connection.expires_at,
        "last_refreshed_at": connection.last_refreshed_at,
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
    }


def _without_key(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in ("user_id", "provider")}


def _connection_from(row: RowMapping) -> Connection:
    return Connection(
        user_id=row["user_id"],
        provider=row["provider"],
        status=ConnectionStatus(row["status"]),
        sub=row["sub"],
        username=row["username"],
        email=row["email"],
        scopes=tuple(row["scopes"].split()),
        identity_id=row["identity_id"],
        tokens=SealedTokens(
            access_token=row["access_token"],
            id_token=row["id_token"],
            refresh_token=row["refresh_token"],
        ),
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        last_refreshed_at=row["last_refreshed_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )
