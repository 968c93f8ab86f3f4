"""The programs are kept in memory for a while (db/cache.py): a program staff import is offered at
once, one another process wrote within CACHE_S. What a member is offered is what is asserted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import cache, programs
from db.importers import ImportReport, import_file
from tests.test_programs import add
from tests.test_programs_journey import HOME_BUTTONS

WITH_A_GRANT = [
    HOME_BUTTONS[0],
    ["💰 تسهیلات (۲)", "🎁 کمک‌های بلاعوض (۲)"],
    *HOME_BUTTONS[2:],
]
PROGRAMS_CSV = (
    "program_id,title_fa,category,summary_fa\n"
    "seed_grant,کمک بلاعوض بذر,grant,کمک بلاعوض برای خرید بذر.\n"
).encode()


@pytest.fixture(autouse=True)
async def some_programs(engine: AsyncEngine) -> None:
    await add(engine, "bees", title_fa="وام زنبورداری", value_chains=["beekeeping"])
    await add(engine, "old_loan", title_fa="تسهیلات قدیمی")
    await add(engine, "women_grant", title_fa="کمک بلاعوض زنان", category="grant")
    await add(engine, "insurance", title_fa="تخفیف حق‌بیمه کارفرما", category="insurance")


async def offered(chat: Member) -> list[list[str]]:
    await chat.send("/programs")
    return chat.last.buttons


async def test_a_program_imported_by_staff_is_offered_and_found_at_once(
    chat: Member, engine: AsyncEngine
) -> None:
    assert await offered(chat) == HOME_BUTTONS
    await chat.send("بذر")
    assert chat.last.text == (
        "برنامه‌ای با «بذر» پیدا نشد. کلمه‌های دیگری امتحان کنید یا از دسته‌ها انتخاب کنید."
    )
    report = await import_file(engine, "programs", PROGRAMS_CSV, filename="p.csv")
    assert report.ok
    assert await offered(chat) == WITH_A_GRANT
    await chat.send("بذر")
    assert chat.last.text == "برنامه‌های مرتبط با «بذر» (۱):"
    assert chat.last.buttons[0] == ["🟢 کمک بلاعوض بذر"]


async def test_a_program_another_process_wrote_is_offered_once_the_cache_expires(
    chat: Member, engine: AsyncEngine, cache_clock: Callable[[float], None]
) -> None:
    assert await offered(chat) == HOME_BUTTONS
    # As `coopbot import` in another process would: this process's cache is not told.
    await add(engine, "seed_grant", title_fa="کمک بلاعوض بذر", category="grant")
    cache_clock(cache.CACHE_S - 1)
    assert await offered(chat) == HOME_BUTTONS
    cache_clock(1)
    assert await offered(chat) == WITH_A_GRANT


async def test_a_read_an_import_overtook_is_not_kept(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read that began before an import committed returns the old programs, but the next one
    must see the import, not the overtaken read kept for CACHE_S."""
    read = programs._read
    imported: list[ImportReport] = []

    async def read_then_import(engine: AsyncEngine) -> programs.Catalogue:
        found = await read(engine)
        if not imported:
            imported.append(await import_file(engine, "programs", PROGRAMS_CSV, filename="p.csv"))
        return found

    monkeypatch.setattr(programs._CATALOGUE, "_load", read_then_import)
    assert await programs.get(engine, "seed_grant") is None
    assert imported[0].ok
    found = await programs.get(engine, "seed_grant")
    assert found is not None and found.title_fa == "کمک بلاعوض بذر"
