"""Look-ups members make: counted for /stats, and the memory the status journey's limits rely on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.schema import lookups


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Built once (most steps of a journey record or read a look-up): SQLAlchemy reuses their
# compiled form. Every read is one member's look-ups of one journey, outcome and window.
_RECORD = insert(lookups)
_THEIRS = (
    lookups.c.platform == bindparam("platform"),
    lookups.c.user_id == bindparam("user_id"),
    lookups.c.journey == bindparam("journey"),
    lookups.c.outcome == bindparam("outcome"),
)
_SINCE = lookups.c.at >= bindparam("since")
_COUNT = select(func.count()).where(*_THEIRS, _SINCE)
_OLDEST = select(func.min(lookups.c.at)).where(*_THEIRS, _SINCE)
_LATEST = (
    select(lookups.c.detail)
    .where(*_THEIRS, _SINCE)
    .order_by(lookups.c.at.desc(), lookups.c.id.desc())
    .limit(1)
)
_EXISTS = select(lookups.c.id).where(*_THEIRS, lookups.c.detail == bindparam("detail")).limit(1)


def _theirs(
    platform: str, user_id: int, journey: str, outcome: str, **more: object
) -> dict[str, object]:
    return {
        "platform": platform,
        "user_id": user_id,
        "journey": journey,
        "outcome": outcome,
        **more,
    }


async def record(
    engine: AsyncEngine,
    platform: str,
    user_id: int,
    journey: str,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    row = _theirs(platform, user_id, journey, outcome, detail=detail[:64], at=_now())
    async with engine.begin() as connection:
        await connection.execute(_RECORD, row)


async def count_since(
    engine: AsyncEngine,
    platform: str,
    user_id: int,
    journey: str,
    outcome: str,
    since: dt.timedelta,
) -> int:
    parameters = _theirs(platform, user_id, journey, outcome, since=_now() - since)
    async with engine.connect() as connection:
        return int((await connection.execute(_COUNT, parameters)).scalar_one())


async def oldest_since(
    engine: AsyncEngine,
    platform: str,
    user_id: int,
    journey: str,
    outcome: str,
    since: dt.timedelta,
) -> dt.datetime | None:
    """When the oldest matching look-up in the window happened (to say how long to wait)."""
    parameters = _theirs(platform, user_id, journey, outcome, since=_now() - since)
    async with engine.connect() as connection:
        found = (await connection.execute(_OLDEST, parameters)).scalar_one_or_none()
    if found is None:
        return None
    return found.replace(tzinfo=dt.UTC) if found.tzinfo is None else found


async def latest_detail(
    engine: AsyncEngine,
    platform: str,
    user_id: int,
    journey: str,
    outcome: str,
    since: dt.timedelta,
) -> str | None:
    """What the member last looked up with this outcome within the window, if anything."""
    parameters = _theirs(platform, user_id, journey, outcome, since=_now() - since)
    async with engine.connect() as connection:
        return (await connection.execute(_LATEST, parameters)).scalar_one_or_none()


async def exists(
    engine: AsyncEngine, platform: str, user_id: int, journey: str, outcome: str, detail: str
) -> bool:
    """Whether the member ever made this look-up with this outcome (e.g. proved a code theirs)."""
    parameters = _theirs(platform, user_id, journey, outcome, detail=detail)
    async with engine.connect() as connection:
        return (await connection.execute(_EXISTS, parameters)).first() is not None
