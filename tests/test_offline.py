"""The offline Bot API double answers as the Bot API does, errors included."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application

from bot.offline import ApiCall, BotApiError, Member, OfflineBotApi


async def test_sent_messages_get_increasing_ids_per_chat(app: Application) -> None:
    first = await app.bot.send_message(5, "a")
    second = await app.bot.send_message(5, "b")
    other = await app.bot.send_message(6, "c")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)


async def test_editing_a_missing_message_is_a_bad_request(app: Application) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("x", chat_id=5, message_id=77)


async def test_editing_to_the_same_text_is_not_modified(app: Application) -> None:
    message = await app.bot.send_message(5, "same")
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await app.bot.edit_message_text("same", chat_id=5, message_id=message.message_id)


async def test_an_interceptor_injects_rate_limits_and_blocks(
    app: Application,
    api: OfflineBotApi,
) -> None:
    def flaky(call: ApiCall) -> None:
        if call.chat_id == 7:
            raise BotApiError(429, "Too Many Requests: retry after 3", retry_after=3)
        if call.chat_id == 8:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")

    api.interceptor = flaky
    with pytest.raises(RetryAfter, match="Flood control exceeded"):
        await app.bot.send_message(7, "x")
    with pytest.raises(Forbidden):
        await app.bot.send_message(8, "x")


async def test_a_document_the_member_sends_can_be_downloaded_by_the_bot(
    app: Application,
    chat: Member,
) -> None:
    await chat.send_document("coops.csv", b"national_id,name\n")
    file = await app.bot.get_file("doc1")
    assert bytes(await file.download_as_bytearray()) == b"national_id,name\n"


async def test_pressing_a_button_that_is_not_there_fails_the_test_clearly(chat: Member) -> None:
    await chat.send("/start")
    with pytest.raises(AssertionError, match="no button 'Deutsch'"):
        await chat.press("Deutsch")
