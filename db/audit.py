"""The audit log: who changed what that matters (staff roles, imports), for operators to read."""

from __future__ import annotations

import datetime as dt

from pydantic import field_validator
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import Model, as_utc
from db.schema import audit_log


class Entry(Model):
    id: int
    at: dt.datetime
    platform: str
    actor_id: int | None
    action: str
    detail: str = ""

    _utc = field_validator("at")(as_utc)


async def record(
    engine: AsyncEngine, platform: str, actor_id: int | None, action: str, detail: str = ""
) -> None:
    """One entry; `actor_id` is None for the shell."""
    async with engine.begin() as connection:
        await write(connection, platform, actor_id, action, detail)


async def write(
    connection: AsyncConnection, platform: str, actor_id: int | None, action: str, detail: str = ""
) -> None:
    """One entry inside a transaction of the caller's, so it lands together with what it records."""
    await connection.execute(
        insert(audit_log).values(
            at=dt.datetime.now(dt.UTC),
            platform=platform,
            actor_id=actor_id,
            action=action,
            detail=detail,
        )
    )


async def recent(
    engine: AsyncEngine, platform: str, actions: tuple[str, ...] = (), limit: int = 10
) -> list[Entry]:
    """The newest entries of one platform first, of these actions only when given."""
    query = select(audit_log).where(audit_log.c.platform == platform)
    if actions:
        query = query.where(audit_log.c.action.in_(actions))
    query = query.order_by(audit_log.c.id.desc()).limit(limit)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [Entry.model_validate(row._mapping) for row in rows]
