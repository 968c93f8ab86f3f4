"""Every member journey once, end to end: real HTTP, `coopbot run` polling the emulator."""

from __future__ import annotations

from tests.e2e.conftest import BotProcess, Emulator, RemoteMember


def first_button(record: dict) -> str:
    return str(record["message"]["reply_markup"]["inline_keyboard"][0][0]["text"])


def test_start_in_persian_reaches_the_menu(
    bot: BotProcess, emulator: Emulator, member_ids: int
) -> None:
    member = RemoteMember(emulator, member_ids)
    member.send("/start")
    member.wait_for("اول زبان خود را انتخاب کنید")
    member.press("فارسی")
    member.wait_for("تعاونی شما در کدام استان است؟")
    member.press("رد شدن ⏭")
    member.wait_for("تعاونی شما در کدام زنجیره ارزش کار می‌کند؟")
    member.press("زنبورداری")
    member.wait_for("زنجیره ارزش: زنبورداری")
    menu = member.wait_for("هر وقت خواستید")
    assert menu["message"]["reply_markup"]["keyboard"][0][0]["text"] == "📋 برنامه‌های حمایتی"


def test_start_in_english(bot: BotProcess, emulator: Emulator, member_ids: int) -> None:
    member = RemoteMember(emulator, member_ids + 1, language_code="en")
    member.send("/start")
    member.wait_for("First, choose your language")
    member.press("English")
    member.wait_for("Which province is your cooperative in?")


def test_programs_for_me_and_a_card(bot: BotProcess, emulator: Emulator, member_ids: int) -> None:
    member = RemoteMember(emulator, member_ids + 2)
    member.send("/programs")
    member.wait_for("برنامه‌های حمایتی تعاونی‌ها")
    member.press("⭐ برنامه‌های مناسب من")
    listing = member.wait_for("برنامه‌های مناسب شما")
    member.press(first_button(listing))
    member.wait_for("چه کسانی می‌توانند استفاده کنند")


def test_status_with_the_applicants_phone(
    bot: BotProcess, emulator: Emulator, member_ids: int
) -> None:
    member = RemoteMember(emulator, member_ids + 3)
    member.send("/status DEMO100003")
    member.wait_for("کد رهگیری: DEMO100003")
    member.share_contact("09120000003")
    card = member.wait_for("گام بعدی")
    assert "09120000003" not in card["message"]["text"]


def test_nearby_by_location_with_a_map_pin(
    bot: BotProcess, emulator: Emulator, member_ids: int
) -> None:
    member = RemoteMember(emulator, member_ids + 4)
    member.send("/nearby")
    member.wait_for("تعاونی‌های کدام زنجیره ارزش؟")
    member.press("زنبورداری")
    member.wait_for("دنبال کدام بخش زنجیره هستید؟")
    member.press("همه نقش‌ها")
    member.wait_for("موقعیت مکانی خود را بفرستید")
    member.share_location(30.28, 57.08)
    member.wait_for("نزدیک‌ترین تعاونی‌های زنبورداری به شما")
    member.press("🗺 ۱")
    venue = member.wait_for_method("sendVenue")
    assert "(نمونه)" in venue["message"]["title"]


def test_subscribe_to_a_chain(bot: BotProcess, emulator: Emulator, member_ids: int) -> None:
    member = RemoteMember(emulator, member_ids + 5)
    member.send("/subscribe")
    member.wait_for("اطلاعیه‌هایی که دریافت می‌کنید")
    member.press("▫️ زنبورداری")
    member.wait_for("زنجیره‌های ارزش: زنبورداری")
