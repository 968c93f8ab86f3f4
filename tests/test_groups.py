"""Private chats only: what a member does in a group or channel where the bot is present changes
nothing of theirs, starts no journey and sends nothing there but one invitation to a private chat."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.offline import ApiCall, BotApiError, Member, OfflineBotApi
from bot.sender import Sender
from db import outbox, users
from db.engine import create_engine, upgrade
from db.schema import deliveries
from tests.conftest import MemberFactory, database_away, finish_setup
from tests.test_fallback import HINT

SUPERGROUP: dict[str, Any] = {
    "id": -100777,
    "type": "supergroup",
    "title": "تعاونی زنبورداران کرمان",
}
GROUP: dict[str, Any] = {"id": -4242, "type": "group", "title": "Bees"}
CHANNEL: dict[str, Any] = {"id": -100999, "type": "channel", "title": "News"}
INVITATION_FA = (
    "من فقط در گفتگوی خصوصی پاسخ می‌دهم: https://t.me/coopbot_offline_bot را باز کنید "
    "و آنجا /start را بفرستید."
)
INVITATION_EN = (
    "I answer in a private chat only: open https://t.me/coopbot_offline_bot and send /start there."
)


def to_chat(api: OfflineBotApi, chat_id: int) -> list[tuple[str, str | None]]:
    return [(c.method, c.text) for c in api.calls if c.chat_id == chat_id]


async def test_a_command_in_a_supergroup_gets_one_invitation_and_changes_nothing(
    chat: Member, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    before = await users.get(engine, "telegram", chat.user_id)
    replies = await chat.send_in(SUPERGROUP, "/help")
    assert [(c.method, c.chat_id, c.text) for c in replies] == [
        ("sendMessage", SUPERGROUP["id"], INVITATION_FA)
    ]
    assert await users.get(engine, "telegram", chat.user_id) == before  # chat id, name, last seen


async def test_a_newcomer_writing_in_a_group_is_not_recorded(
    member_factory: MemberFactory, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    stranger = member_factory(1050, language_code="en")
    assert [c.text for c in await stranger.send_in(GROUP, "/start")] == [INVITATION_EN]
    assert await users.get(engine, "telegram", 1050) is None


async def test_anything_but_a_command_for_this_bot_gets_nothing_in_a_group(
    chat: Member, api: OfflineBotApi
) -> None:
    for said in ("سلام", "وام زنبورداری", "/help@another_bot", "ZZ999999", "/"):
        assert await chat.send_in(SUPERGROUP, said) == [], said
    assert await chat.send_in(SUPERGROUP, "/menu@coopbot_offline_bot") != []


async def test_a_channel_post_gets_nothing(chat: Member, api: OfflineBotApi) -> None:
    assert await chat.post_in_channel(CHANNEL, "/start") == []
    assert to_chat(api, CHANNEL["id"]) == []


async def test_a_button_pressed_in_a_group_is_answered_with_the_invitation_only(
    chat: Member, api: OfflineBotApi
) -> None:
    replies = await chat.press_in(SUPERGROUP, "prog:home:")
    assert [(c.method, c.params.get("text")) for c in replies] == [
        ("answerCallbackQuery", INVITATION_FA)
    ]
    assert to_chat(api, SUPERGROUP["id"]) == []


async def test_no_journey_starts_in_a_group(chat: Member, api: OfflineBotApi) -> None:
    await finish_setup(chat)
    await chat.send_in(SUPERGROUP, "/status")
    assert await chat.send_in(SUPERGROUP, "ZZ999999") == []  # not the answer to a status step
    await chat.send("ZZ999999")
    assert chat.texts == [HINT]  # nor in the private chat


async def test_announcements_go_to_the_private_chat_of_a_member_who_spoke_in_a_group(
    app: Application, chat: Member, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    await chat.send_in(SUPERGROUP, "/help")
    await chat.send_in(SUPERGROUP, "سلام به همه")
    draft = await outbox.draft(engine, "telegram", 9001, "اطلاعیه")
    assert await outbox.queue_announcement(engine, draft.id) == 1
    await Sender(app.bot, engine, "telegram", 1000, "test").run_once()
    sent = [(c.chat_id, c.text) for c in api.calls if c.text == "اطلاعیه"]
    assert sent == [(chat.user_id, "اطلاعیه")]


async def test_the_migration_puts_back_private_chats_that_groups_overwrote(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await upgrade(engine, "0005")
    day = dt.datetime(2026, 11, 1)
    async with engine.begin() as connection:
        for user_id, chat_id in ((1, -100777), (2, 2)):
            await connection.execute(
                text(
                    "INSERT INTO users (platform, user_id, chat_id, first_seen, last_seen) "
                    "VALUES ('telegram', :u, :c, :d, :d)"
                ),
                {"u": user_id, "c": chat_id, "d": day},
            )
        for status in ("pending", "sending", "sent"):
            await connection.execute(
                text(
                    "INSERT INTO deliveries (platform, user_id, chat_id, text, status, "
                    "next_attempt_at, attempts) VALUES ('telegram', 1, -100777, :s, :s, :d, 0)"
                ),
                {"s": status, "d": day},
            )
    await upgrade(engine)
    async with engine.connect() as connection:
        chats = (await connection.execute(text("SELECT user_id, chat_id FROM users"))).all()
        sent_to = (await connection.execute(select(deliveries.c.text, deliveries.c.chat_id))).all()
    await engine.dispose()
    assert sorted(chats) == [(1, 1), (2, 2)]
    assert sorted(sent_to) == [("pending", 1), ("sending", 1), ("sent", -100777)]


async def test_a_command_in_a_group_while_the_database_refuses_connections_gets_the_invitation(
    chat: Member, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    # asyncpg's refusal, as it comes: an OSError, which SQLAlchemy does not wrap.
    with database_away(engine, ConnectionRefusedError(111, "Connect call failed")):
        replies = await chat.send_in(SUPERGROUP, "/help")
    assert [(c.method, c.chat_id, c.text) for c in replies] == [
        ("sendMessage", SUPERGROUP["id"], INVITATION_FA)
    ]


async def test_a_command_in_a_group_where_the_bot_may_not_write_is_no_error_and_changes_nothing(
    chat: Member, api: OfflineBotApi, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await finish_setup(chat)

    def no_right_to_write(call: ApiCall) -> None:
        if call.chat_id == SUPERGROUP["id"]:
            raise BotApiError(
                400, "Bad Request: not enough rights to send text messages to the chat"
            )

    api.interceptor = no_right_to_write
    with caplog.at_level(logging.WARNING):
        replies = await chat.send_in(SUPERGROUP, "/help")
    assert [(c.method, c.chat_id, c.text) for c in replies] == [
        ("sendMessage", SUPERGROUP["id"], INVITATION_FA)  # refused: and that is all
    ]
    assert caplog.records == []
    stored = await users.get(engine, "telegram", chat.user_id)
    assert stored is not None and stored.chat_id == chat.user_id  # announcements still go there
