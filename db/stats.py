"""Figures for /stats: members, subscriptions, look-ups and broadcasts of one platform.

Each figure is an aggregate the database computes, so only a few dozen rows come back however many
members there are. The member figures are one pass over the platform's users, grouped by province
and chain at once; subscriptions read the primary key's platform range; look-ups a range of
ix_lookups_at; broadcasts the newest few announcements. With 1,000,000 members each part takes a
few hundred milliseconds on PostgreSQL; on SQLite the member pass takes about two seconds (its
GROUP BY sorts), which an index on users (platform, province_id, value_chain) and a separate pass
for the totals would bring to about half a second: not worth a migration for a command staff run
now and then, and it runs off the event loop, so nobody else waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Mapping

from pydantic import field_validator
from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Model, as_utc, unpack
from db.schema import announcements, deliveries, lookups, subscriptions, users
from db.users import MUTED

ACTIVE_DAYS = 30
LOOKUP_DAYS = 7
RECENT_BROADCASTS = 5


class Count(Model):
    """How many for one key (a province id, a chain code, a journey)."""

    key: str
    count: int


def _ranked(counts: Mapping[str, int]) -> tuple[Count, ...]:
    """Largest first; ties by key, so the order never depends on the database."""
    return tuple(
        Count(key=key, count=count)
        for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if count
    )


class MemberFigures(Model):
    total: int = 0
    # Not blocked, and wrote to the bot within ACTIVE_DAYS.
    active: int = 0
    blocked: int = 0
    # Every province and chain members chose, largest first (members who chose none are left out).
    provinces: tuple[Count, ...] = ()
    chains: tuple[Count, ...] = ()


class SubscriptionFigures(Model):
    # Members subscribed to at least one chain or province.
    subscribed: int = 0
    # Members who left all announcements, even those for everyone.
    left_all: int = 0
    # Subscribers per chain, largest first.
    chains: tuple[Count, ...] = ()


class BroadcastFigures(Model):
    id: int
    created_at: dt.datetime
    status: str  # sending, done, cancelled
    chains: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    pending: int = 0  # not yet sent, being sent included
    cancelled: int = 0

    _lists = field_validator("chains", "provinces", mode="before")(unpack)
    _utc = field_validator("created_at")(as_utc)


class Stats(Model):
    members: MemberFigures
    subscriptions: SubscriptionFigures
    # Look-ups of the last LOOKUP_DAYS per journey (programs, status, nearby, ...).
    lookups: tuple[Count, ...]
    broadcasts: tuple[BroadcastFigures, ...]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): a conditional count inside the same pass."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def members(
    engine: AsyncEngine, platform: str, now: dt.datetime | None = None
) -> MemberFigures:
    """One pass over the platform's members, grouped by (province, chain): a few hundred groups
    at most, from which every member figure is summed here."""
    since = (now or _now()) - dt.timedelta(days=ACTIVE_DAYS)
    active = and_(users.c.blocked.is_(False), users.c.last_seen >= since)
    query = (
        select(
            users.c.province_id,
            users.c.value_chain,
            func.count(),
            _count_where(active),
            _count_where(users.c.blocked.is_(True)),
        )
        .where(users.c.platform == platform)
        .group_by(users.c.province_id, users.c.value_chain)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    provinces: Counter[str] = Counter()
    chains: Counter[str] = Counter()
    total = active_count = blocked = 0
    for province_id, chain, count, active_in, blocked_in in rows:
        total += count
        active_count += int(active_in)
        blocked += int(blocked_in)
        if province_id:
            provinces[province_id] += count
        if chain:
            chains[chain] += count
    return MemberFigures(
        total=total,
        active=active_count,
        blocked=blocked,
        provinces=_ranked(provinces),
        chains=_ranked(chains),
    )


async def subscription_figures(engine: AsyncEngine, platform: str) -> SubscriptionFigures:
    of_platform = subscriptions.c.platform == platform
    subscribed = select(func.count(distinct(subscriptions.c.user_id))).where(
        of_platform, subscriptions.c.topic.in_(("chain", "province"))
    )
    # "Leave all" is one row of its own per member (see db/users.py).
    left_all = select(func.count()).where(of_platform, subscriptions.c.topic == MUTED[0])
    per_chain = (
        select(subscriptions.c.value, func.count())
        .where(of_platform, subscriptions.c.topic == "chain")
        .group_by(subscriptions.c.value)
    )
    async with engine.connect() as connection:
        anyone = int((await connection.execute(subscribed)).scalar_one())
        muted = int((await connection.execute(left_all)).scalar_one())
        chains = {value: int(count) for value, count in await connection.execute(per_chain)}
    return SubscriptionFigures(subscribed=anyone, left_all=muted, chains=_ranked(chains))


async def lookup_counts(
    engine: AsyncEngine, platform: str, now: dt.datetime | None = None
) -> tuple[Count, ...]:
    """Look-ups of the last LOOKUP_DAYS per journey, most first: a range of ix_lookups_at."""
    since = (now or _now()) - dt.timedelta(days=LOOKUP_DAYS)
    query = (
        select(lookups.c.journey, func.count())
        .where(lookups.c.at >= since, lookups.c.platform == platform)
        .group_by(lookups.c.journey)
    )
    async with engine.connect() as connection:
        counts = {journey: int(count) for journey, count in await connection.execute(query)}
    return _ranked(counts)


async def recent_broadcasts(
    engine: AsyncEngine, platform: str, limit: int = RECENT_BROADCASTS
) -> tuple[BroadcastFigures, ...]:
    """The newest announcements that were sent (drafts are not), newest first, with their
    deliveries counted by status."""
    recent = (
        select(
            announcements.c.id,
            announcements.c.created_at,
            announcements.c.status,
            announcements.c.chains,
            announcements.c.provinces,
        )
        .where(announcements.c.platform == platform, announcements.c.status != "draft")
        .order_by(announcements.c.id.desc())
        .limit(limit)
    )
    async with engine.connect() as connection:
        found = (await connection.execute(recent)).all()
        ids = [row.id for row in found]
        counted = (
            await connection.execute(
                select(deliveries.c.announcement_id, deliveries.c.status, func.count())
                .where(deliveries.c.announcement_id.in_(ids))
                .group_by(deliveries.c.announcement_id, deliveries.c.status)
            )
        ).all()
    by_id: dict[int, Counter[str]] = {row.id: Counter() for row in found}
    for announcement_id, status, count in counted:
        # A claimed delivery ("sending") is still on its way.
        by_id[announcement_id]["pending" if status == "sending" else status] += count
    return tuple(
        BroadcastFigures.model_validate(
            {
                **row._mapping,
                **{
                    name: by_id[row.id][name]
                    for name in ("sent", "failed", "blocked", "pending", "cancelled")
                },
            }
        )
        for row in found
    )


async def overview(engine: AsyncEngine, platform: str, now: dt.datetime | None = None) -> Stats:
    """Everything /stats shows. The parts run at once, each on its own connection: on a large
    database the wait is the slowest part, not their sum."""
    now = now or _now()
    member_figures, subscription_part, lookup_part, broadcasts = await asyncio.gather(
        members(engine, platform, now),
        subscription_figures(engine, platform),
        lookup_counts(engine, platform, now),
        recent_broadcasts(engine, platform),
    )
    return Stats(
        members=member_figures,
        subscriptions=subscription_part,
        lookups=lookup_part,
        broadcasts=broadcasts,
    )
