"""The SQL adapter (SQLite, PostgreSQL): ConnectionStore and ApiKeyStore, with migrations."""

from connector.adapters.sql.api_key_store import SqlApiKeyStore
from connector.adapters.sql.connection_store import SqlConnectionStore
from connector.adapters.sql.database import SqlDatabase

__all__ = ["SqlApiKeyStore", "SqlConnectionStore", "SqlDatabase"]
