"""Value chains as the database holds them: the six priority chains, and any staff have imported."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import ValueChainRow
from db.schema import value_chains

# Built once (journeys ask for chains on most steps): SQLAlchemy reuses their compiled form.
_ALL = select(value_chains).order_by(value_chains.c.priority.desc(), value_chains.c.code)
_ONE = select(value_chains).where(value_chains.c.code == bindparam("code"))


async def all_chains(engine: AsyncEngine) -> list[ValueChainRow]:
    """Every chain, the Kahkashan priority chains first (then by code; callers sort by name)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(_ALL)).all()
    return [ValueChainRow.model_validate(row._mapping) for row in rows]


async def get(engine: AsyncEngine, code: str) -> ValueChainRow | None:
    async with engine.connect() as connection:
        row = (await connection.execute(_ONE, {"code": code})).one_or_none()
    return None if row is None else ValueChainRow.model_validate(row._mapping)
