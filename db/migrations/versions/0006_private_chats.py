"""private chats: put back the chat ids that groups overwrote

Before the bot kept to private chats (bot/groups.py), a member who wrote in a group where the bot
was present had their stored chat replaced by the group's, and announcements, status notices and
watches for them went to the group. A private chat's id is the member's user id on Telegram and on
Bale, so every stored chat id that differs from its user id is such a group's, and is put back;
deliveries already sent or ended are history and stay as they were.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, only_waiting in (
        ("users", False),
        ("application_watches", False),
        ("deliveries", True),
    ):
        target = sa.table(table, sa.column("chat_id"), sa.column("user_id"), sa.column("status"))
        repair = (
            sa.update(target)
            .where(target.c.chat_id != target.c.user_id)
            .values(chat_id=target.c.user_id)
        )
        if only_waiting:
            repair = repair.where(target.c.status.in_(("pending", "sending")))
        op.execute(repair)


def downgrade() -> None:
    pass  # the groups' ids are not worth restoring: nothing should ever be sent to them
