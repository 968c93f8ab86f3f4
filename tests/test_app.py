"""The application factory: command menus, the member loader, the one error handler, platforms."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.app import build_application, publish_commands
from bot.context import BotContext
from bot.offline import OFFLINE_TOKEN, ApiCall, Member, OfflineBotApi
from bot.settings import Settings
from db import users
from tests.conftest import database_away, finish_setup

COMMANDS_FA = [
    {"command": "menu", "description": "منوی اصلی"},
    {"command": "programs", "description": "برنامه‌های حمایتی: تسهیلات، کمک بلاعوض، بیمه"},
    {"command": "status", "description": "پیگیری درخواست با کد رهگیری"},
    {"command": "nearby", "description": "تعاونی‌های زنجیره ارزش شما در نزدیکی‌تان"},
    {"command": "subscribe", "description": "انتخاب اطلاعیه‌هایی که دریافت می‌کنید"},
    {"command": "start", "description": "تنظیم استان، شهرستان و زنجیره ارزش"},
    {"command": "language", "description": "فارسی یا انگلیسی"},
    {"command": "help", "description": "این بات چه کارهایی می‌کند"},
    {"command": "cancel", "description": "توقف کار جاری"},
]
COMMANDS_EN = [
    {"command": "menu", "description": "Main menu"},
    {"command": "programs", "description": "Support programs: loans, grants, insurance"},
    {"command": "status", "description": "Check an application by its tracking code"},
    {"command": "nearby", "description": "Cooperatives of your value chain near you"},
    {"command": "subscribe", "description": "Choose which announcements you receive"},
    {"command": "start", "description": "Set up province, county and value chain"},
    {"command": "language", "description": "Persian or English"},
    {"command": "help", "description": "What this bot can do"},
    {"command": "cancel", "description": "Stop what you are doing"},
]


async def test_command_menus_are_published_in_persian_and_english(
    app: Application,
    api: OfflineBotApi,
) -> None:
    await publish_commands(app)
    published = [
        (call.params.get("language_code"), call.params["commands"])
        for call in api.calls
        if call.method == "setMyCommands"
    ]
    assert published == [("fa", COMMANDS_FA), (None, COMMANDS_FA), ("en", COMMANDS_EN)]


async def test_a_failing_handler_apologises_in_the_members_language_and_logs_the_update(
    app: Application,
    chat: Member,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom(update: Update, context: BotContext) -> None:
        raise RuntimeError("database on fire")

    app.handlers[0].insert(0, CommandHandler("boom", boom))
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await chat.send("/boom")
    assert chat.texts == [
        "متأسفیم، مشکلی از طرف ما پیش آمد. لطفاً دوباره امتحان کنید یا /menu را بفرستید."
    ]
    assert "Traceback" not in (chat.last.text or "")
    assert any(
        "failed" in r.getMessage() and "database on fire" in r.getMessage() for r in caplog.records
    )


async def test_a_failing_button_is_answered_so_the_spinner_stops(
    app: Application,
    chat: Member,
) -> None:
    from telegram.ext import CallbackQueryHandler

    async def boom(update: Update, context: BotContext) -> None:
        raise RuntimeError("bug")

    app.handlers[0].insert(0, CallbackQueryHandler(boom, pattern="^boom"))
    await chat.press_data("boom:x:1")
    assert [c.method for c in chat.replies] == ["answerCallbackQuery", "sendMessage"]


async def test_every_update_records_the_member_under_their_platform(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/menu")
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None
    assert (stored.chat_id, stored.first_name, stored.setup_done) == (1001, "Maryam", False)
    assert await users.get(engine, "bale", 1001) is None


async def test_a_bale_bot_talks_to_bales_api(settings: Settings, engine: AsyncEngine) -> None:
    bale = settings.model_copy(update={"platform": "bale"})
    application = build_application(bale, engine, token=OFFLINE_TOKEN, request=OfflineBotApi())
    assert application.bot.base_url == f"https://tapi.bale.ai/bot{OFFLINE_TOKEN}"
    assert application.bot.base_file_url == f"https://tapi.bale.ai/file/bot{OFFLINE_TOKEN}"


async def test_bale_and_telegram_members_with_the_same_id_are_different_people(
    settings: Settings, engine: AsyncEngine, chat: Member
) -> None:
    bale_api = OfflineBotApi()
    bale_settings = settings.model_copy(update={"platform": "bale"})
    bale_app = build_application(bale_settings, engine, token=OFFLINE_TOKEN, request=bale_api)
    async with bale_app:
        bale_member = Member(bale_app, bale_api, 1001, first_name="Reza")
        await bale_member.send("/start")
        await bale_member.press("English")
    await chat.send("/menu")
    telegram_user = await users.get(engine, "telegram", 1001)
    bale_user = await users.get(engine, "bale", 1001)
    assert telegram_user is not None and bale_user is not None
    assert (telegram_user.first_name, telegram_user.locale) == ("Maryam", None)
    assert (bale_user.first_name, bale_user.locale) == ("Reza", "en")


async def test_an_edited_message_gets_no_reply(chat: Member) -> None:
    update = {"edited_message": {**chat._message(text="سلام"), "edit_date": 1}}
    await chat._process(update)
    assert chat.replies == []


async def test_an_edit_while_a_step_waits_for_text_is_not_taken_as_the_answer(
    chat: Member, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")  # the province step waits for a typed name
    await chat._process({"edited_message": {**chat._message(text="یزد"), "edit_date": 1}})
    assert chat.replies == []
    assert "failed" not in caplog.text
    await chat.send("کرمان")
    assert (chat.last.text or "").startswith("کدام شهرستان استان کرمان؟")


async def test_a_button_press_delivered_twice_is_handled_once_and_logged_as_no_error(
    chat: Member, api: OfflineBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.send("/language")
    chat._queries.add("42")
    press = {
        "id": "42",
        "from": chat.user,
        "chat_instance": "1001",
        "data": "lang:set:en",
        "message": api.messages_in(chat.chat_id)[-1],
    }
    await chat._process({"callback_query": press})
    assert [c.method for c in chat.replies] == [
        "answerCallbackQuery",
        "editMessageText",
        "sendMessage",
    ]
    # The platform delivers it again (a webhook answered too slowly): the Bot API refuses a
    # second answer, and that is all there is to it.
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await chat._process({"callback_query": press})
    assert [(c.method, c.result["ok"]) for c in chat.replies] == [("answerCallbackQuery", False)]
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "too late to answer" in caplog.records[0].getMessage()


APOLOGY = "متأسفیم، مشکلی از طرف ما پیش آمد. لطفاً دوباره امتحان کنید یا /menu را بفرستید."


async def test_while_the_database_is_away_a_member_gets_the_apology_and_nothing_else(
    chat: Member, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    with database_away(engine):
        await chat.send("/menu")
    # Not the apology and then the menu, as if nothing were wrong; nor two apologies.
    assert [(c.method, c.text) for c in chat.replies] == [("sendMessage", APOLOGY)]


async def test_a_button_pressed_while_the_database_is_away_is_answered_once_then_apologised_for(
    chat: Member, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    with database_away(engine):
        await chat.press_data("prog:home:")
    assert [(c.method, c.text) for c in chat.replies] == [
        ("answerCallbackQuery", None),
        ("sendMessage", APOLOGY),
    ]


async def test_a_press_answered_before_the_database_went_away_still_gets_the_apology(
    chat: Member, api: OfflineBotApi, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    with database_away(engine, away=False) as outage:

        def away_once_answered(call: ApiCall) -> None:
            outage.away = outage.away or call.method == "answerCallbackQuery"

        api.interceptor = away_once_answered
        await chat.press_data("prog:home:")
    assert [(c.method, c.text, took(c)) for c in chat.replies] == [
        ("answerCallbackQuery", None, True),
        ("answerCallbackQuery", None, False),  # the apology's answer: the press had its own
        ("sendMessage", APOLOGY, True),
    ]


def took(call: ApiCall) -> bool:
    return not (isinstance(call.result, dict) and call.result.get("ok") is False)


async def test_background_work_meeting_the_database_away_is_a_warning_not_an_error(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    """Persistence's rounds and the progress job fail every few seconds while the database is
    away; the operator gets one warning line each, not an error with a traceback."""
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
    for error in (OperationalError("connect", None, refused), refused):
        with caplog.at_level(logging.WARNING):
            await app.process_error(None, error)
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert all("database unreachable, retrying" in r.getMessage() for r in caplog.records)
