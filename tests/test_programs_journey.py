"""/programs: browse by category, "for me", yes/no questions, search; cards and the way back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import users
from tests.test_programs import add

HOME_TEXT = (
    "برنامه‌های حمایتی تعاونی‌ها: تسهیلات، کمک‌های بلاعوض، ضمانت، بیمه و بیشتر. یکی از راه‌های "
    "زیر را انتخاب کنید، یا چند کلمه بنویسید تا جست‌وجو کنم."
)
HOME_BUTTONS = [
    ["⭐ برنامه‌های مناسب من"],
    ["💰 تسهیلات (۲)", "🎁 کمک‌های بلاعوض (۱)"],
    ["☂️ بیمه (۱)"],
    ["🔍 جست‌وجو با کلمه"],
    ["✅ چند پرسش برای فهرست دقیق‌تر"],
]
BEES_CARD = (
    "📋 وام زنبورداری\n"
    "مجری: بانک کشاورزی\n\n"
    "وام کم‌بهره برای خرید کندو.\n\n"
    "چه کسانی می‌توانند استفاده کنند: زنبورداری · کرمان\n"
    "🟢 باز تا ۲۹ اسفند ۱۴۰۹\n\n"
    "نحوه درخواست: به شعبه بانک کشاورزی شهرستان مراجعه کنید."
)


@pytest.fixture(autouse=True)
async def some_programs(engine: AsyncEngine) -> None:
    await add(
        engine,
        "bees",
        title_fa="وام زنبورداری",
        title_en="Beekeeping loan",
        provider_fa="بانک کشاورزی",
        summary_fa="وام کم‌بهره برای خرید کندو.",
        summary_en="A low-interest loan to buy hives.",
        value_chains=["beekeeping"],
        provinces=["IR-08"],
        closes_on=dt.date(2031, 3, 20),
        how_to_apply_fa="به شعبه بانک کشاورزی شهرستان مراجعه کنید.",
    )
    await add(engine, "old_loan", title_fa="تسهیلات قدیمی", closes_on=dt.date(2020, 1, 1))
    await add(
        engine,
        "women_grant",
        title_fa="کمک بلاعوض تعاونی‌های زنان",
        category="grant",
        eligibility=["women"],
    )
    await add(engine, "insurance", title_fa="تخفیف حق‌بیمه کارفرما", category="insurance")


async def test_programs_home_offers_for_me_categories_with_counts_search_and_questions(
    chat: Member,
) -> None:
    await chat.send("/programs")
    assert chat.last.text == HOME_TEXT
    assert chat.last.buttons == HOME_BUTTONS


async def test_a_category_lists_open_programs_first_and_closed_ones_marked(chat: Member) -> None:
    await chat.send("/programs")
    await chat.press("💰 تسهیلات (۲)")
    assert chat.last.method == "editMessageText"
    assert chat.last.text == "💰 تسهیلات (۲):"
    assert chat.last.buttons == [["🟢 وام زنبورداری"], ["⚪️ تسهیلات قدیمی"], ["➡️ همه برنامه‌ها"]]


async def test_a_category_lists_every_program_it_counts_even_those_for_some_members_only(
    chat: Member,
) -> None:
    await chat.send("/programs")
    await chat.press("🎁 کمک‌های بلاعوض (۱)")
    assert chat.last.text == "🎁 کمک‌های بلاعوض (۱):"
    assert chat.last.buttons == [["🟢 کمک بلاعوض تعاونی‌های زنان"], ["➡️ همه برنامه‌ها"]]


async def test_a_card_shows_everything_and_leads_back_to_its_list(chat: Member) -> None:
    await chat.send("/programs")
    await chat.press("💰 تسهیلات (۲)")
    await chat.press("🟢 وام زنبورداری")
    assert chat.last.text == BEES_CARD
    assert chat.last.buttons == [["➡️ بازگشت به فهرست"]]
    await chat.press("➡️ بازگشت به فهرست")
    assert chat.last.text == "💰 تسهیلات (۲):"
    await chat.press("➡️ همه برنامه‌ها")
    assert chat.last.text == HOME_TEXT


async def test_a_closed_program_says_since_when(chat: Member) -> None:
    await chat.press_data("prog:card:old_loan.loan.0")
    assert "⚪️ بسته شده در ۱۱ دی ۱۳۹۸" in (chat.last.text or "")


async def test_for_me_uses_chain_province_and_answers(chat: Member, engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 1001, 1001)
    await users.update_profile(
        engine, "telegram", 1001, value_chain="beekeeping", province_id="IR-08"
    )
    await chat.send("/programs")
    await chat.press("⭐ برنامه‌های مناسب من")
    assert chat.last.text == ("برنامه‌های مناسب شما (۳)، بر اساس استان، زنجیره ارزش و پاسخ‌هایتان:")
    assert chat.last.buttons[:-1] == [
        ["🟢 تخفیف حق‌بیمه کارفرما"],
        ["🟢 وام زنبورداری"],
        ["⚪️ تسهیلات قدیمی"],
    ]


async def test_for_me_without_a_profile_suggests_setting_one(chat: Member) -> None:
    await chat.send("/programs")
    await chat.press("⭐ برنامه‌های مناسب من")
    assert (chat.last.text or "").endswith(
        "برای فهرستی دقیق‌تر، استان و زنجیره خود را با «📍 استان و زنجیره من» تعیین کنید."
    )


async def test_questions_are_saved_and_narrow_for_me(chat: Member, engine: AsyncEngine) -> None:
    await chat.send("/programs")
    await chat.press("✅ چند پرسش برای فهرست دقیق‌تر")
    assert chat.last.text == "پرسش ۱ از ۵\nآیا مدیریت تعاونی شما با زنان است؟"
    assert chat.last.buttons == [["بله", "خیر", "رد شدن ⏭"]]
    await chat.press("بله")
    assert chat.last.text == "پرسش ۲ از ۵\nآیا تعاونی شما روستایی است؟"
    await chat.press("خیر")
    for _ in range(3):
        await chat.press("رد شدن ⏭")
    assert ["🟢 کمک بلاعوض تعاونی‌های زنان"] in chat.last.buttons
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.tags == ("women",)


async def test_typed_words_search_with_arabic_letters(chat: Member) -> None:
    await chat.send("/programs")
    await chat.send("حق بيمه")
    assert chat.last.text == "برنامه‌های مرتبط با «حق بیمه» (۱):"
    assert chat.last.buttons == [["🟢 تخفیف حق‌بیمه کارفرما"], ["➡️ همه برنامه‌ها"]]


async def test_search_tolerates_a_typo_and_its_card_leads_back_to_the_results(
    chat: Member,
) -> None:
    await chat.send("/programs")
    await chat.press("🔍 جست‌وجو با کلمه")
    assert chat.last.text == "چند کلمه بنویسید، مثلاً «بیمه» یا «وام زنبورداری»:"
    await chat.send("زنبورداری")
    await chat.send("زنبوردری")  # a letter missing
    assert chat.last.buttons[0] == ["🟢 وام زنبورداری"]
    await chat.press("🟢 وام زنبورداری")
    await chat.press("➡️ بازگشت به فهرست")
    assert chat.last.text == "برنامه‌های مرتبط با «زنبوردری» (۱):"


async def test_a_search_with_no_result_says_so(chat: Member) -> None:
    await chat.send("/programs")
    await chat.send("سفینه فضایی")
    assert chat.last.text == (
        "برنامه‌ای با «سفینه فضایی» پیدا نشد. کلمه‌های دیگری امتحان کنید یا از دسته‌ها انتخاب کنید."
    )
    assert chat.last.buttons == [["➡️ همه برنامه‌ها"]]


@pytest.mark.parametrize(
    "data", ["prog:card:gone.loan.0", "prog:list:nonsense.0", "prog:list:mine", "prog:yes:zz.1"]
)
async def test_a_stale_or_forged_button_is_answered_with_the_programs_home(
    chat: Member, data: str
) -> None:
    await chat.press_data(data)
    assert chat.replies[0].method == "answerCallbackQuery"
    assert chat.replies[0].params["text"] == "این گزینه دیگر در دسترس نیست."
    assert chat.last.text == HOME_TEXT


@pytest.mark.parametrize(
    "data", ["prog:card:gone.loan.0", "prog:list:nonsense.0", "prog:list:mine", "prog:yes:zz.1"]
)
async def test_a_stale_button_is_answered_only_once(chat: Member, data: str) -> None:
    # The Bot API refuses a second answer to the same press.
    await chat.press_data(data)
    assert [c.method for c in chat.replies].count("answerCallbackQuery") == 1


async def test_a_program_with_the_longest_id_an_import_accepts_lists_and_opens(
    chat: Member, engine: AsyncEngine
) -> None:
    await add(engine, "g" * 32, title_fa="ضمانت صادرات", category="guarantee")
    await chat.send("/programs")
    await chat.press("🛡 ضمانت (۱)")
    await chat.press("🟢 ضمانت صادرات")
    assert (chat.last.text or "").startswith("📋 ضمانت صادرات")


async def test_an_english_member_reads_english_titles(member_factory) -> None:
    member = member_factory(4004, language_code="en")
    await member.press_data("prog:card:bees.loan.0")
    assert (member.last.text or "").startswith(
        "📋 Beekeeping loan\nRun by: بانک کشاورزی\n\nA low-interest loan to buy hives.\n\n"
        "Who can use it: Beekeeping · Kerman\n🟢 Open until March 20, 2031"
    )


async def test_a_sticker_while_browsing_gets_a_hint(chat: Member) -> None:
    await chat.send("/programs")
    await chat.send_sticker()
    assert chat.last.text == "برای جست‌وجو چند کلمه بنویسید، یا از دکمه‌ها استفاده کنید."


async def test_digits_of_imported_text_read_as_persian_digits(
    chat: Member, engine: AsyncEngine
) -> None:
    # Imports store ASCII digits (import-formats.md reads Persian digits as digits).
    await add(engine, "discount", title_fa="تخفیف 20 درصدی حق‌بیمه", category="insurance")
    await chat.press_data("prog:card:discount.insurance.0")
    assert (chat.last.text or "").startswith("📋 تخفیف ۲۰ درصدی حق‌بیمه")
