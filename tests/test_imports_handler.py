"""Staff send a spreadsheet to the bot and get the import report; anyone else's file is unexpected."""

from __future__ import annotations

from importlib import resources

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.i18n import translator
from bot.offline import Member
from bot.sender import Sender
from db.importers import import_file
from db.schema import audit_log, programs
from handlers.imports import read_caption
from tests.conftest import ADMIN_ID, MemberFactory
from tests.test_fallback import HINT
from tests.test_importers import coop, table_of
from tests.test_notify import applications_csv, watch_it
from tests.test_start import MENU_FA

PROGRAMS_CSV = (resources.files("db.reference") / "programs.csv").read_bytes()
HOW_TO_CAPTION_FA = (
    "برای ورود اطلاعات، فایل را دوباره بفرستید و در توضیح (کپشن) آن بنویسید چه چیزی در آن است:\n"
    "• تعاونی‌ها\n"
    "• برنامه‌ها\n"
    "• درخواست‌ها\n"
    "• زنجیره‌ها\n"
    "اگر می‌خواهید فایل فقط بررسی شود و چیزی ثبت نشود، «آزمایشی» را هم به توضیح اضافه کنید."
)


@pytest.fixture
def staff(member_factory: MemberFactory) -> Member:
    return member_factory(ADMIN_ID, first_name="Zahra")


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_staff_import_a_csv_and_get_the_report_in_persian(
    staff: Member, engine: AsyncEngine
) -> None:
    await staff.send_document("programs.csv", PROGRAMS_CSV, caption="برنامه‌ها")
    assert staff.texts == ["ورود برنامه‌ها انجام شد: ۱۷ ردیف؛ ۱۷ تازه، ۰ به‌روزشده، ۰ بدون تغییر."]
    assert await count(engine, programs) == 17
    async with engine.connect() as connection:
        entry = (await connection.execute(select(audit_log))).one()
    assert (entry.platform, entry.actor_id, entry.action) == ("telegram", ADMIN_ID, "import")


async def test_a_file_with_bad_rows_gets_a_report_naming_each_line(
    staff: Member, engine: AsyncEngine
) -> None:
    data = table_of(coop(), coop("10100000002", county_id="2"), coop("123", value_chain="silk"))
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [
        "چیزی ثبت نشد: ۲ ردیف از ۳ ردیف تعاونی‌ها پذیرفته نشد. آن‌ها را اصلاح کنید و کل فایل را "
        "دوباره وارد کنید.\n"
        "ردیف ۳، ستون county_id: شهرستان ۲ در استان IR-08 نیست\n"
        "ردیف ۴، ستون national_id: 123 شناسه ملی نیست؛ شناسه ملی دقیقاً ۱۱ رقم است\n"
        "ردیف ۴، ستون value_chain: زنجیره ارزشی با کد silk وجود ندارد"
    ]
    assert await count(engine, audit_log) == 0


async def test_a_dry_run_in_the_caption_checks_without_writing(
    staff: Member, engine: AsyncEngine
) -> None:
    await staff.send_document("coops.csv", table_of(coop()), caption="تعاونی آزمایشی")
    assert staff.texts == [
        "بررسی آزمایشی تعاونی‌ها: همه ۱ ردیف درست است و چیزی ثبت نشد. با ورود واقعی، ۱ ردیف "
        "افزوده و ۰ ردیف به‌روز می‌شود و ۰ ردیف بدون تغییر می‌ماند."
    ]
    assert await count(engine, audit_log) == 0


async def test_staff_whose_app_is_in_english_get_the_report_in_english(
    member_factory: MemberFactory,
) -> None:
    staff = member_factory(ADMIN_ID, language_code="en")
    await staff.send_document("programs.csv", PROGRAMS_CSV, caption="programs")
    assert staff.texts == ["Imported programs: 17 rows; 17 new, 0 updated, 0 unchanged."]


@pytest.mark.parametrize("caption", [None, "سلام", "programs cooperatives"])
async def test_a_caption_that_names_no_single_kind_gets_the_list_of_kinds(
    staff: Member, caption: str | None
) -> None:
    await staff.send_document("programs.csv", PROGRAMS_CSV, caption=caption)
    assert staff.texts == [HOW_TO_CAPTION_FA]


@pytest.mark.parametrize(
    ("caption", "kind", "dry_run"),
    [
        ("cooperatives", "cooperatives", False),
        ("Value_Chains --dry-run", "value-chains", True),
        ("تعاونیها", "cooperatives", False),
        ("تعاونی ها", "cooperatives", False),
        ("فهرست درخواست‌ها، آزمایشی", "applications", True),
        ("زنجيره", "value-chains", False),
        ("برنامه", "programs", False),
    ],
)
def test_a_caption_is_read_in_either_language_however_it_is_spelled(
    caption: str, kind: str, dry_run: bool
) -> None:
    assert read_caption(caption) == (kind, dry_run)


async def test_a_file_that_is_not_a_spreadsheet_is_refused_plainly(staff: Member) -> None:
    await staff.send_document(
        "report.pdf", b"%PDF-1.4", caption="برنامه‌ها", mime_type="application/pdf"
    )
    assert staff.texts == [
        "فقط فایل‌های csv و xlsx را می‌توانم وارد کنم. جدول را با یکی از این قالب‌ها ذخیره کنید "
        "و دوباره بفرستید."
    ]


async def test_a_file_over_20_mb_is_refused_before_it_is_downloaded(staff: Member) -> None:
    await staff.send_document("big.csv", b"x" * (20 * 1024 * 1024 + 1), caption="برنامه‌ها")
    assert staff.texts == [
        "حجم این فایل بیش از ۲۰ مگابایت است و بات نمی‌تواند آن را دریافت کند. آن را به چند فایل "
        "کوچک‌تر تقسیم کنید، یا روی سرور با فرمان coopbot import وارد کنید."
    ]
    assert "getFile" not in [call.method for call in staff.calls]


async def test_an_unusable_file_is_answered_with_the_reason(staff: Member) -> None:
    await staff.send_document(
        "chains.csv", b"code,name_fa,colour\nsilk,x,red\n", caption="زنجیره‌ها"
    )
    assert staff.texts == [
        "فایل وارد نشد: ستون ناشناخته: colour؛ ستون‌های مجاز: code, name_fa, name_en, priority"
    ]


async def test_a_long_report_is_cut_to_one_message_saying_how_many_more(staff: Member) -> None:
    rows = [coop(f"{10100000000 + n}", county_id="2") for n in range(300)]
    await staff.send_document("coops.csv", table_of(*rows), caption="تعاونی‌ها")
    [text] = staff.texts
    assert len(text) <= 4096
    lines = text.splitlines()
    shown = len(lines) - 2  # the headline and the "… and N more" line
    assert lines[0].startswith("چیزی ثبت نشد: ۳۰۰ ردیف از ۳۰۰ ردیف تعاونی‌ها پذیرفته نشد.")
    assert lines[1] == "ردیف ۲، ستون county_id: شهرستان ۲ در استان IR-08 نیست"
    assert lines[-1] == f"… و {translator('fa').number(300 - shown)} مورد دیگر"


async def test_a_members_document_gets_the_fallback_hint(chat: Member, engine: AsyncEngine) -> None:
    await chat.send_document("programs.csv", PROGRAMS_CSV, caption="برنامه‌ها")
    assert chat.texts == [HINT]
    assert chat.last.buttons == MENU_FA
    assert await count(engine, programs) == 0


async def test_a_status_change_imported_through_the_bot_reaches_the_watching_member(
    app: Application, staff: Member, chat: Member, engine: AsyncEngine
) -> None:
    await import_file(
        engine, "applications", applications_csv("under_review", "1405/08/01"), filename="a.csv"
    )
    await watch_it(chat)
    changed = applications_csv("approved", "1405/08/20", "قرارداد را امضا کنید.")
    await staff.send_document("applications.csv", changed, caption="درخواست‌ها")
    await Sender(app.bot, engine, "telegram", 100, "test").run_once()
    assert chat.calls[-1].method == "sendMessage"
    assert chat.calls[-1].text == (
        "🔔 وضعیت درخواست AB123456 تغییر کرد: تأیید شده (۲۰ آبان ۱۴۰۵).\n"
        "گام بعدی: قرارداد را امضا کنید."
    )
