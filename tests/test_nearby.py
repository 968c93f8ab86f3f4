"""/nearby: the member's chain (remembered), an optional role, then location or county; results
nearest first with distances, pages, map pins and phones; clear answers when nothing is near."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import users
from db.reference import reference
from db.schema import cooperatives
from tests.test_start import MENU_FA

KERMAN = (30.28321, 57.07879)  # the seat of Kerman county
KERMAN_COUNTY = next(c.id for c in reference().counties.values() if c.name_en == "Kerman")
ROLE_BUTTONS = [
    ["همه نقش‌ها"],
    ["تأمین نهاده", "تولید"],
    ["فرآوری", "حمل و توزیع"],
    ["بازاریابی و فروش"],
    ["🔄 زنجیره ارزش دیگر"],
]
WHERE_KEYBOARD = [["📍 ارسال موقعیت من"], ["🗺 انتخاب استان و شهرستان"], ["↩️ فعلاً نه"]]


async def add(engine: AsyncEngine, national_id: str, north_km: float, **fields: Any) -> None:
    row = {
        "national_id": national_id,
        "name": fields.pop("name", f"تعاونی {national_id}"),
        "name_key": "x",
        "value_chain": fields.pop("value_chain", "beekeeping"),
        "province_id": "IR-08",
        "county_id": KERMAN_COUNTY,
        "lat": KERMAN[0] + north_km / 111.19508,
        "lon": KERMAN[1],
        "updated_at": dt.datetime.now(dt.UTC),
        **fields,
    }
    async with engine.begin() as connection:
        await connection.execute(insert(cooperatives).values(**row))


@pytest.fixture
async def beekeeper(chat: Member, engine: AsyncEngine) -> Member:
    await add(
        engine,
        "10000000001",
        2,
        name="تعاونی زنبورداران کرمان",
        role="production",
        phone="034-32221100",
        members=45,
    )
    await add(engine, "10000000002", 10, name="تعاونی عسل کویر", role="processing")
    await add(engine, "10000000003", 50, name="تعاونی زنبورداران راور", members=1)
    await add(engine, "10000000004", 1, name="تعاونی بسته شده", active=False)
    await add(engine, "10000000005", 1, name="تعاونی مرغداران", value_chain="poultry")
    await users.touch(engine, "telegram", 1001, 1001)
    await users.update_profile(engine, "telegram", 1001, value_chain="beekeeping", setup_done=True)
    return chat


async def test_nearby_remembers_the_chain_and_offers_roles(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    assert beekeeper.last.text == "زنجیره ارزش: زنبورداری\nدنبال کدام بخش زنجیره هستید؟"
    assert beekeeper.last.buttons == ROLE_BUTTONS


async def test_a_live_location_moving_is_not_a_new_search(beekeeper: Member) -> None:
    # A live location's moves arrive as edits of the message that shared it.
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    point = {"latitude": KERMAN[0], "longitude": KERMAN[1], "live_period": 900}
    await beekeeper._process(
        {"edited_message": {**beekeeper._message(location=point), "edit_date": 1}}
    )
    assert beekeeper.replies == []


async def test_any_role_then_asks_for_a_location_or_a_county(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    assert [c.method for c in beekeeper.replies] == [
        "answerCallbackQuery",
        "editMessageText",
        "sendMessage",
    ]
    assert beekeeper.messages[0].text == "زنبورداری · همه نقش‌ها"
    assert beekeeper.last.text == "موقعیت مکانی خود را بفرستید، یا استان و شهرستان را انتخاب کنید:"
    assert beekeeper.last.buttons == WHERE_KEYBOARD
    assert beekeeper.last.markup is not None
    assert beekeeper.last.markup["keyboard"][0][0]["request_location"] is True


async def test_a_shared_location_lists_active_cooperatives_of_the_chain_nearest_first(
    beekeeper: Member,
) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.share_location(*KERMAN)
    assert beekeeper.texts == [
        "۳ تعاونی پیدا شد، از نزدیک‌ترین.",
        "نزدیک‌ترین تعاونی‌های زنبورداری به شما:\n"
        "۱. تعاونی زنبورداران کرمان\n    ۲ کیلومتر · کرمان · ۴۵ عضو\n"
        "۲. تعاونی عسل کویر\n    ۱۰ کیلومتر · کرمان\n"
        "۳. تعاونی زنبورداران راور\n    ۵۰ کیلومتر · کرمان · ۱ عضو",
    ]
    assert beekeeper.messages[0].buttons == MENU_FA
    assert beekeeper.last.buttons == [["🗺 ۱", "📞 ۱"], ["🗺 ۲"], ["🗺 ۳"]]


async def test_a_role_narrows_the_results(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("فرآوری")
    await beekeeper.share_location(*KERMAN)
    assert beekeeper.texts[0] == "۱ تعاونی پیدا شد، از نزدیک‌ترین."


async def test_the_map_button_sends_the_place_and_the_phone_button_the_number(
    beekeeper: Member,
) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.share_location(*KERMAN)
    await beekeeper.press("🗺 ۱")
    venue = beekeeper.last
    assert venue.method == "sendVenue"
    assert (venue.params["title"], venue.params["address"]) == ("تعاونی زنبورداران کرمان", "کرمان")
    assert venue.params["latitude"] == pytest.approx(KERMAN[0] + 2 / 111.19508)
    await beekeeper.press("📞 ۱")
    assert beekeeper.last.text == "📞 تعاونی زنبورداران کرمان\n034-32221100"


async def test_province_and_county_instead_of_a_location(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.press("🗺 انتخاب استان و شهرستان")
    assert beekeeper.last.text == "کدام استان؟"
    await beekeeper.press_data("near:prov:IR-08", beekeeper.api.messages_in(1001)[-1])
    assert beekeeper.last.text == "کدام شهرستان استان کرمان؟"
    await beekeeper.press_data(f"near:county:{KERMAN_COUNTY}", beekeeper.api.messages_in(1001)[-1])
    assert beekeeper.texts[-1].startswith(
        "نزدیک‌ترین تعاونی‌های زنبورداری به کرمان:\n۱. تعاونی زنبورداران کرمان\n    ۲ کیلومتر"
    )


async def test_a_location_outside_iran_gets_the_province_picker(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.share_location(48.8566, 2.3522)  # Paris
    assert beekeeper.last.text == "این موقعیت خارج از ایران است. به جای آن استان را انتخاب کنید:"
    assert beekeeper.last.buttons[0] == ["آذربایجان شرقی", "آذربایجان غربی"]


async def test_nothing_within_300_km_says_so_and_offers_the_province_picker(
    beekeeper: Member,
) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("🔄 زنجیره ارزش دیگر")
    await beekeeper.press("پوشاک")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.share_location(*KERMAN)
    assert beekeeper.last.text == (
        "تا شعاع ۳۰۰ کیلومتر تعاونی پوشاک پیدا نشد. برای جست‌وجو در جای دیگر، استان و "
        "شهرستان را انتخاب کنید:"
    )


async def test_a_member_without_a_chain_chooses_one_and_it_is_remembered(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.send("/nearby")
    assert chat.last.text == "تعاونی‌های کدام زنجیره ارزش؟"
    await chat.press("پرورش طیور")
    assert chat.last.text == "زنجیره ارزش: پرورش طیور\nدنبال کدام بخش زنجیره هستید؟"
    stored = await users.get(engine, "telegram", 1001)
    assert stored is not None and stored.value_chain == "poultry"


async def test_results_come_in_pages_of_five(beekeeper: Member, engine: AsyncEngine) -> None:
    for n in range(4):
        await add(engine, f"2000000000{n}", 20 + n)
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.share_location(*KERMAN)
    assert beekeeper.texts[0] == "۷ تعاونی پیدا شد، از نزدیک‌ترین."
    assert beekeeper.last.buttons[-1] == ["بعدی ⬅️"]
    await beekeeper.press("بعدی ⬅️")
    assert beekeeper.last.method == "editMessageText"
    assert (beekeeper.last.text or "").splitlines()[1] == "۶. تعاونی ۲۰۰۰۰۰۰۰۰۰۳"
    assert beekeeper.last.buttons[-1] == ["➡️ قبلی"]


async def test_a_map_button_for_a_cooperative_since_removed_is_answered(beekeeper: Member) -> None:
    await beekeeper.press_data("near:map:999999")
    assert beekeeper.last.method == "answerCallbackQuery"
    assert beekeeper.last.params["text"] == "این تعاونی دیگر در فهرست نیست."


async def test_a_page_button_with_no_search_behind_it_starts_over(beekeeper: Member) -> None:
    await beekeeper.press_data("near:page:3")
    assert beekeeper.replies[0].params["text"] == "این گزینه دیگر در دسترس نیست."
    assert beekeeper.last.text == "زنجیره ارزش: زنبورداری\nدنبال کدام بخش زنجیره هستید؟"


async def test_a_sticker_while_the_location_is_asked_gets_a_hint(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.send_sticker()
    assert beekeeper.last.text == (
        "لطفاً موقعیت خود را بفرستید یا با دکمه‌ها انتخاب کنید، یا /cancel را بفرستید."
    )


async def test_not_now_returns_to_the_menu(beekeeper: Member) -> None:
    await beekeeper.send("/nearby")
    await beekeeper.press("همه نقش‌ها")
    await beekeeper.press("↩️ فعلاً نه")
    assert beekeeper.last.buttons == MENU_FA


@pytest.fixture
async def bale_beekeeper(settings, engine: AsyncEngine, beekeeper: Member):
    """The same member and data, on a Bale bot."""
    from bot.app import build_application
    from bot.offline import OFFLINE_TOKEN, OfflineBotApi

    await users.touch(engine, "bale", 1001, 1001)
    await users.update_profile(engine, "bale", 1001, value_chain="beekeeping", setup_done=True)
    api = OfflineBotApi()
    application = build_application(
        settings.model_copy(update={"platform": "bale"}), engine, token=OFFLINE_TOKEN, request=api
    )
    async with application:
        yield Member(application, api, 1001)


async def test_on_bale_the_place_is_asked_by_province_not_by_a_location_button(
    bale_beekeeper: Member,
) -> None:
    await bale_beekeeper.send("/nearby")
    await bale_beekeeper.press("همه نقش‌ها")
    assert bale_beekeeper.last.text == "کدام استان؟"
    assert bale_beekeeper.last.buttons[0] == ["آذربایجان شرقی", "آذربایجان غربی"]
    assert not bale_beekeeper.last.is_reply_keyboard


async def test_on_bale_a_map_pin_is_a_location_and_a_line_of_text(bale_beekeeper: Member) -> None:
    await bale_beekeeper.send("/nearby")
    await bale_beekeeper.press("همه نقش‌ها")
    await bale_beekeeper.share_location(*KERMAN)  # from the attachment menu
    await bale_beekeeper.press("🗺 ۱")
    assert [c.method for c in bale_beekeeper.messages] == ["sendLocation", "sendMessage"]
    assert bale_beekeeper.last.text == "📍 تعاونی زنبورداران کرمان\nکرمان"


async def test_a_nearby_button_pressed_while_a_code_is_asked_leaves_the_status_journey(
    beekeeper: Member,
) -> None:
    await beekeeper.send("/status")
    await beekeeper.press_data("near:role:beekeeping.any")  # from an older message
    await beekeeper.share_location(*KERMAN)
    assert beekeeper.texts[0] == "۳ تعاونی پیدا شد، از نزدیک‌ترین."
