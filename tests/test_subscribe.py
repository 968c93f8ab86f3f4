"""/subscribe: see, add and remove chains, pick the province, leave all with one tap."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import users
from tests.test_start import MENU_FA

CHAIN_ROWS_NONE = [
    ["▫️ پرورش طیور"],
    ["▫️ پرورش ماهی"],
    ["▫️ پوشاک"],
    ["▫️ زنبورداری"],
    ["▫️ صنایع‌دستی"],
    ["▫️ فرش دستباف"],
]


async def test_a_new_member_sees_no_subscriptions_and_every_chain(chat: Member) -> None:
    await chat.send("/subscribe")
    assert chat.last.text == (
        "اطلاعیه‌هایی که دریافت می‌کنید:\nزنجیره‌های ارزش: هیچ\nاستان: هیچ\n\n"
        "برای افزودن یا حذف هر زنجیره ارزش، روی آن بزنید."
    )
    assert chat.last.buttons[:6] == CHAIN_ROWS_NONE
    assert chat.last.buttons[6:] == [["📍 انتخاب استان"], ["🔕 لغو همه", "✔️ تمام"]]


async def test_tapping_chains_adds_and_removes_them(chat: Member, engine: AsyncEngine) -> None:
    await chat.send("/subscribe")
    await chat.press("▫️ زنبورداری")
    assert chat.replies[0].params["text"] == "اضافه شد: زنبورداری"
    await chat.press("▫️ پوشاک")
    assert "زنجیره‌های ارزش: پوشاک، زنبورداری" in (chat.last.text or "")
    assert ["✅ زنبورداری"] in chat.last.buttons
    await chat.press("✅ زنبورداری")
    assert chat.replies[0].params["text"] == "حذف شد: زنبورداری"
    subscribed = await users.subscriptions(engine, "telegram", 1001)
    assert subscribed["chain"] == {"apparel"}


async def test_choosing_the_province(chat: Member, engine: AsyncEngine) -> None:
    await chat.send("/subscribe")
    await chat.press("📍 انتخاب استان")
    assert chat.last.text == "اطلاعیه‌های کدام استان؟"
    assert chat.last.buttons[-1] == ["➡️ بازگشت"]
    await chat.press_data("sub:prov:IR-11", chat.api.messages_in(1001)[-1])
    assert "استان: سیستان و بلوچستان" in (chat.last.text or "")
    assert (await users.subscriptions(engine, "telegram", 1001))["province"] == {"IR-11"}


async def test_leave_all_in_one_tap(chat: Member, engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 1001, 1001)
    await users.set_subscriptions(engine, "telegram", 1001, "chain", {"poultry"})
    await chat.send("/subscribe")
    await chat.press("🔕 لغو همه")
    assert chat.last.text == (
        "انجام شد: دیگر اطلاعیه‌ای دریافت نمی‌کنید. هر وقت خواستید با /subscribe دوباره انتخاب کنید."
    )
    assert await users.subscriptions(engine, "telegram", 1001) == {
        "chain": set(),
        "province": set(),
    }


async def test_the_opt_out_on_the_setup_summary_unsubscribes(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.send("بم")
    await chat.press("زنبورداری")
    await chat.press("🔕 اطلاعیه نمی‌خواهم")
    assert await users.subscriptions(engine, "telegram", 1001) == {
        "chain": set(),
        "province": set(),
    }


async def test_done_returns_to_the_menu(chat: Member) -> None:
    await chat.send("/subscribe")
    await chat.press("✔️ تمام")
    assert chat.last.text == "ذخیره شد."
    assert chat.last.buttons == MENU_FA


async def test_a_chain_that_no_longer_exists_is_answered(chat: Member) -> None:
    await chat.press_data("sub:chain:silk")
    assert chat.replies[0].params["text"] == "این گزینه دیگر در دسترس نیست."
    assert (chat.last.text or "").startswith("اطلاعیه‌هایی که دریافت می‌کنید:")


async def test_the_menu_button_opens_it(chat: Member) -> None:
    await chat.send("/menu")
    await chat.press("🔔 اطلاعیه‌ها")
    assert (chat.last.text or "").startswith("اطلاعیه‌هایی که دریافت می‌کنید:")
