"""Alembic environment: migrates on the connection SqlDatabase.migrate() hands it, never its own."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from connector.adapters.sql.tables import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    # SqlDatabase.migrate() already opened the transaction (and took the migration lock), so
    # this joins it and everything commits, or rolls back, at once.
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError("run migrations with `connector migrate` (SqlDatabase.migrate())")
run_migrations(_connection)
