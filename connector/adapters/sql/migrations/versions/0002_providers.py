"""Providers: connections keyed by (user_id, provider), existing rows belong to `default`; API
keys carry the providers they may act on ([] for every provider)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_providers"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of tables.PROVIDER as it is at this revision.
_PROVIDER = sa.String(32).with_variant(sa.String(32, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        # Every row written before providers existed is the default provider's.
        batch.add_column(sa.Column("provider", _PROVIDER, nullable=False, server_default="default"))
        batch.drop_constraint("pk_connections", type_="primary")
        batch.create_primary_key("pk_connections", ["user_id", "provider"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("providers", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("providers")
    # Only the default provider's connections fit the previous key.
    op.execute("DELETE FROM connections WHERE provider <> 'default'")
    with op.batch_alter_table("connections") as batch:
        batch.drop_constraint("pk_connections", type_="primary")
        batch.create_primary_key("pk_connections", ["user_id"])
        batch.drop_column("provider")
