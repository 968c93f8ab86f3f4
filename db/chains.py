"""Value chains as the database holds them: the six priority chains, and any staff have imported."""

from __future__ import annotations

import time
import weakref

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import ValueChainRow
from db.schema import value_chains

_ALL = select(value_chains).order_by(value_chains.c.priority.desc(), value_chains.c.code)

# The chains change only when staff import them, yet most journey steps ask for them, often twice:
# each engine's list is kept for CACHE_S seconds (the rows are frozen, so sharing them is safe), and
# dropped at once when this process imports chains (`forget`). An import by another process, such
# as `coopbot import` from a shell beside a running bot, shows in the bot within CACHE_S.
CACHE_S = 60.0
_cache: weakref.WeakKeyDictionary[AsyncEngine, tuple[float, tuple[ValueChainRow, ...]]] = (
    weakref.WeakKeyDictionary()
)


async def all_chains(engine: AsyncEngine) -> list[ValueChainRow]:
    """Every chain, the Kahkashan priority chains first (then by code; callers sort by name)."""
    cached = _cache.get(engine)
    if cached is not None and time.monotonic() - cached[0] < CACHE_S:
        return list(cached[1])
    read_at = time.monotonic()
    async with engine.connect() as connection:
        rows = (await connection.execute(_ALL)).all()
    found = tuple(ValueChainRow.model_validate(row._mapping) for row in rows)
    _cache[engine] = (read_at, found)
    return list(found)


async def get(engine: AsyncEngine, code: str) -> ValueChainRow | None:
    return next((chain for chain in await all_chains(engine) if chain.code == code), None)


def forget(engine: AsyncEngine) -> None:
    """The chains were written: the next reader reads them afresh."""
    _cache.pop(engine, None)
