"""/menu, /help, /language and /cancel outside any conversation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import users
from tests.conftest import finish_setup
from tests.test_start import MENU_EN, MENU_FA


async def test_menu_command_shows_the_main_menu(chat: Member) -> None:
    await chat.send("/menu")
    assert chat.last.method == "sendMessage"
    assert chat.last.text == "از منوی زیر انتخاب کنید."
    assert chat.last.buttons == MENU_FA
    assert chat.last.is_reply_keyboard


async def test_help_lists_the_commands_and_credits_the_map_data(chat: Member) -> None:
    await chat.send("/help")
    assert chat.last.text == (
        "کوپ‌بات، بات اعضای تعاونی‌های ایران است. استان، شهرستان و زنجیره ارزش خود را یک بار "
        "بگویید؛ هر وقت خواستید از منو تغییرشان دهید.\n\n"
        "/menu: منوی اصلی\n"
        "/programs: برنامه‌های حمایتی مناسب تعاونی شما\n"
        "/status: پیگیری درخواست با کد رهگیری\n"
        "/nearby: تعاونی‌های زنجیره ارزش شما در نزدیکی‌تان\n"
        "/subscribe: انتخاب اطلاعیه‌هایی که دریافت می‌کنید\n"
        "/start: تنظیم استان، شهرستان و زنجیره ارزش\n"
        "/language: فارسی یا انگلیسی\n"
        "/cancel: توقف کار جاری\n"
        "/help: همین راهنما\n\n"
        "داده‌های مکانی: © OpenStreetMap contributors، GeoNames (CC BY 4.0)."
    )
    assert chat.last.buttons == MENU_FA


async def test_help_button_gives_the_same_help(chat: Member) -> None:
    await chat.send("/help")
    by_command = chat.last.text
    await chat.press("❓ راهنما")
    assert chat.last.text == by_command


async def test_language_switch_to_english_answers_in_english_from_then_on(
    chat: Member, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    await chat.send("/language")
    assert chat.last.text == "زبان خود را انتخاب کنید:"
    assert chat.last.buttons == [["فارسی", "English"]]
    await chat.press("English")
    assert [c.method for c in chat.replies] == [
        "answerCallbackQuery",
        "editMessageText",
        "sendMessage",
    ]
    assert chat.texts == ["Language: English", "Choose from the menu below."]
    assert chat.last.buttons == MENU_EN
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.locale == "en"
    await chat.send("/menu")
    assert chat.last.text == "Choose from the menu below."


async def test_language_button_is_understood_in_either_language(chat: Member) -> None:
    await chat.send("🌐 Language / زبان")  # the English label, sent by a Persian member
    assert chat.last.text == "زبان خود را انتخاب کنید:"


async def test_cancel_with_nothing_running_says_so(chat: Member) -> None:
    await chat.send("/cancel")
    assert chat.last.text == "کاری در جریان نیست. منوی اصلی:"
    assert chat.last.buttons == MENU_FA


async def test_two_members_each_get_their_own_language(member_factory) -> None:
    persian, english = member_factory(1), member_factory(2, language_code="en")
    await persian.send("/menu")
    await english.send("/menu")
    assert persian.last.text == "از منوی زیر انتخاب کنید."
    assert english.last.text == "Choose from the menu below."
