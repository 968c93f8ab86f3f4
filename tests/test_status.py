"""/status: status by tracking code; details only for the applicant's own phone; guessing limited."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db.schema import application_history, application_watches, applications, lookups
from tests.conftest import BACKENDS, MemberFactory
from tests.test_start import MENU_FA

ASK = "کد رهگیری درخواست یا ثبت‌نام خود را بفرستید (۶ تا ۲۰ حرف و رقم، همان‌طور که روی رسید آمده):"
CARD = (
    "کد رهگیری: AB123456\n"
    "نوع: عضویت\n"
    "وضعیت: نیاز به مدارک\n"
    "آخرین تغییر: ۱۰ آبان ۱۴۰۵\n\n"
    "برای دیدن موضوع درخواست و گام بعدی، شماره تلفنی را که با آن درخواست داده‌اید بفرستید. "
    "شماره شما فقط مقایسه می‌شود و هرگز نمایش داده نمی‌شود."
)
PHONE_KEYBOARD = [["📱 ارسال شماره تلفن من"], ["↩️ فعلاً نه"]]
FULL_CARD = (
    "کد رهگیری: AB123456\n"
    "نوع: عضویت\n"
    "موضوع: تعاونی زنبورداران بم\n"
    "وضعیت: نیاز به مدارک\n"
    "آخرین تغییر: ۱۰ آبان ۱۴۰۵\n\n"
    "گام بعدی: کپی کارت ملی را به اداره تعاون بم ببرید.\n\n"
    "سابقه:\n"
    "• ۲۸ مهر ۱۴۰۵: ثبت شده\n"
    "• ۱۰ آبان ۱۴۰۵: نیاز به مدارک"
)


@pytest.fixture(autouse=True)
async def application(engine: AsyncEngine) -> None:
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(applications).values(
                tracking_code="AB123456",
                kind="membership",
                subject="تعاونی زنبورداران بم",
                applicant_phone="09121234567",
                status="needs_documents",
                updated_on=dt.date(2026, 11, 1),
                note_fa="کپی کارت ملی را به اداره تعاون بم ببرید.",
                note_en="Take a copy of your national card to the Bam cooperative office.",
            )
        )
        await connection.execute(
            insert(application_history),
            [
                {
                    "tracking_code": "AB123456",
                    "status": "submitted",
                    "changed_on": dt.date(2026, 10, 20),
                    "recorded_at": now,
                },
                {
                    "tracking_code": "AB123456",
                    "status": "needs_documents",
                    "changed_on": dt.date(2026, 11, 1),
                    "recorded_at": now,
                },
            ],
        )


async def test_status_without_a_code_asks_for_it(chat: Member) -> None:
    await chat.send("/status")
    assert chat.last.text == ASK


async def test_a_code_in_persian_digits_with_dashes_shows_the_card_and_asks_for_the_phone(
    chat: Member,
) -> None:
    await chat.send("/status")
    await chat.send("ab-۱۲۳ ۴۵۶")
    assert chat.last.text == CARD
    assert chat.last.buttons == PHONE_KEYBOARD
    assert chat.last.markup is not None
    assert chat.last.markup["keyboard"][0][0]["request_contact"] is True
    assert "0912" not in (chat.last.text or "")


async def test_status_with_the_code_as_argument_and_the_menu_button_work(chat: Member) -> None:
    await chat.send("/status AB123456")
    assert chat.last.text == CARD
    await chat.send("/menu")
    await chat.press("🔎 پیگیری درخواست")
    assert chat.last.text == ASK


async def test_a_deep_link_opens_the_status_directly(chat: Member) -> None:
    await chat.send("/start status_AB123456")
    assert chat.last.text == CARD


async def test_the_applicants_own_phone_shows_subject_note_and_history(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.share_contact("+98 912 123 4567")
    assert chat.texts == [FULL_CARD, "از منوی زیر انتخاب کنید."]
    assert chat.messages[0].buttons == [["🔔 تغییرات را به من خبر بده"]]
    assert chat.last.buttons == MENU_FA
    assert all("4567" not in text for text in chat.texts)


async def test_another_phone_keeps_the_details_private(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.share_contact("09120000000")
    assert chat.last.text == (
        "این شماره با شماره‌ای که درخواست با آن ثبت شده یکی نیست؛ برای همین جزئیات آن محرمانه "
        "می‌ماند. اگر فکر می‌کنید اشتباهی رخ داده، با اداره تعاون شهرستان خود تماس بگیرید."
    )
    assert "زنبورداران" not in (chat.last.text or "") and "0912" not in (chat.last.text or "")
    assert chat.last.buttons == MENU_FA


async def test_someone_elses_contact_is_not_accepted(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.share_contact("09121234567", own=False)
    assert chat.last.text == "لطفاً شماره خودتان را با دکمه زیر بفرستید، نه شماره کس دیگری را."
    assert chat.last.buttons == PHONE_KEYBOARD


async def test_a_typed_phone_number_is_not_proof(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.send("09121234567")
    assert chat.last.text == "لطفاً شماره خود را با دکمه زیر بفرستید، یا /cancel را بزنید."


async def test_not_now_returns_to_the_menu(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.press("↩️ فعلاً نه")
    assert chat.last.text == "از منوی زیر انتخاب کنید."
    assert chat.last.buttons == MENU_FA


async def test_a_code_of_the_wrong_shape_gets_the_expected_shape(chat: Member) -> None:
    await chat.send("/status")
    await chat.send("سلام")
    assert chat.last.text == (
        "«سلام» کد رهگیری نیست. کد رهگیری ۶ تا ۲۰ حرف انگلیسی و رقم دارد، مثلاً AB123456. "
        "لطفاً دوباره بفرستید:"
    )


async def test_an_unknown_code_is_answered_and_asked_again(chat: Member) -> None:
    await chat.send("/status ZZ999999")
    assert chat.last.text == (
        "درخواستی با کد رهگیری ZZ999999 پیدا نشد. لطفاً کد را با رسید خود مقایسه کنید و دوباره "
        "بفرستید، یا /cancel را بزنید."
    )
    await chat.send("AB123456")
    assert chat.last.text == CARD


async def test_after_five_unknown_codes_the_member_must_wait(chat: Member) -> None:
    for n in range(5):
        await chat.send(f"/status ZZ99999{n}")
    await chat.send("/status AB123456")  # even a right code waits: no guessing by elimination
    assert chat.last.text == (
        "در مدت کوتاهی کدهای نامعتبر زیادی فرستاده شد. لطفاً ۱۰ دقیقه دیگر دوباره امتحان کنید."
    )
    assert chat.last.buttons == MENU_FA


async def test_the_limit_is_per_member(chat: Member, member_factory) -> None:
    for n in range(5):
        await chat.send(f"/status ZZ99999{n}")
    other = member_factory(2002)
    await other.send("/status AB123456")
    assert other.last.text == CARD


async def test_notify_me_after_proof_saves_a_watch(chat: Member, engine: AsyncEngine) -> None:
    await chat.send("/status AB123456")
    await chat.share_contact("09121234567")
    await chat.press("🔔 تغییرات را به من خبر بده")
    assert chat.last.text == "انجام شد. هر وقت وضعیت AB123456 تغییر کند، به شما پیام می‌دهم."
    async with engine.connect() as connection:
        rows = (await connection.execute(select(application_watches))).all()
    assert [(r.tracking_code, r.user_id, r.locale) for r in rows] == [("AB123456", 1001, "fa")]


async def test_a_forged_notify_button_without_proof_is_refused(
    chat: Member, engine: AsyncEngine
) -> None:
    await chat.press_data("status:watch:AB123456")
    assert chat.last.text == (
        "لطفاً اول درخواست را با /status پیگیری کنید و شماره تلفن خود را بفرستید."
    )
    async with engine.connect() as connection:
        assert (await connection.execute(select(application_watches))).all() == []


async def test_cancel_while_the_code_is_asked_stops(chat: Member) -> None:
    await chat.send("/status")
    await chat.send("/cancel")
    assert chat.last.text == "متوقف شد. چیز دیگری تغییر نکرد."
    await chat.send("AB123456")  # no longer waiting for a code
    assert chat.last.text == "متوجه نشدم. لطفاً از منوی زیر انتخاب کنید."


async def test_another_command_leaves_the_status_journey(chat: Member) -> None:
    await chat.send("/status")
    await chat.send("/help")
    await chat.send("AB123456")
    assert chat.last.text == "متوجه نشدم. لطفاً از منوی زیر انتخاب کنید."


async def test_a_sticker_while_the_code_is_asked_gets_a_hint(chat: Member) -> None:
    await chat.send("/status")
    await chat.send_sticker()
    assert chat.last.text == "لطفاً کد رهگیری را به صورت متن بنویسید، یا /cancel را بفرستید."


async def test_english_member_sees_english_labels_and_gregorian_dates(member_factory) -> None:
    member = member_factory(3003, language_code="en")
    await member.send("/status AB123456")
    assert (member.last.text or "").startswith(
        "Tracking code: AB123456\nKind: Membership\nStatus: Documents needed\n"
        "Last change: November 1, 2026"
    )


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
async def test_the_unknown_code_limit_holds_when_a_members_updates_are_handled_at_once(
    member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    """As two processes serving one bot would: 40 codes at once, and still only 5 are tried."""
    member = member_factory(3003)
    await member.send("/menu")
    await asyncio.gather(*(member.send(f"/status ZZ{n:06d}") for n in range(40)))
    async with engine.connect() as connection:
        tried = (
            await connection.execute(
                select(func.count()).where(lookups.c.user_id == 3003, lookups.c.journey == "status")
            )
        ).scalar_one()
    assert tried == 5
