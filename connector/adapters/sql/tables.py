"""The SQL schema in SQLAlchemy Core: the `connections`, `api_keys` and `webhook_outbox` tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can name what they create and later alter it.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
}

# Byte order ("C") on PostgreSQL, like SQLite's BINARY: keyset pagination then walks user ids
# in the same order on every backend and whatever the database's locale.
USER_ID = String(128).with_variant(String(128, collation="C"), "postgresql")
PROVIDER = String(32).with_variant(String(32, collation="C"), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; a naive datetime is a bug and is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: store timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no offset: what it returns is the UTC written above.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

connections = Table(
    "connections",
    metadata,
    Column("user_id", USER_ID, primary_key=True),
    # The Cognito set-up of the connection: a user has one connection per provider.
    Column("provider", PROVIDER, primary_key=True, server_default="default"),
    Column("status", String(32), nullable=False),
    Column("sub", String(255), nullable=False),
    Column("username", String(255), nullable=True),
    Column("email", String(320), nullable=True),
    Column("scopes", Text, nullable=False),  # space-joined, in the order granted
    Column("identity_id", String(255), nullable=True),
    # Ciphertext only: the Cipher port seals tokens before the store sees them.
    Column("access_token", Text, nullable=False),
    Column("id_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("last_refreshed_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    # MCP user mode finds the connection of an access token's `sub`.
    Index("ix_connections_sub", "sub"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("key_hash", String(128), nullable=False),
    Column("scopes", Text, nullable=False),  # space-joined, sorted
    Column("buckets", Text, nullable=False),  # JSON array of patterns
    Column("functions", Text, nullable=False),  # JSON array of patterns
    Column("read_only", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("role", String(2048), nullable=True),  # an IAM role ARN (role elevation)
    # JSON array of provider names the key may act on; [] means every provider.
    Column("providers", Text, nullable=False, server_default="[]"),
)

# Webhook events waiting for (or done with) delivery, written in the transaction of the change.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("type", String(64), nullable=False),
    Column("user_id", USER_ID, nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("settled_at", UtcDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Index("ix_webhook_outbox_due", "status", "next_attempt_at"),
)
