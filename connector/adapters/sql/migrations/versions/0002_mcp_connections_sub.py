"""Index connections by `sub`: MCP user mode finds the connection of an access token's subject."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_mcp"
down_revision: str | Sequence[str] | None = "0002_providers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_connections_sub", "connections", ["sub"])


def downgrade() -> None:
    op.drop_index("ix_connections_sub", table_name="connections")
