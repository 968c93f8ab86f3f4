"""db/stats.py: the figures /stats shows, counted by the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import stats, users
from db.schema import announcements, deliveries, lookups
from db.schema import users as users_table
from db.stats import BroadcastFigures, Count
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

# user id: (province, chain, blocked, days since last seen)
MEMBERS: dict[int, tuple[str | None, str | None, bool, int]] = {
    1: ("IR-08", "beekeeping", False, 1),
    2: ("IR-08", "beekeeping", False, 2),
    3: ("IR-11", "poultry", False, 29),
    4: ("IR-08", "poultry", True, 3),
    5: ("IR-11", "beekeeping", False, 40),
    6: (None, None, False, 0),
}


async def seed(engine: AsyncEngine, now: dt.datetime = NOW) -> None:
    """Six Telegram members (one blocked, one not seen for 40 days, one with no profile), their
    subscriptions and look-ups, two announcements and a draft; and a Bale member who never counts."""
    rows = [
        {
            "platform": "telegram",
            "user_id": user_id,
            "chat_id": user_id,
            "province_id": province,
            "value_chain": chain,
            "blocked": blocked,
            "first_seen": now - 100 * DAY,
            "last_seen": now - days * DAY,
        }
        for user_id, (province, chain, blocked, days) in MEMBERS.items()
    ]
    rows.append({**rows[0], "platform": "bale"})
    async with engine.begin() as connection:
        await connection.execute(insert(users_table), rows)
    for user_id, topics in [
        (1, {"chain": {"beekeeping"}, "province": {"IR-08"}}),
        (2, {"chain": {"beekeeping"}}),
        (3, {"chain": {"poultry"}}),
        (4, {"chain": {"beekeeping", "poultry"}}),
    ]:
        for topic, values in topics.items():
            await users.set_subscriptions(engine, "telegram", user_id, topic, values)
    await users.unsubscribe_all(engine, "telegram", 6)
    await users.set_subscriptions(engine, "bale", 1, "chain", {"apparel"})
    looked = [
        ("telegram", 1, "programs", 1),
        ("telegram", 1, "programs", 2),
        ("telegram", 2, "programs", 6),
        ("telegram", 3, "status", 0),
        ("telegram", 2, "programs", 8),  # outside the week
        ("bale", 1, "nearby", 1),  # another platform
    ]
    kept = [
        {"platform": p, "user_id": u, "journey": j, "at": now - days * DAY}
        for p, u, j, days in looked
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(lookups), kept)
        await _announcement(
            connection,
            now - 2 * DAY,
            "done",
            ";beekeeping;",
            ";IR-08;",
            ["sent", "sent", "failed", "blocked"],
        )
        await _announcement(connection, now - DAY, "draft", ";", ";", [])
        await _announcement(
            connection, now - DAY, "sending", ";", ";", ["sent", "pending", "sending"]
        )


async def _announcement(
    connection: AsyncConnection,
    created_at: dt.datetime,
    status: str,
    chains: str,
    provinces: str,
    delivered: list[str],
) -> None:
    result = await connection.execute(
        insert(announcements)
        .values(
            platform="telegram",
            created_by=9001,
            created_at=created_at,
            text="…",
            chains=chains,
            provinces=provinces,
            status=status,
        )
        .returning(announcements.c.id)
    )
    announcement_id = result.scalar_one()
    if delivered:
        await connection.execute(
            insert(deliveries),
            [
                {
                    "announcement_id": announcement_id,
                    "platform": "telegram",
                    "user_id": i + 1,
                    "chat_id": i + 1,
                    "status": status_,
                    "next_attempt_at": created_at,
                }
                for i, status_ in enumerate(delivered)
            ],
        )


async def test_member_figures_count_active_blocked_and_rank_provinces_and_chains(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    found = await stats.members(engine, "telegram", NOW)
    assert (found.total, found.active, found.blocked) == (6, 4, 1)
    assert found.provinces == (Count(key="IR-08", count=3), Count(key="IR-11", count=2))
    assert found.chains == (Count(key="beekeeping", count=3), Count(key="poultry", count=2))


async def test_subscription_figures(engine: AsyncEngine) -> None:
    await seed(engine)
    found = await stats.subscription_figures(engine, "telegram")
    assert (found.subscribed, found.left_all) == (4, 1)
    assert found.chains == (Count(key="beekeeping", count=3), Count(key="poultry", count=2))


async def test_lookups_of_the_last_week_by_journey_on_this_platform(engine: AsyncEngine) -> None:
    await seed(engine)
    assert await stats.lookup_counts(engine, "telegram", NOW) == (
        Count(key="programs", count=3),
        Count(key="status", count=1),
    )


async def test_recent_broadcasts_newest_first_with_deliveries_by_status_and_no_drafts(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    found = await stats.recent_broadcasts(engine, "telegram")
    assert [b.status for b in found] == ["sending", "done"]
    sending, done = found
    assert (sending.sent, sending.pending, sending.chains, sending.provinces) == (1, 2, (), ())
    assert (done.sent, done.failed, done.blocked, done.pending) == (2, 1, 1, 0)
    assert (done.chains, done.provinces) == (("beekeeping",), ("IR-08",))
    assert done.created_at == NOW - 2 * DAY


async def test_only_the_five_newest_broadcasts(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for day in range(6, -1, -1):
            await _announcement(connection, NOW - day * DAY, "done", ";", ";", ["sent"])
    found = await stats.recent_broadcasts(engine, "telegram")
    assert [b.created_at for b in found] == [NOW - day * DAY for day in range(5)]
    assert all(isinstance(b, BroadcastFigures) and b.sent == 1 for b in found)


async def test_an_empty_database_has_zeros_and_nothing_ranked(engine: AsyncEngine) -> None:
    found = await stats.overview(engine, "telegram", NOW)
    assert (found.members.total, found.members.active, found.members.blocked) == (0, 0, 0)
    assert (found.members.provinces, found.members.chains) == ((), ())
    assert (found.subscriptions.subscribed, found.subscriptions.left_all) == (0, 0)
    assert (found.lookups, found.broadcasts) == ((), ())


async def test_the_overview_gathers_every_part(engine: AsyncEngine) -> None:
    await seed(engine)
    found = await stats.overview(engine, "telegram", NOW)
    assert found.members == await stats.members(engine, "telegram", NOW)
    assert found.subscriptions == await stats.subscription_figures(engine, "telegram")
    assert found.lookups == await stats.lookup_counts(engine, "telegram", NOW)
    assert found.broadcasts == await stats.recent_broadcasts(engine, "telegram")
