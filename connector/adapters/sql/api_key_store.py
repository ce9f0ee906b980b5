"""SqlApiKeyStore: the ApiKeyStore port on SQL (hashes only, never a key)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from connector.adapters.sql.tables import api_keys
from connector.domain.models import ApiKey, Scope
from connector.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from connector.adapters.sql.database import SqlDatabase


class SqlApiKeyStore:
    """Rows of `api_keys`; `id` and `name` are each unique."""

    def __init__(self, database: SqlDatabase) -> None:
        self._database = database

    async def create(self, key: ApiKey) -> None:
        """Store a new key; ValidationError if its id or name is taken."""
        statement = insert(api_keys).values(**_values_of(key))
        try:
            await self._database.write(lambda conn: conn.execute(statement))
        except IntegrityError as exc:
            raise ValidationError(
                f"an API key named {key.name!r} or with the id {key.id!r} already exists"
            ) from exc

    async def get(self, key_id: str) -> ApiKey | None:
        """The key with this id, revoked or not."""
        return await self._database.read(lambda conn: _fetch(conn, key_id))

    async def list(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        result = await self._database.read(lambda conn: conn.execute(query))
        return [_key_from(row) for row in result.mappings().all()]

    async def revoke(self, id_or_name: str, at: datetime) -> ApiKey | None:
        """Mark revoked at `at` unless already revoked; an id matches before a name."""

        async def revoke(conn: AsyncConnection) -> ApiKey | None:
            key_id = await _resolve(conn, id_or_name)
            if key_id is None:
                return None
            # `revoked_at IS NULL` in the statement keeps the first time, even when two
            # replicas revoke the same key at once.
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            return await _fetch(conn, key_id)

        return await self._database.write(revoke)


async def _resolve(conn: AsyncConnection, id_or_name: str) -> str | None:
    for column in (api_keys.c.id, api_keys.c.name):
        found = (await conn.execute(select(api_keys.c.id).where(column == id_or_name))).first()
        if found is not None:
            return str(found.id)
    return None


async def _fetch(conn: AsyncConnection, key_id: str) -> ApiKey | None:
    query = select(api_keys).where(api_keys.c.id == key_id)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _key_from(row)


def _values_of(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "key_hash": key.key_hash,
        "scopes": " ".join(sorted(scope.value for scope in key.scopes)),
        "buckets": json.dumps(list(key.buckets)),
        "functions": json.dumps(list(key.functions)),
        "read_only": key.read_only,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "role": key.role,
        "providers": json.dumps(list(key.providers)),
    }


def _key_from(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        key_hash=row["key_hash"],
        scopes=frozenset(Scope(value) for value in row["scopes"].split()),
        buckets=tuple(json.loads(row["buckets"])),
        functions=tuple(json.loads(row["functions"])),
        read_only=bool(row["read_only"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        role=row["role"],
        providers=tuple(json.loads(row["providers"])),
    )
