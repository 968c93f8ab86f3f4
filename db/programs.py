"""Support programs: which fit a member (chain, province, eligibility tags), by category, by words."""

from __future__ import annotations

import datetime as dt
import difflib
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Program
from db.schema import programs
from db.text import search_key

CATEGORIES = ("loan", "grant", "guarantee", "insurance", "tax", "training", "market", "other")
TAGS = ("women", "knowledge_based", "border", "deprived_area", "rural", "union", "exemplary")
# Words members use for a category that a program's own text may not contain ("وام" for a
# program that only says "تسهیلات"); searched as if they were part of every program of it.
CATEGORY_WORDS = {
    "loan": "وام تسهیلات قرض loan credit",
    "grant": "کمک بلاعوض یارانه grant",
    "guarantee": "ضمانت ضمانت‌نامه صندوق guarantee",
    "insurance": "بیمه insurance",
    "tax": "مالیات معافیت tax",
    "training": "آموزش دوره کارگاه training",
    "market": "بازار فروش نمایشگاه market",
    "other": "",
}
# Close enough to count as the same word: "تسهیلات" typed "تسهیلت", "بیمه" typed "بیمع".
TYPO_CUTOFF = 0.75

_COLUMNS = [c for c in programs.c if c.name not in ("search_text", "updated_at", "demo")]
# Built once (the programs journey reads them on most steps): SQLAlchemy reuses their compiled
# form. `matching` has one statement per combination of filters, made on first use.
_ONE = select(*_COLUMNS).where(programs.c.program_id == bindparam("program_id"))
_COUNTS = select(programs.c.category, func.count()).group_by(programs.c.category)
_SEARCHED = select(*_COLUMNS, programs.c.search_text)


def _open_first(found: list[Program], today: dt.date) -> list[Program]:
    """Open programs first; closed ones are still shown (members should know they exist)."""
    return sorted(found, key=lambda p: (not p.is_open(today), p.title_fa))


def _listed(item: str) -> str:
    """The LIKE pattern for "a stored list holds item"."""
    return f"%;{item};%"


def _contains(column: ColumnElement[str], item: str) -> ColumnElement[bool]:
    return column.like(_listed(item))


async def get(engine: AsyncEngine, program_id: str) -> Program | None:
    async with engine.connect() as connection:
        row = (await connection.execute(_ONE, {"program_id": program_id})).one_or_none()
    return None if row is None else Program.model_validate(row._mapping)


@cache
def _matching_query(
    by_category: bool, by_chain: bool, by_province: bool, tags: frozenset[str]
) -> Select[Any]:
    query = select(*_COLUMNS)
    if by_category:
        query = query.where(programs.c.category == bindparam("category"))
    if by_chain:
        query = query.where(
            or_(programs.c.value_chains == ";", programs.c.value_chains.like(bindparam("chain")))
        )
    if by_province:
        query = query.where(
            or_(programs.c.provinces == ";", programs.c.provinces.like(bindparam("province")))
        )
    for tag in TAGS:
        if tag not in tags:
            query = query.where(~_contains(programs.c.eligibility, tag))
    return query


async def matching(
    engine: AsyncEngine,
    *,
    chain: str | None = None,
    province: str | None = None,
    tags: tuple[str, ...] | frozenset[str] = (),
    category: str | None = None,
    today: dt.date | None = None,
) -> list[Program]:
    """Programs a member can use: not limited to other chains or provinces, and asking for no
    eligibility tag the member lacks. An unknown chain or province limits nothing."""
    query = _matching_query(
        category is not None,
        chain is not None,
        province is not None,
        frozenset(tags).intersection(TAGS),
    )
    parameters: dict[str, str] = {}
    if category is not None:
        parameters["category"] = category
    if chain is not None:
        parameters["chain"] = _listed(chain)
    if province is not None:
        parameters["province"] = _listed(province)
    async with engine.connect() as connection:
        rows = (await connection.execute(query, parameters)).all()
    return _open_first(
        [Program.model_validate(row._mapping) for row in rows], today or dt.date.today()
    )


async def category_counts(engine: AsyncEngine) -> dict[str, int]:
    """How many programs each category holds (categories with none are left out)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_COUNTS)).all()
    return {category: count for category, count in rows}


@cache
def _category_words(category: str) -> str:
    return search_key(CATEGORY_WORDS.get(category, ""))


async def search(engine: AsyncEngine, text: str, today: dt.date | None = None) -> list[Program]:
    """Programs whose title, provider or summary hold every word typed, in search form (Arabic
    letters, half-spaces and diacritics folded); failing that, words within a typo of them."""
    words = search_key(text).split()
    if not words:
        return []
    # Programs number in the tens: matching in Python keeps typo tolerance simple and portable.
    async with engine.connect() as connection:
        rows = (await connection.execute(_SEARCHED)).all()
    haystacks = [f"{row.search_text} {_category_words(row.category)}" for row in rows]
    matched = [
        row for row, hay in zip(rows, haystacks, strict=True) if all(w in hay for w in words)
    ]
    if not matched:
        # Typo tolerance only when no program holds every word as typed (it costs far more).
        matched = [
            row
            for row, hay in zip(rows, haystacks, strict=True)
            if all(
                difflib.get_close_matches(w, hay.split(), n=1, cutoff=TYPO_CUTOFF) for w in words
            )
        ]
    found = [Program.model_validate(row._mapping) for row in matched]
    return _open_first(found, today or dt.date.today())
