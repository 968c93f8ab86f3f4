"""Conversation states live in the shared database, so a restart loses no step."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, Member, OfflineBotApi
from bot.persistence import DatabasePersistence
from bot.settings import Settings
from db.schema import conversations
from tests.conftest import BACKENDS, database_away

both = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def test_a_member_mid_setup_carries_on_after_a_restart(
    settings: Settings, engine: AsyncEngine
) -> None:
    api = OfflineBotApi()
    first = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    async with first:
        member = Member(first, api, 1001)
        await member.send("/start")
        await member.press_data("start:lang:fa")
        await first.update_persistence()

    api = OfflineBotApi()
    second = build_application(settings, engine, token=OFFLINE_TOKEN, request=api)
    async with second:
        member = Member(second, api, 1001)
        await member.send("کرمان")  # the province question from before the restart
        assert member.last.text == (
            "کدام شهرستان استان کرمان؟ از فهرست زیر انتخاب کنید یا نامش را بنویسید."
        )


async def test_a_finished_conversation_leaves_no_row(
    settings: Settings,
    engine: AsyncEngine,
    app,
    chat: Member,
) -> None:
    await chat.send("/start")
    await chat.press("فارسی")
    await app.update_persistence()
    async with engine.connect() as connection:
        assert (await connection.execute(select(conversations.c.state))).scalars().all() == ["1"]
    await chat.send("/cancel")
    await app.update_persistence()
    async with engine.connect() as connection:
        assert (await connection.execute(select(conversations))).all() == []


@both
async def test_the_states_of_one_round_are_written_in_one_transaction(engine: AsyncEngine) -> None:
    persistence = DatabasePersistence(engine, "telegram")
    await persistence.update_conversation("start", (7, 7), 2)
    commits: list[object] = []
    event.listen(engine.sync_engine, "commit", commits.append)
    # PTB hands a round's changed states over all at once, one call each.
    await asyncio.gather(
        *(persistence.update_conversation("start", (i, i), 1) for i in range(1, 6)),
        persistence.update_conversation("start", (7, 7), None),
        persistence.update_conversation("status", (1, 1), 0),
    )
    assert len(commits) == 1
    assert await persistence.get_conversations("start") == {(i, i): 1 for i in range(1, 6)}
    assert await persistence.get_conversations("status") == {(1, 1): 0}


@both
async def test_states_that_could_not_be_written_are_written_at_the_next_chance(
    engine: AsyncEngine,
) -> None:
    persistence = DatabasePersistence(engine, "telegram")
    failures = [RuntimeError("the database went away")]

    def fail_once(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if failures and "conversations" in statement:
            raise failures.pop()

    event.listen(engine.sync_engine, "before_cursor_execute", fail_once)
    with pytest.raises(RuntimeError):
        await persistence.update_conversation("start", (1, 1), 1)
    assert await persistence.get_conversations("start") == {}
    await persistence.flush()  # PTB's last call when the application stops
    assert await persistence.get_conversations("start") == {(1, 1): 1}


async def test_while_the_database_is_away_a_round_fails_once_not_once_a_state(
    engine: AsyncEngine,
) -> None:
    """One error in the log for a round of 20 states, not 20, every two seconds of an outage."""
    persistence = DatabasePersistence(engine, "telegram")
    with database_away(engine):
        results = await asyncio.gather(
            *(persistence.update_conversation("start", (i, i), 1) for i in range(20)),
            return_exceptions=True,
        )
    assert sum(isinstance(result, Exception) for result in results) == 1
    await persistence.flush()  # the database is back: all of them are written
    assert await persistence.get_conversations("start") == {(i, i): 1 for i in range(20)}
