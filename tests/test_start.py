"""/start: language, province, county and value chain on the first visit; the menu after."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import users
from tests.conftest import MemberFactory, finish_setup

WELCOME_FA = "به کوپ‌بات، بات اعضای تعاونی‌های ایران، خوش آمدید.\n\nاول زبان خود را انتخاب کنید:"
ASK_PROVINCE_FA = "تعاونی شما در کدام استان است؟ از فهرست زیر انتخاب کنید یا نامش را بنویسید."
PROVINCES_PAGE_1_FA = [
    ["آذربایجان شرقی", "آذربایجان غربی"],
    ["اردبیل", "اصفهان"],
    ["البرز", "ایلام"],
    ["بوشهر", "تهران"],
    ["صفحه ۱ از ۴", "بعدی ⬅️"],
    ["رد شدن ⏭"],
]
CHAINS_FA = [
    ["پرورش طیور"],
    ["پرورش ماهی"],
    ["پوشاک"],
    ["زنبورداری"],
    ["صنایع‌دستی"],
    ["فرش دستباف"],
    ["رد شدن ⏭"],
]
MENU_FA = [
    ["📋 برنامه‌های حمایتی"],
    ["🔎 پیگیری درخواست", "🧭 تعاونی‌های نزدیک من"],
    ["📍 استان و زنجیره من", "🔔 اطلاعیه‌ها"],
    ["🌐 زبان / Language", "❓ راهنما"],
]
MENU_EN = [
    ["📋 Support programs"],
    ["🔎 Application status", "🧭 Cooperatives near me"],
    ["📍 My province and chain", "🔔 Announcements"],
    ["🌐 Language / زبان", "❓ Help"],
]


async def test_first_start_greets_in_persian_and_asks_for_the_language(chat: Member) -> None:
    await chat.send("/start")
    assert chat.last.method == "sendMessage"
    assert chat.last.chat_id == 1001
    assert chat.last.text == WELCOME_FA
    assert chat.last.buttons == [["فارسی", "English"]]
    assert chat.last.inline_data == [["start:lang:fa", "start:lang:en"]]


async def test_choosing_persian_edits_the_message_into_the_province_picker(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    assert [c.method for c in chat.replies] == ["answerCallbackQuery", "editMessageText"]
    assert chat.last.text == ASK_PROVINCE_FA
    assert chat.last.buttons == PROVINCES_PAGE_1_FA
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.locale == "fa"


async def test_province_picker_pages_forward_and_back(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.press("بعدی ⬅️")
    assert chat.last.buttons[0] == ["چهارمحال و بختیاری", "خراسان جنوبی"]
    assert chat.last.buttons[-2] == ["➡️ قبلی", "صفحه ۲ از ۴", "بعدی ⬅️"]
    await chat.press("➡️ قبلی")
    assert chat.last.buttons == PROVINCES_PAGE_1_FA


async def test_full_setup_saves_province_county_and_chain_and_shows_the_menu(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    for _ in range(2):
        await chat.press("بعدی ⬅️")
    await chat.press("کرمان")
    assert chat.last.text == (
        "کدام شهرستان استان کرمان؟ از فهرست زیر انتخاب کنید یا نامش را بنویسید."
    )
    assert chat.last.buttons[-1] == ["➡️ استان‌ها", "رد شدن ⏭"]
    await chat.send("رفسنجان")
    assert chat.last.text == "تعاونی شما در کدام زنجیره ارزش کار می‌کند؟"
    assert chat.last.buttons == CHAINS_FA
    await chat.press("زنبورداری")
    assert chat.texts == [
        "همه‌چیز آماده است. این اطلاعات از شما ثبت شد:\n"
        "استان: کرمان\nشهرستان: رفسنجان\nزنجیره ارزش: زنبورداری\n\n"
        "اطلاعیه‌های زنجیره ارزش و استان شما برایتان فرستاده می‌شود.",
        "هر وقت خواستید، با دکمه «📍 استان و زنجیره من» می‌توانید این‌ها را تغییر دهید.",
    ]
    assert chat.messages[0].buttons == [["🔕 اطلاعیه نمی‌خواهم"]]
    assert chat.last.buttons == MENU_FA
    assert await users.subscriptions(engine, "telegram", 1001) == {
        "chain": {"beekeeping"},
        "province": {"IR-08"},
    }
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None
    assert (stored.province_id, stored.value_chain, stored.setup_done) == (
        "IR-08",
        "beekeeping",
        True,
    )
    assert stored.county_id is not None
    county = chat.application.bot_data["services"].reference.counties[stored.county_id]
    assert county.name_en == "Rafsanjan"


async def test_typed_province_with_arabic_letters_is_understood(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("كرمان")  # Arabic kaf
    assert chat.last.text == (
        "کدام شهرستان استان کرمان؟ از فهرست زیر انتخاب کنید یا نامش را بنویسید."
    )


async def test_typed_prefix_with_several_matches_offers_them(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("خراسان")
    assert chat.last.text == "منظورتان کدام است؟"
    assert chat.last.buttons == [["خراسان جنوبی"], ["خراسان رضوی"], ["خراسان شمالی"]]


async def test_unknown_typed_province_says_so_and_shows_the_picker_again(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("آتلانتیس")
    assert chat.last.text == "استانی با نام «آتلانتیس» پیدا نکردم.\n" + ASK_PROVINCE_FA
    assert chat.last.buttons == PROVINCES_PAGE_1_FA


async def test_a_pasted_page_at_the_province_step_is_quoted_short(chat: Member) -> None:
    # Quoted in full it would pass the 4096 characters a message may hold.
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("آتلانتیس " * 455)
    assert chat.last.text == (
        "استانی با نام «" + ("آتلانتیس " * 5)[:40] + "» پیدا نکردم.\n" + ASK_PROVINCE_FA
    )


async def test_a_province_typed_at_the_county_step_switches_province(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("یزد")
    await chat.send("سیستان و بلوچستان")
    assert chat.last.text == (
        "کدام شهرستان استان سیستان و بلوچستان؟ از فهرست زیر انتخاب کنید یا نامش را بنویسید."
    )


async def test_skipping_everything_still_finishes_with_unset_fields(
    chat: Member, engine: AsyncEngine
) -> None:
    await finish_setup(chat)
    assert chat.texts[0] == (
        "همه‌چیز آماده است. این اطلاعات از شما ثبت شد:\n"
        "استان: تعیین نشده\nشهرستان: تعیین نشده\nزنجیره ارزش: تعیین نشده"
    )
    assert chat.reply_keyboard == MENU_FA
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.setup_done and stored.province_id is None


async def test_returning_member_gets_the_menu_not_the_setup(chat: Member) -> None:
    await finish_setup(chat)
    await chat.send("/start")
    assert len(chat.replies) == 1
    assert chat.last.text == "خوش برگشتید! از منوی زیر انتخاب کنید."
    assert chat.last.buttons == MENU_FA


async def test_english_setup_speaks_english(member_factory: MemberFactory) -> None:
    member = member_factory(1002, language_code="en")
    await member.send("/start")
    assert member.last.text == (
        "Welcome to Coopbot, the bot for members of Iran's cooperatives.\n\n"
        "First, choose your language:"
    )
    await member.press("English")
    assert member.last.buttons[0] == ["Alborz", "Ardabil"]
    await member.press("Skip ⏭")
    await member.press("Skip ⏭")
    assert member.reply_keyboard == MENU_EN


async def test_menu_button_reopens_the_profile_steps(chat: Member) -> None:
    await finish_setup(chat)
    await chat.press("📍 استان و زنجیره من")
    assert chat.last.text == ASK_PROVINCE_FA
    assert chat.last.buttons == PROVINCES_PAGE_1_FA


async def test_a_county_button_from_an_old_message_still_works_after_a_restart(
    chat: Member, engine: AsyncEngine
) -> None:
    # No conversation is running (as after a restart); the button names its county.
    await chat.press_data("start:county:1")
    # The old message cannot be edited any more, so the next step comes as a new message.
    assert chat.last.method == "sendMessage"
    assert chat.last.text == "تعاونی شما در کدام زنجیره ارزش کار می‌کند؟"
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and (stored.province_id, stored.county_id) == ("IR-00", 1)


async def test_a_button_naming_a_county_that_does_not_exist_is_answered(chat: Member) -> None:
    await chat.press_data("start:county:99999")
    assert chat.replies[0].method == "answerCallbackQuery"
    assert chat.replies[0].params["text"] == "این گزینه دیگر در دسترس نیست."
    assert chat.last.text == ASK_PROVINCE_FA


async def test_cancel_in_the_middle_of_setup_stops_and_shows_the_menu(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("/cancel")
    assert chat.last.text == "متوقف شد. چیز دیگری تغییر نکرد."
    assert chat.last.buttons == MENU_FA
    await chat.send("کرمان")  # no longer asked for a province
    assert chat.last.text == "متوجه نشدم. لطفاً از منوی زیر انتخاب کنید."


async def test_a_sticker_during_setup_gets_a_hint_to_use_the_buttons(chat: Member) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send_sticker()
    assert chat.last.text == "لطفاً با دکمه‌های بالا انتخاب کنید، یا برای توقف /cancel را بفرستید."


async def test_a_county_typed_at_the_province_step_sets_both(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("بم")
    assert chat.last.text == "تعاونی شما در کدام زنجیره ارزش کار می‌کند؟"
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.province_id == "IR-08"


async def test_a_county_is_found_by_its_older_name(chat: Member, engine: AsyncEngine) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("طرقبه شاندیز")
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.county_id is not None
    county = chat.application.bot_data["services"].reference.counties[stored.county_id]
    assert county.name_fa == "بینالود"


async def test_a_typed_start_of_several_county_names_offers_them_with_their_province(
    chat: Member,
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("شهر")
    assert chat.last.text == "منظورتان کدام است؟"
    assert chat.last.buttons == [
        ["شهربابک (کرمان)"],
        ["شهرضا (اصفهان)"],
        ["شهرکرد (چهارمحال و بختیاری)"],
        ["شهریار (تهران)"],
    ]
    await chat.press("شهرضا (اصفهان)")
    assert chat.last.text == "تعاونی شما در کدام زنجیره ارزش کار می‌کند؟"


async def test_text_while_the_language_is_asked_gets_a_hint_to_use_the_buttons(
    chat: Member,
) -> None:
    await chat.send("/start")
    await chat.send("سلام")
    assert chat.last.text == "لطفاً با دکمه‌های بالا انتخاب کنید، یا برای توقف /cancel را بفرستید."


async def test_a_chain_staff_added_is_offered_after_the_priority_chains(
    chat: Member, engine: AsyncEngine
) -> None:
    from sqlalchemy import insert

    from db.schema import value_chains

    async with engine.begin() as connection:
        await connection.execute(
            insert(value_chains).values(code="dairy", name_fa="لبنیات", name_en="Dairy")
        )
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.press("رد شدن ⏭")
    assert chat.last.buttons == [*CHAINS_FA[:-1], ["لبنیات"], ["رد شدن ⏭"]]
    await chat.press("لبنیات")
    assert "زنجیره ارزش: لبنیات" in chat.texts[0]
