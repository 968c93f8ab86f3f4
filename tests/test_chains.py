"""The value chains are kept in memory for a while: an import shows at once, a write by another
process within CACHE_S. What a member is offered is what is asserted."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.offline import Member
from db import cache
from db.importers import import_file
from db.schema import value_chains
from tests.test_start import CHAINS_FA

WITH_DAIRY = [*CHAINS_FA[:-1], ["لبنیات"], CHAINS_FA[-1]]


async def offered_chains(chat: Member) -> list[list[str]]:
    await chat.send("/start")
    await chat.press("فارسی")
    await chat.press("رد شدن ⏭")
    buttons = chat.last.buttons
    await chat.send("/cancel")
    return buttons


async def test_a_chain_imported_by_staff_is_offered_at_once(
    chat: Member, engine: AsyncEngine
) -> None:
    assert await offered_chains(chat) == CHAINS_FA
    report = await import_file(
        engine,
        "value-chains",
        "code,name_fa,name_en\ndairy,لبنیات,Dairy\n".encode(),
        filename="c.csv",
    )
    assert report.ok
    assert await offered_chains(chat) == WITH_DAIRY


async def test_a_chain_another_process_wrote_is_offered_once_the_cache_expires(
    chat: Member, engine: AsyncEngine, cache_clock: Callable[[float], None]
) -> None:
    assert await offered_chains(chat) == CHAINS_FA
    async with engine.begin() as connection:  # as `coopbot import` in another process would
        await connection.execute(
            insert(value_chains).values(code="dairy", name_fa="لبنیات", name_en="Dairy")
        )
    cache_clock(cache.CACHE_S - 1)
    assert await offered_chains(chat) == CHAINS_FA
    cache_clock(1)
    assert await offered_chains(chat) == WITH_DAIRY
