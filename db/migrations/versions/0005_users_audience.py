"""users: a covering index for /stats and broadcast audiences

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_users_audience",
        "users",
        ["platform", "province_id", "value_chain", "blocked", "last_seen"],
    )


def downgrade() -> None:
    op.drop_index("ix_users_audience", table_name="users")
