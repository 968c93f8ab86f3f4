"""/stats: staff get members, subscriptions, look-ups and recent broadcasts in one message, then a
chart of members per value chain; to anyone else it is a command the bot does not know."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import translator
from bot.offline import Member
from db.schema import announcements
from handlers.stats import IRAN
from tests.conftest import ADMIN_ID, MemberFactory
from tests.test_start import MENU_FA
from tests.test_stats_db import seed


async def seeded(engine: AsyncEngine) -> None:
    """The figures of tests/test_stats_db.py as of now, the broadcasts on fixed dates."""
    await seed(engine, dt.datetime.now(dt.UTC))
    for status, created_at in [
        # 00:30 on 22 November in Iran, still the 21st in UTC.
        ("done", dt.datetime(2026, 11, 21, 21, 0, tzinfo=dt.UTC)),
        ("sending", dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)),
    ]:
        async with engine.begin() as connection:
            await connection.execute(
                update(announcements)
                .where(announcements.c.status == status)
                .values(created_at=created_at)
            )


def today(locale: str = "fa") -> str:
    return translator(locale).date(dt.datetime.now(IRAN))


async def test_staff_get_the_figures_in_one_message_then_a_chart(
    member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    await seeded(engine)
    staff = member_factory(ADMIN_ID)
    await staff.send("/stats")
    assert [call.method for call in staff.replies] == ["sendMessage", "sendPhoto"]
    # Six seeded members and the staff member who just wrote.
    assert staff.texts[0] == (
        f"📊 کوپ‌بات در یک نگاه، {today()}\n\n"
        "👥 اعضا: ۷\n"
        "فعال در ۳۰ روز گذشته: ۵\n"
        "بات را مسدود کرده‌اند: ۱\n"
        "استان‌های پرعضو: کرمان (۳)، سیستان و بلوچستان (۲)\n"
        "زنجیره‌های ارزش پرعضو: زنبورداری (۳)، پرورش طیور (۲)\n\n"
        "🔔 اعضای مشترک اطلاعیه‌ها: ۴\n"
        "انصراف از همه اطلاعیه‌ها: ۱\n"
        "به تفکیک زنجیره ارزش: زنبورداری (۳)، پرورش طیور (۲)\n\n"
        "🔎 جست‌وجوها در ۷ روز گذشته: برنامه‌های حمایتی (۳)، پیگیری درخواست (۱)، "
        "تعاونی‌های نزدیک (۰)\n\n"
        "📣 آخرین اطلاعیه‌ها:\n"
        "• ۲ آذر ۱۴۰۵ (همه): فرستاده‌شده ۱، ناموفق ۰، مسدودکرده ۰، در انتظار ۲\n"
        "• ۱ آذر ۱۴۰۵ (زنبورداری در کرمان): فرستاده‌شده ۲، ناموفق ۱، مسدودکرده ۱، در انتظار ۰"
    )
    photo = staff.last
    assert photo.chat_id == ADMIN_ID
    assert photo.text == "اعضا به تفکیک زنجیره ارزش. نام‌ها در تصویر به انگلیسی است."


async def test_staff_reading_english_get_it_in_english(
    member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    await seeded(engine)
    staff = member_factory(ADMIN_ID, language_code="en")
    await staff.send("/stats")
    text = staff.texts[0]
    assert text.startswith(f"📊 Coopbot at a glance, {today('en')}\n\n👥 Members: 7\n")
    assert "Top provinces: Kerman (3), Sistan and Baluchestan (2)\n" in text
    assert "🔎 Look-ups in the last 7 days: Support programs (3), Application status (1)" in text
    assert text.endswith(
        "• November 22, 2026 (Beekeeping in Kerman): sent 2, failed 1, blocked 1, pending 0"
    )
    assert staff.last.text == "Members per value chain. Names in the picture are in English."


async def test_a_stopped_broadcast_and_a_long_audience_are_said_briefly(
    member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    await seeded(engine)
    async with engine.begin() as connection:
        await connection.execute(
            update(announcements)
            .where(announcements.c.status == "done")
            .values(status="cancelled", provinces=";IR-01;IR-02;IR-08;IR-11;")
        )
    staff = member_factory(ADMIN_ID)
    await staff.send("/stats")
    assert staff.texts[0].endswith(
        "• ۱ آذر ۱۴۰۵ (زنبورداری در ۴ استان): فرستاده‌شده ۲، ناموفق ۱، مسدودکرده ۱، "
        "در انتظار ۰ (متوقف شد)"
    )


async def test_with_nothing_yet_there_is_no_chart_and_no_broadcast(
    member_factory: MemberFactory,
) -> None:
    staff = member_factory(ADMIN_ID)
    await staff.send("/stats")
    assert [call.method for call in staff.replies] == ["sendMessage"]
    assert staff.texts[0] == (
        f"📊 کوپ‌بات در یک نگاه، {today()}\n\n"
        "👥 اعضا: ۱\n"
        "فعال در ۳۰ روز گذشته: ۱\n"
        "بات را مسدود کرده‌اند: ۰\n"
        "استان‌های پرعضو: هیچ\n"
        "زنجیره‌های ارزش پرعضو: هیچ\n\n"
        "🔔 اعضای مشترک اطلاعیه‌ها: ۰\n"
        "انصراف از همه اطلاعیه‌ها: ۰\n"
        "به تفکیک زنجیره ارزش: هیچ\n\n"
        "🔎 جست‌وجوها در ۷ روز گذشته: برنامه‌های حمایتی (۰)، پیگیری درخواست (۰)، "
        "تعاونی‌های نزدیک (۰)\n\n"
        "📣 هنوز اطلاعیه‌ای فرستاده نشده است."
    )


async def test_a_member_gets_the_unknown_command_answer(chat: Member, engine: AsyncEngine) -> None:
    await seeded(engine)
    await chat.send("/stats")
    assert [call.method for call in chat.replies] == ["sendMessage"]
    assert chat.last.text == "این دستور را نمی‌شناسم. راهنما: /help"
    assert chat.last.buttons == MENU_FA
