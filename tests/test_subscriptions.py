"""Subscriptions and who an announcement reaches. Both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db import users
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def member(
    engine: AsyncEngine,
    user_id: int,
    chains: set[str],
    province: str | None,
    platform: str = "telegram",
) -> None:
    await users.touch(engine, platform, user_id, user_id + 1000)
    await users.set_subscriptions(engine, platform, user_id, "chain", chains)
    await users.set_subscriptions(
        engine, platform, user_id, "province", {province} if province else set()
    )


async def test_subscriptions_are_replaced_per_topic(engine: AsyncEngine) -> None:
    await member(engine, 1, {"beekeeping", "poultry"}, "IR-08")
    await users.set_subscriptions(engine, "telegram", 1, "chain", {"apparel"})
    assert await users.subscriptions(engine, "telegram", 1) == {
        "chain": {"apparel"},
        "province": {"IR-08"},
    }
    await users.unsubscribe_all(engine, "telegram", 1)
    assert await users.subscriptions(engine, "telegram", 1) == {"chain": set(), "province": set()}


async def test_audience_by_chain_by_province_and_by_both(engine: AsyncEngine) -> None:
    await member(engine, 1, {"beekeeping"}, "IR-08")
    await member(engine, 2, {"beekeeping"}, "IR-13")
    await member(engine, 3, {"poultry"}, "IR-08")
    await member(engine, 4, set(), None)
    await member(engine, 5, {"beekeeping"}, "IR-08", platform="bale")

    async def audience(**kwargs: set[str]) -> list[int]:
        return [r.user_id for r in await users.subscribers(engine, "telegram", **kwargs)]

    assert await audience() == [1, 2, 3, 4]
    assert await audience(chains={"beekeeping"}) == [1, 2]
    assert await audience(provinces={"IR-08"}) == [1, 3]
    assert await audience(chains={"beekeeping"}, provinces={"IR-08"}) == [1]
    recipients = await users.subscribers(engine, "telegram", chains={"poultry"})
    assert [(r.user_id, r.chat_id) for r in recipients] == [(3, 1003)]


async def test_members_who_blocked_the_bot_are_left_out(engine: AsyncEngine) -> None:
    await member(engine, 1, {"beekeeping"}, "IR-08")
    await member(engine, 2, {"beekeeping"}, "IR-08")
    await users.update_profile(engine, "telegram", 2, blocked=True)
    assert [r.user_id for r in await users.subscribers(engine, "telegram")] == [1]


async def test_unknown_topic_is_refused(engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 1, 1)
    with pytest.raises(ValueError, match="unknown topic"):
        await users.set_subscriptions(engine, "telegram", 1, "county", {"5"})


async def test_leaving_all_also_leaves_announcements_for_everyone(engine: AsyncEngine) -> None:
    await member(engine, 1, {"beekeeping"}, "IR-08")
    await member(engine, 2, set(), None)
    await users.unsubscribe_all(engine, "telegram", 1)
    await users.unsubscribe_all(engine, "telegram", 2)
    assert await users.subscribers(engine, "telegram") == []
    assert await users.audience_size(engine, "telegram", None, None) == 0
    await users.set_subscriptions(engine, "telegram", 2, "chain", {"poultry"})  # back in
    assert [r.user_id for r in await users.subscribers(engine, "telegram")] == [2]
    assert await users.subscriptions(engine, "telegram", 1) == {"chain": set(), "province": set()}
