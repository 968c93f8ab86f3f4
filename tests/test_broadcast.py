"""/broadcast: staff compose, target, preview, confirm and follow an announcement; the outbox
delivers it exactly once per member, across a crash; `coopbot broadcast` queues the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.cli import main
from bot.offline import ApiCall, Member, OfflineBotApi
from bot.sender import Sender
from db import users
from db.schema import announcements, deliveries
from handlers.broadcast import progress_round
from tests.conftest import ADMIN_ID, MemberFactory

AUDIENCE_ALL = (
    "چه کسانی دریافتش کنند؟\nزنجیره‌های ارزش: همه\nاستان‌ها: همه\nبه ۴ عضو می‌رسد.\n\n"
    "روی زنجیره‌های ارزش بزنید تا انتخاب شوند؛ اگر هیچ‌کدام انتخاب نشود یعنی همه."
)


@pytest.fixture
async def audience(engine: AsyncEngine) -> None:
    """Members 1-3 subscribed; 4 blocked the bot; 5 left all announcements; staff 9001."""
    for user_id, chains, province in [
        (1, {"beekeeping"}, "IR-08"),
        (2, {"beekeeping"}, "IR-11"),
        (3, {"poultry"}, "IR-08"),
        (4, {"beekeeping"}, "IR-08"),
        (5, set(), None),
    ]:
        await users.touch(engine, "telegram", user_id, user_id)
        await users.set_subscriptions(engine, "telegram", user_id, "chain", chains)
        await users.set_subscriptions(
            engine, "telegram", user_id, "province", {province} if province else set()
        )
    await users.update_profile(engine, "telegram", 4, blocked=True)
    await users.unsubscribe_all(engine, "telegram", 5)
    await users.touch(engine, "telegram", ADMIN_ID, ADMIN_ID)


@pytest.fixture
def staff(member_factory: MemberFactory, audience: None) -> Member:
    return member_factory(ADMIN_ID, first_name="Staff")


def received(api: OfflineBotApi, chat_id: int) -> list[ApiCall]:
    return [
        c
        for c in api.calls
        if c.chat_id == chat_id
        and c.method.startswith("send")
        and isinstance(c.result, dict)
        and "message_id" in c.result
    ]


async def compose(staff: Member, text: str = "کارگاه آموزشی زنبورداری، پنجشنبه در کرمان") -> None:
    await staff.send("/broadcast")
    await staff.send(text)


async def test_a_member_cannot_broadcast_nor_press_its_buttons(chat: Member) -> None:
    await chat.send("/broadcast")
    assert chat.last.text == "این دستور را نمی‌شناسم. راهنما: /help"
    await chat.press_data("bc:go:1")  # as a stale button is (test_fallback.py)
    assert chat.replies[0].params["text"] == "این دکمه دیگر فعال نیست."
    assert chat.texts == ["این دکمه مربوط به پیامی قدیمی است. منوی اصلی:"]


async def test_staff_write_then_see_the_audience_and_its_size(staff: Member) -> None:
    await staff.send("/broadcast")
    assert staff.last.text == (
        "اطلاعیه را بنویسید: یک متن، یا یک عکس یا فایل همراه با توضیح. برای توقف /cancel را بفرستید."
    )
    await staff.send("کارگاه آموزشی")
    assert staff.last.text == AUDIENCE_ALL
    assert staff.last.buttons[0] == ["▫️ پرورش طیور"]
    assert staff.last.buttons[-2:] == [["📍 استان‌ها"], ["👁 پیش‌نمایش", "❌ لغو"]]


async def test_choosing_chains_and_provinces_narrows_the_count(staff: Member) -> None:
    await compose(staff)
    await staff.press("▫️ زنبورداری")
    assert "به ۲ عضو می‌رسد." in (staff.last.text or "")
    await staff.press("📍 استان‌ها")
    assert staff.last.text == "روی استان‌ها بزنید تا انتخاب شوند؛ اگر هیچ‌کدام انتخاب نشود یعنی همه."
    await staff.press_data(
        staff.last.inline_data[0][0].replace("IR-03", "IR-08"), staff.api.messages_in(ADMIN_ID)[-1]
    )
    await staff.press("✔️ تمام")
    assert staff.last.text == (
        "چه کسانی دریافتش کنند؟\nزنجیره‌های ارزش: زنبورداری\nاستان‌ها: کرمان\nبه ۱ عضو می‌رسد.\n\n"
        "روی زنجیره‌های ارزش بزنید تا انتخاب شوند؛ اگر هیچ‌کدام انتخاب نشود یعنی همه."
    )


async def test_preview_shows_exactly_what_members_get_then_asks_to_confirm(staff: Member) -> None:
    await compose(staff)
    await staff.press("▫️ زنبورداری")
    await staff.press("👁 پیش‌نمایش")
    assert [c.method for c in staff.messages] == ["sendMessage", "sendMessage"]
    assert staff.texts[0] == "کارگاه آموزشی زنبورداری، پنجشنبه در کرمان"
    assert staff.texts[1] == (
        "پیام بالا دقیقاً همان چیزی است که هر عضو دریافت می‌کند.\n"
        "زنجیره‌های ارزش: زنبورداری\nاستان‌ها: همه"
    )
    assert staff.last.buttons == [["✅ ارسال برای ۲ عضو"], ["✏️ تغییر مخاطبان", "❌ لغو"]]


async def test_confirm_queues_one_delivery_each_then_the_progress_message_follows_it(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    staff: Member,
) -> None:
    await compose(staff)
    await staff.press("▫️ زنبورداری")
    await staff.press("👁 پیش‌نمایش")
    await staff.press("✅ ارسال برای ۲ عضو")
    progress = staff.api.messages_in(ADMIN_ID)[-1]
    assert progress["text"] == (
        "📣 در حال ارسال اطلاعیه…\n░░░░░░░░░░ ۰%\nفرستاده شده: ۰ · ناموفق: ۰ · مسدودکرده: ۰"
    )
    assert progress["reply_markup"]["inline_keyboard"] == [
        [{"text": "⏹ توقف ارسال", "callback_data": "bc:stop:1"}]
    ]
    async with engine.connect() as connection:
        queued = (await connection.execute(select(deliveries.c.user_id))).scalars().all()
    assert sorted(queued) == [1, 2]
    await Sender(app.bot, engine, "telegram", 100, "test").run_once()
    assert [c.text for c in received(api, 1)] == ["کارگاه آموزشی زنبورداری، پنجشنبه در کرمان"]
    assert len(received(api, 2)) == 1 and received(api, 3) == []
    await progress_round(app)
    final = staff.api.messages_in(ADMIN_ID)[-1]
    assert final["text"] == (
        "✅ اطلاعیه برای ۲ عضو فرستاده شد.\nفرستاده شده: ۲ · ناموفق: ۰ · مسدودکرده: ۰"
    )
    assert "reply_markup" not in final
    async with engine.connect() as connection:
        assert (await connection.execute(select(announcements.c.status))).scalar_one() == "done"


async def test_a_second_tap_on_send_queues_nothing_more(staff: Member, engine: AsyncEngine) -> None:
    await compose(staff)
    await staff.press("👁 پیش‌نمایش")
    await staff.press("✅ ارسال برای ۴ عضو")
    await staff.press_data("bc:go:1", staff.api.messages_in(ADMIN_ID)[-2])  # tapped twice
    assert staff.last.params["text"] == "این اطلاعیه قبلاً فرستاده یا لغو شده است."
    async with engine.connect() as connection:
        assert (
            await connection.execute(select(func.count()).select_from(deliveries))
        ).scalar_one() == 4


async def test_stop_keeps_what_was_sent_and_cancels_the_rest(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    staff: Member,
) -> None:
    await compose(staff)
    await staff.press("👁 پیش‌نمایش")
    await staff.press("✅ ارسال برای ۴ عضو")
    await Sender(app.bot, engine, "telegram", 1, "test").run_once()  # a batch of one
    await staff.press("⏹ توقف ارسال")
    assert staff.api.messages_in(ADMIN_ID)[-1]["text"] == (
        "⏹ متوقف شد. ۱ از ۴ پیش از توقف فرستاده شد.\nفرستاده شده: ۱ · ناموفق: ۰ · مسدودکرده: ۰"
    )
    await Sender(app.bot, engine, "telegram", 100, "test").run_once()
    assert sum(len(received(api, chat)) for chat in (1, 2, 3)) == 1


async def test_cancel_before_sending_sends_nothing(staff: Member, engine: AsyncEngine) -> None:
    await compose(staff)
    await staff.press("❌ لغو")
    assert staff.last.text == "لغو شد. چیزی فرستاده نشد."
    async with engine.connect() as connection:
        assert (
            await connection.execute(select(func.count()).select_from(deliveries))
        ).scalar_one() == 0


async def test_a_photo_with_a_caption_goes_out_as_a_photo(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    staff: Member,
) -> None:
    await staff.send("/broadcast")
    await staff.send_photo(caption="نمایشگاه فرش دستباف")
    await staff.press("👁 پیش‌نمایش")
    assert staff.messages[0].method == "sendPhoto"
    assert staff.messages[0].params["photo"] == "photo1"
    await staff.press("✅ ارسال برای ۴ عضو")
    await Sender(app.bot, engine, "telegram", 100, "test").run_once()
    sent = received(api, 1)
    assert [(c.method, c.params["caption"]) for c in sent] == [("sendPhoto", "نمایشگاه فرش دستباف")]


async def test_a_text_too_long_is_refused_with_its_length(staff: Member) -> None:
    await staff.send("/broadcast")
    await staff.send("ا" * 4100)
    assert staff.last.text == (
        "این متن ۴٬۱۰۰ نویسه است؛ حداکثر ۴٬۰۹۶ نویسه جا می‌شود. لطفاً کوتاه‌ترش کنید."
    )


async def test_an_announcement_of_only_spaces_is_asked_for_again(staff: Member) -> None:
    # The Bot API refuses a message with no text but spaces: every delivery would fail.
    await staff.send("/broadcast")
    await staff.send(" \t ")
    assert staff.last.text == "لطفاً یک متن، یک عکس یا یک فایل بفرستید."


async def test_a_sender_killed_mid_broadcast_resumes_without_duplicates_or_losses(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    member_factory: MemberFactory,
) -> None:
    class Killed(BaseException):
        """The process dies: nothing in the sender may catch this."""

    for user_id in range(100, 160):
        await users.touch(engine, "telegram", user_id, user_id)
    staff = member_factory(ADMIN_ID)
    await compose(staff)
    await staff.press("👁 پیش‌نمایش")
    await staff.press("✅ ارسال برای ۶۱ عضو")  # the 60 and the staff member
    calls = 0

    def dies_on_the_25th(call: ApiCall) -> None:
        nonlocal calls
        calls += 1
        if calls == 25:
            raise Killed

    api.interceptor = dies_on_the_25th
    sender = Sender(app.bot, engine, "telegram", 10, "first")
    with pytest.raises(Killed):
        for _ in range(10):
            await sender.run_once()
    api.interceptor = None
    async with engine.begin() as connection:  # the dead sender's lease runs out
        await connection.execute(
            update(deliveries)
            .where(deliveries.c.status == "sending")
            .values(claimed_until=dt.datetime(2000, 1, 1))
        )
    again = Sender(app.bot, engine, "telegram", 10, "second")
    while await again.run_once():
        pass
    # (The staff member's own chat also holds the preview, so only the 60 members are counted.)
    counts = [len(received(api, user_id)) for user_id in range(100, 160)]
    assert min(counts) == 1, "nobody is skipped"
    assert sum(counts) == 60, "nobody receives it twice"


def test_coopbot_broadcast_queues_for_the_chosen_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from db.engine import create_engine, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/c.db"
    monkeypatch.setenv("COOPBOT_DATABASE_URL", url)

    async def members() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        for user_id, chain in [(1, "beekeeping"), (2, "poultry")]:
            await users.touch(engine, "telegram", user_id, user_id)
            await users.set_subscriptions(engine, "telegram", user_id, "chain", {chain})
        await engine.dispose()

    asyncio.run(members())
    assert main(["broadcast", "--text", "وام جدید", "--chain", "beekeeping"]) == 0
    assert capsys.readouterr().out == (
        "announcement 1 queued for 1 members on telegram; the running bot (coopbot run) sends it "
        "at 25 a second\n"
    )

    async def logged() -> list[tuple[int | None, str]]:
        from db import audit

        engine = create_engine(url)
        entries = await audit.recent(engine, "telegram")
        await engine.dispose()
        return [(e.actor_id, e.detail) for e in entries]

    assert asyncio.run(logged()) == [
        (None, "announcement 1 to 1 members from the shell; chains=beekeeping provinces=all")
    ]
    assert main(["broadcast", "--text", "x", "--chain", "silk"]) == 1
    assert capsys.readouterr().err.startswith("coopbot: unknown value chain silk")
    assert main(["broadcast", "--text", "x", "--province", "IR-99"]) == 1
    assert main(["broadcast", "--text", "   "]) == 1


async def test_confirm_stop_and_cancel_are_in_the_audit_log(
    staff: Member, engine: AsyncEngine
) -> None:
    from db import audit

    await compose(staff)
    await staff.press("▫️ زنبورداری")
    await staff.press("👁 پیش‌نمایش")
    await staff.press("✅ ارسال برای ۲ عضو")
    await staff.press("⏹ توقف ارسال")
    await compose(staff, "دومی")
    await staff.press("❌ لغو")
    entries = await audit.recent(engine, "telegram")
    assert [(e.actor_id, e.action, e.detail) for e in reversed(entries)] == [
        (ADMIN_ID, "broadcast", "announcement 1 to 2 members; chains=beekeeping provinces=all"),
        (ADMIN_ID, "broadcast_stop", "announcement 1"),
        (ADMIN_ID, "broadcast_cancel", "announcement 2, before sending"),
    ]
