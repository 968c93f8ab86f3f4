"""/admin: staff see who holds the staff role and grant or revoke it by user id; every change is
in the audit log; to anyone else /admin is a command the bot does not know."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import audit, users
from tests.conftest import ADMIN_ID, MemberFactory
from tests.test_start import MENU_FA

UNKNOWN = "این دستور را نمی‌شناسم. راهنما: /help"
USAGE = (
    "برای دادن نقش کارکنان به کسی: /admin grant ID\n"
    "برای گرفتن آن: /admin revoke ID\n"
    "به‌جای ID شناسه عددی کاربر در همین پیام‌رسان را بنویسید، برای نمونه ۱۲۳۴۵۶۷۸۹."
)


@pytest.fixture
def staff(member_factory: MemberFactory) -> Member:
    """Staff through COOPBOT_ADMIN_IDS (tests/conftest.py)."""
    return member_factory(ADMIN_ID, first_name="Zahra")


async def entries(engine: AsyncEngine) -> list[tuple[str, int | None, str, str]]:
    found = await audit.recent(engine, "telegram", ("grant_staff", "revoke_staff"))
    return [(e.platform, e.actor_id, e.action, e.detail) for e in reversed(found)]


async def test_admin_alone_lists_the_staff_and_how_to_change_them(
    staff: Member, engine: AsyncEngine
) -> None:
    await users.touch(engine, "telegram", 1234, 1234, "Ali")
    await users.set_staff(engine, "telegram", 1234, True)
    await users.set_staff(engine, "bale", 777, True)  # another platform's staff
    await staff.send("/admin")
    assert staff.last.text == (
        "👤 کارکنان این بات:\n• ۹۰۰۱ Zahra (تعیین‌شده در تنظیمات بات، شما)\n• ۱۲۳۴ Ali\n\n" + USAGE
    )


async def test_granting_with_persian_digits_records_the_role_and_the_audit_entry(
    staff: Member, engine: AsyncEngine
) -> None:
    await users.touch(engine, "telegram", 1234, 1234, "Ali")
    await staff.send("/admin grant ۱۲۳۴")
    assert (
        staff.last.text == "✅ ۱۲۳۴ (Ali) اکنون نقش کارکنان را دارد: /broadcast، /stats و /admin."
    )
    granted = await users.get(engine, "telegram", 1234)
    assert granted is not None and granted.staff
    assert await entries(engine) == [("telegram", ADMIN_ID, "grant_staff", "1234")]


async def test_someone_granted_can_use_staff_commands_at_once(
    staff: Member, member_factory: MemberFactory
) -> None:
    ali = member_factory(1234, first_name="Ali")
    await ali.send("/stats")
    assert ali.last.text == UNKNOWN
    await staff.send("/admin grant 1234")
    await ali.send("/admin")
    assert (ali.last.text or "").startswith(
        "👤 کارکنان این بات:\n• ۹۰۰۱ Zahra (تعیین‌شده در تنظیمات بات)\n• ۱۲۳۴ Ali (شما)\n"
    )


async def test_granting_someone_who_never_wrote_records_them(
    staff: Member, engine: AsyncEngine
) -> None:
    await staff.send("/admin grant 5555")
    assert staff.last.text == "✅ ۵۵۵۵ اکنون نقش کارکنان را دارد: /broadcast، /stats و /admin."
    granted = await users.get(engine, "telegram", 5555)
    assert granted is not None and (granted.staff, granted.chat_id) == (True, 5555)


async def test_granting_staff_again_changes_nothing(staff: Member, engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 1234, 1234, "Ali")
    await users.set_staff(engine, "telegram", 1234, True)
    await staff.send("/admin grant 1234")
    assert staff.last.text == "۱۲۳۴ (Ali) از قبل نقش کارکنان را دارد."
    await staff.send(f"/admin grant {ADMIN_ID}")
    assert staff.last.text == "۹۰۰۱ (Zahra) از قبل نقش کارکنان را دارد."
    assert await entries(engine) == []


async def test_revoking_takes_the_role_away_and_is_audited(
    staff: Member, member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    await users.touch(engine, "telegram", 1234, 1234, "Ali")
    await users.set_staff(engine, "telegram", 1234, True)
    await staff.send("/admin revoke ۱۲۳۴")
    assert staff.last.text == "✅ ۱۲۳۴ (Ali) دیگر نقش کارکنان را ندارد."
    revoked = await users.get(engine, "telegram", 1234)
    assert revoked is not None and not revoked.staff
    assert await entries(engine) == [("telegram", ADMIN_ID, "revoke_staff", "1234")]
    ali = member_factory(1234, first_name="Ali")
    await ali.send("/admin")
    assert ali.last.text == UNKNOWN


async def test_the_roles_the_settings_give_cannot_be_revoked_here(
    staff: Member, engine: AsyncEngine
) -> None:
    await staff.send(f"/admin revoke {ADMIN_ID}")
    assert staff.last.text == (
        "نقش کارکنانِ ۹۰۰۱ (Zahra) از تنظیمات بات (COOPBOT_ADMIN_IDS) می‌آید و فقط کسی که بات "
        "را اجرا می‌کند می‌تواند آن را تغییر دهد."
    )
    assert await entries(engine) == []


async def test_nobody_revokes_their_own_role(
    staff: Member, member_factory: MemberFactory, engine: AsyncEngine
) -> None:
    await staff.send("/admin grant 1234")
    ali = member_factory(1234, first_name="Ali")
    await ali.send("/admin revoke 1234")
    assert ali.last.text == (
        "نمی‌توانید نقش کارکنان را از خودتان بگیرید؛ از یکی دیگر از کارکنان بخواهید."
    )
    kept = await users.get(engine, "telegram", 1234)
    assert kept is not None and kept.staff
    assert await entries(engine) == [("telegram", ADMIN_ID, "grant_staff", "1234")]


async def test_revoking_someone_who_is_not_staff_changes_nothing(
    staff: Member, engine: AsyncEngine
) -> None:
    await staff.send("/admin revoke 4321")
    assert staff.last.text == "۴۳۲۱ نقش کارکنان را ندارد؛ چیزی تغییر نکرد."
    assert await users.get(engine, "telegram", 4321) is None
    assert await entries(engine) == []


@pytest.mark.parametrize("typed", ["ali", "12a", "-5", "0", "99999999999999999999"])
async def test_an_id_that_is_not_a_user_id_is_explained(
    staff: Member, engine: AsyncEngine, typed: str
) -> None:
    await staff.send(f"/admin grant {typed}")
    assert staff.last.text == (
        f"«{typed}» شناسه کاربر نیست. شناسه کاربر یک عدد است، برای نمونه ۱۲۳۴۵۶۷۸۹."
    )
    assert await entries(engine) == []


@pytest.mark.parametrize("command", ["/admin grant", "/admin promote 1234", "/admin help"])
async def test_anything_else_shows_the_list_and_the_usage(staff: Member, command: str) -> None:
    await staff.send(command)
    assert (staff.last.text or "").startswith("👤 کارکنان این بات:\n")
    assert (staff.last.text or "").endswith(USAGE)


@pytest.mark.parametrize("command", ["/admin", "/admin grant 1001", "/admin revoke 9001"])
async def test_a_member_gets_the_unknown_command_answer_and_nothing_changes(
    chat: Member, engine: AsyncEngine, command: str
) -> None:
    await chat.send(command)
    assert chat.last.text == UNKNOWN
    assert chat.last.buttons == MENU_FA
    member = await users.get(engine, "telegram", 1001)
    assert member is not None and not member.staff
    assert await entries(engine) == []


async def test_staff_see_the_staff_commands_in_help(staff: Member) -> None:
    await staff.send("/help")
    assert (
        "/help: همین راهنما\n\n"
        "برای کارکنان:\n"
        "/broadcast: فرستادن اطلاعیه برای اعضا\n"
        "/stats: اعضا، اشتراک‌ها، جست‌وجوها و اطلاعیه‌ها در یک نگاه\n"
        "/admin: چه کسانی نقش کارکنان را دارند؛ دادن یا گرفتن آن\n"
        "برای ورود اطلاعات، فایل جدول را با توضیحی (کپشن) که نوعش را بگوید بفرستید.\n\n"
        "داده‌های مکانی:"
    ) in (staff.last.text or "")


async def test_members_do_not_see_staff_commands_in_help(chat: Member) -> None:
    await chat.send("/help")
    assert "/stats" not in (chat.last.text or "")
    assert "/admin" not in (chat.last.text or "")
