"""users: members keyed by (platform, user id) with their preferences

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(128), nullable=False, server_default=""),
        sa.Column("locale", sa.String(8)),
        sa.Column("province_id", sa.String(8)),
        sa.Column("county_id", sa.Integer()),
        sa.Column("value_chain", sa.String(32)),
        sa.Column("setup_done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name="pk_users"),
    )


def downgrade() -> None:
    op.drop_table("users")
