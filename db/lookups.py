"""Look-ups members make: counted for /stats, and the memory the status journey's limits rely on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.schema import lookups, users
from db.text import storable


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
    row = _theirs(platform, user_id, journey, outcome, detail=storable(detail, 64), at=_now())
    async with engine.begin() as connection:
        await connection.execute(_RECORD, row)


# Taking the member's row first (an UPDATE that changes nothing) makes the check and the record
# below one step per member: on PostgreSQL it holds that row's lock, on SQLite the one write lock,
# until the transaction ends. A SELECT ... FOR UPDATE would do on PostgreSQL, but SQLite has none,
# and there a read first would let two writers both count before either wrote.
_HOLD_MEMBER = (
    update(users)
    .where(users.c.platform == bindparam("member_platform"), users.c.user_id == bindparam("member"))
    .values(user_id=users.c.user_id)
)
_SETTLE = (
    update(lookups)
    .where(lookups.c.id == bindparam("lookup_id"))
    .values(outcome=bindparam("settled"))
)


async def record_within_limit(
    engine: AsyncEngine,
    platform: str,
    user_id: int,
    journey: str,
    outcome: str,
    detail: str,
    limit: int,
    window: dt.timedelta,
) -> int | None:
    """Record a look-up with this outcome unless the member already made `limit` of them within
    `window`: the id of the look-up recorded, or None when the limit is reached.

    The count and the record are one step per member, so updates of theirs handled at once (by one
    process or several) cannot all pass the count before any of them is recorded. A caller that
    records an attempt pessimistically (say, as "unknown" before the code is looked up) settles
    it afterwards with `settle`."""
    now = _now()
    parameters = _theirs(platform, user_id, journey, outcome, since=now - window)
    async with engine.begin() as connection:
        await connection.execute(_HOLD_MEMBER, {"member_platform": platform, "member": user_id})
        if (await connection.execute(_COUNT, parameters)).scalar_one() >= limit:
            return None
        row = _theirs(platform, user_id, journey, outcome, detail=storable(detail, 64), at=now)
        recorded = await connection.execute(_RECORD.returning(lookups.c.id), row)
        return int(recorded.scalar_one())


async def settle(engine: AsyncEngine, lookup_id: int, outcome: str) -> None:
    """Give a recorded look-up its final outcome."""
    async with engine.begin() as connection:
        await connection.execute(_SETTLE, {"lookup_id": lookup_id, "settled": outcome})


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
