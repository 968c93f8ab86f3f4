"""Support programs: which fit a member (chain, province, eligibility tags), by category, by words."""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.cache import PerEngine
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
_ALL = select(*_COLUMNS, programs.c.search_text).order_by(programs.c.program_id)


@dataclass(frozen=True)
class Catalogue:
    """Every program, each with the text its words are searched in."""

    programs: tuple[Program, ...]
    by_id: dict[str, Program]
    haystacks: tuple[str, ...]


async def _read(engine: AsyncEngine) -> Catalogue:
    async with engine.connect() as connection:
        rows = (await connection.execute(_ALL)).all()
    found = tuple(Program.model_validate(row._mapping) for row in rows)
    return Catalogue(
        programs=found,
        by_id={program.program_id: program for program in found},
        haystacks=tuple(f"{row.search_text} {_category_words(row.category)}" for row in rows),
    )


# Programs number in the tens (hundreds at most) and change only by import, yet the programs
# journey reads them on every step: they are kept in memory a while (db/cache.py), and filtered
# and searched in Python, which also keeps typo tolerance simple and portable.
_CATALOGUE = PerEngine(_read)


def _open_first(found: list[Program], today: dt.date) -> list[Program]:
    """Open programs first; closed ones are still shown (members should know they exist)."""
    return sorted(found, key=lambda p: (not p.is_open(today), p.title_fa))


async def get(engine: AsyncEngine, program_id: str) -> Program | None:
    return (await _CATALOGUE.get(engine)).by_id.get(program_id)


def _fits(
    program: Program, chain: str | None, province: str | None, lacking: frozenset[str]
) -> bool:
    """Not limited to another chain or province; asking for no tag the member lacks. An empty
    list of chains or provinces limits nothing."""
    return (
        (chain is None or not program.value_chains or chain in program.value_chains)
        and (province is None or not program.provinces or province in program.provinces)
        and lacking.isdisjoint(program.eligibility)
    )


async def matching(
    engine: AsyncEngine,
    *,
    chain: str | None = None,
    province: str | None = None,
    tags: tuple[str, ...] | frozenset[str] = (),
    today: dt.date | None = None,
) -> list[Program]:
    """Programs a member can use: not limited to other chains or provinces, and asking for no
    eligibility tag the member lacks. An unknown chain or province limits nothing."""
    lacking = frozenset(TAGS).difference(tags)
    found = [
        program
        for program in (await _CATALOGUE.get(engine)).programs
        if _fits(program, chain, province, lacking)
    ]
    return _open_first(found, today or dt.date.today())


async def in_category(
    engine: AsyncEngine, category: str, today: dt.date | None = None
) -> list[Program]:
    """Every program of a category, whoever it is for: a member browsing sees all that
    `category_counts` counted, and each card says who may apply."""
    found = [p for p in (await _CATALOGUE.get(engine)).programs if p.category == category]
    return _open_first(found, today or dt.date.today())


async def category_counts(engine: AsyncEngine) -> dict[str, int]:
    """How many programs each category holds (categories with none are left out)."""
    return dict(Counter(program.category for program in (await _CATALOGUE.get(engine)).programs))


@cache
def _category_words(category: str) -> str:
    return search_key(CATEGORY_WORDS.get(category, ""))


async def search(engine: AsyncEngine, text: str, today: dt.date | None = None) -> list[Program]:
    """Programs whose title, provider or summary hold every word typed, in search form (Arabic
    letters, half-spaces and diacritics folded); failing that, words within a typo of them."""
    words = search_key(text).split()
    if not words:
        return []
    catalogue = await _CATALOGUE.get(engine)
    pairs = list(zip(catalogue.programs, catalogue.haystacks, strict=True))
    found = [program for program, hay in pairs if all(w in hay for w in words)]
    if not found:
        # Typo tolerance only when no program holds every word as typed (it costs far more).
        found = [
            program
            for program, hay in pairs
            if all(
                difflib.get_close_matches(w, hay.split(), n=1, cutoff=TYPO_CUTOFF) for w in words
            )
        ]
    return _open_first(found, today or dt.date.today())
