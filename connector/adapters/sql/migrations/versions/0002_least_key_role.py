"""API keys may name an IAM role (role elevation, issue 12)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_least"
down_revision: str | Sequence[str] | None = "0002_mcp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("role", sa.String(2048), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "role")
