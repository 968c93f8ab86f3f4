"""Value chains as the database holds them: the six priority chains, and any staff have imported."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.cache import PerEngine
from db.models import ValueChainRow
from db.schema import value_chains

_ALL = select(value_chains).order_by(value_chains.c.priority.desc(), value_chains.c.code)


async def _read(engine: AsyncEngine) -> tuple[ValueChainRow, ...]:
    async with engine.connect() as connection:
        rows = (await connection.execute(_ALL)).all()
    return tuple(ValueChainRow.model_validate(row._mapping) for row in rows)


# Most journey steps ask for the chains, often twice; only imports change them (db/cache.py).
_CHAINS = PerEngine(_read)


async def all_chains(engine: AsyncEngine) -> list[ValueChainRow]:
    """Every chain, the Kahkashan priority chains first (then by code; callers sort by name)."""
    return list(await _CHAINS.get(engine))


async def get(engine: AsyncEngine, code: str) -> ValueChainRow | None:
    return next((chain for chain in await all_chains(engine) if chain.code == code), None)
