"""The programs repository: what fits a member, by category, by (misspelt) words. Both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db import programs
from db.models import pack
from db.schema import programs as table
from db.text import search_key
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
TODAY = dt.date(2026, 11, 23)


async def add(engine: AsyncEngine, program_id: str, **fields: Any) -> None:
    row: dict[str, Any] = {
        "program_id": program_id,
        "title_fa": fields.pop("title_fa", f"برنامه {program_id}"),
        "category": fields.pop("category", "loan"),
        "summary_fa": fields.pop("summary_fa", "خلاصه"),
        "updated_at": dt.datetime.now(dt.UTC),
        **{k: pack(v) if isinstance(v, list) else v for k, v in fields.items()},
    }
    row["search_text"] = search_key(
        f"{row['title_fa']} {row.get('title_en', '')} {row['summary_fa']}"
    )
    async with engine.begin() as connection:
        await connection.execute(insert(table).values(**row))


async def ids(found: list[Any]) -> list[str]:
    return [p.program_id for p in found]


async def test_limits_on_chain_province_and_tags_decide_what_fits(engine: AsyncEngine) -> None:
    await add(engine, "everyone")
    await add(engine, "bees", value_chains=["beekeeping"])
    await add(engine, "fish_in_gilan", value_chains=["aquaculture"], provinces=["IR-01"])
    await add(engine, "kerman", provinces=["IR-08", "IR-11"])
    await add(engine, "women", eligibility=["women"])
    await add(engine, "rural_women", eligibility=["rural", "women"])

    beekeeper = await programs.matching(engine, chain="beekeeping", province="IR-08", today=TODAY)
    assert sorted(await ids(beekeeper)) == ["bees", "everyone", "kerman"]
    woman = await programs.matching(
        engine, chain="poultry", province="IR-01", tags=("women",), today=TODAY
    )
    assert sorted(await ids(woman)) == ["everyone", "women"]
    unknown = await programs.matching(engine, tags=("women", "rural"), today=TODAY)
    assert sorted(await ids(unknown)) == [
        "bees",
        "everyone",
        "fish_in_gilan",
        "kerman",
        "rural_women",
        "women",
    ]


async def test_a_category_holds_every_program_of_it_and_counts_them(engine: AsyncEngine) -> None:
    await add(engine, "a", category="loan")
    await add(engine, "b", category="grant")
    await add(engine, "c", category="grant", eligibility=["women"], value_chains=["poultry"])
    assert await ids(await programs.in_category(engine, "grant", today=TODAY)) == ["b", "c"]
    assert await programs.category_counts(engine) == {"loan": 1, "grant": 2}


async def test_open_programs_come_before_closed_ones(engine: AsyncEngine) -> None:
    await add(engine, "closed", title_fa="الف", closes_on=dt.date(2025, 1, 1))
    await add(engine, "later", title_fa="ب", opens_on=dt.date(2027, 1, 1))
    await add(engine, "open", title_fa="ی", opens_on=dt.date(2026, 1, 1))
    assert await ids(await programs.matching(engine, today=TODAY)) == ["open", "closed", "later"]


async def test_search_folds_arabic_letters_half_spaces_and_tolerates_a_typo(
    engine: AsyncEngine,
) -> None:
    await add(engine, "insurance", title_fa="تخفیف حق‌بیمه کارفرما", category="insurance")
    await add(engine, "loan", title_fa="تسهیلات قرض‌الحسنه بانک رسالت")
    assert await ids(await programs.search(engine, "حق بيمه", today=TODAY)) == ["insurance"]
    assert await ids(await programs.search(engine, "قرض الحسنه", today=TODAY)) == ["loan"]
    assert await ids(await programs.search(engine, "تسهیلت رسالت", today=TODAY)) == ["loan"]
    assert await programs.search(engine, "پرواز فضایی", today=TODAY) == []
    assert await programs.search(engine, "   ", today=TODAY) == []


async def test_search_tolerates_typos_only_when_no_program_holds_the_words_as_typed(
    engine: AsyncEngine,
) -> None:
    await add(engine, "resalat", title_fa="تسهیلات بانک رسالت")
    await add(engine, "misspelt", title_fa="تسهیلات بانک رسلت")
    assert await ids(await programs.search(engine, "رسالت", today=TODAY)) == ["resalat"]
    assert await ids(await programs.search(engine, "رسالتی", today=TODAY)) == [
        "resalat",
        "misspelt",
    ]


async def test_get_returns_the_program_with_its_lists(engine: AsyncEngine) -> None:
    await add(engine, "bees", value_chains=["beekeeping", "apparel"], eligibility=["rural"])
    found = await programs.get(engine, "bees")
    assert found is not None
    assert (found.value_chains, found.eligibility) == (("apparel", "beekeeping"), ("rural",))
    assert await programs.get(engine, "nope") is None


async def test_search_knows_the_words_members_use_for_a_category(engine: AsyncEngine) -> None:
    await add(engine, "resalat", title_fa="تسهیلات قرض‌الحسنه بانک رسالت", category="loan")
    await add(engine, "fund", title_fa="صندوق ضمانت", category="guarantee")
    assert await ids(await programs.search(engine, "وام", today=TODAY)) == ["resalat"]
