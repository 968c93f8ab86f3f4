"""The database bootstrap: migrations, SQLite settings, and the users repository."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import inspect, update
from sqlalchemy.ext.asyncio import AsyncEngine

from db import lookups, outbox, users
from db.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine, upgrade
from db.reference import reference
from db.schema import metadata
from db.schema import users as users_table
from tests.conftest import BACKENDS

both = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert (mode, timeout) == ("wal", SQLITE_BUSY_TIMEOUT_MS)


@both
async def test_migrations_create_exactly_the_tables_and_columns_of_the_schema(
    engine: AsyncEngine,
) -> None:
    def describe(sync_connection):
        found = inspect(sync_connection)
        return {
            table: sorted(c["name"] for c in found.get_columns(table))
            for table in found.get_table_names()
            if table != "alembic_version"
        }

    async with engine.connect() as connection:
        tables = await connection.run_sync(describe)
    assert tables == {
        name: sorted(column.name for column in table.columns)
        for name, table in metadata.tables.items()
    }


@both
async def test_migrations_create_the_indexes_of_the_schema(engine: AsyncEngine) -> None:
    def describe(sync_connection):
        found = inspect(sync_connection)
        return {
            (table, index["name"], tuple(index["column_names"]))
            for table in found.get_table_names()
            for index in found.get_indexes(table)
        }

    async with engine.connect() as connection:
        indexes = await connection.run_sync(describe)
    expected = {
        (table.name, index.name, tuple(column.name for column in index.columns))
        for table in metadata.tables.values()
        for index in table.indexes
    }
    assert expected <= indexes
    assert ("users", "ix_users_audience",
            ("platform", "province_id", "value_chain", "blocked", "last_seen")) in indexes  # fmt: skip


@both
async def test_upgrading_twice_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await upgrade(engine)


@both
async def test_touch_creates_then_updates_a_member(engine: AsyncEngine) -> None:
    first = await users.touch(engine, "telegram", 42, 42, "Ali")
    await users.update_profile(engine, "telegram", 42, locale="en", blocked=True)
    again = await users.touch(engine, "telegram", 42, 4242, "Ali R")
    assert (again.chat_id, again.first_name, again.locale) == (4242, "Ali R", "en")
    assert again.blocked is False  # writing to us means they have not blocked us
    assert again.first_seen == first.first_seen
    assert again.last_seen >= first.last_seen


@both
async def test_touch_reads_without_writing_when_nothing_changed_and_the_member_was_just_seen(
    engine: AsyncEngine,
) -> None:
    first = await users.touch(engine, "telegram", 42, 42, "Ali")
    again = await users.touch(engine, "telegram", 42, 42, "Ali")
    assert again == first  # a write would have moved last_seen on
    assert await users.get(engine, "telegram", 42) == first


@both
async def test_touch_moves_last_seen_on_once_it_is_older_than_the_interval(
    engine: AsyncEngine,
) -> None:
    first = await users.touch(engine, "telegram", 42, 42, "Ali")
    stale = first.last_seen - users.LAST_SEEN_EVERY - dt.timedelta(seconds=1)
    async with engine.begin() as connection:
        await connection.execute(update(users_table).values(last_seen=stale))
    again = await users.touch(engine, "telegram", 42, 42, "Ali")
    assert again.last_seen > first.last_seen
    assert again.first_seen == first.first_seen


@both
async def test_touch_writes_a_new_chat_or_name_and_unblocks_at_once(engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 42, 42, "Ali")
    renamed = await users.touch(engine, "telegram", 42, 42, "Ali Reza")
    assert renamed.first_name == "Ali Reza"
    moved = await users.touch(engine, "telegram", 42, 4242, "Ali Reza")
    assert moved.chat_id == 4242
    await users.update_profile(engine, "telegram", 42, blocked=True)
    back = await users.touch(engine, "telegram", 42, 4242, "Ali Reza")
    assert back.blocked is False
    assert await users.get(engine, "telegram", 42) == back


@both
async def test_update_profile_refuses_fields_that_are_not_preferences(engine: AsyncEngine) -> None:
    await users.touch(engine, "telegram", 42, 42)
    with pytest.raises(ValueError, match="not profile fields"):
        await users.update_profile(engine, "telegram", 42, chat_id=1)


@both
async def test_concurrent_first_contacts_from_many_members_all_land(database_url: str) -> None:
    engine = create_engine(database_url)
    await asyncio.gather(*(users.touch(engine, "bale", i, i) for i in range(50)))
    assert all([await users.get(engine, "bale", i) for i in range(50)])
    await engine.dispose()


def test_reference_data_has_every_province_county_and_chain() -> None:
    ref = reference()
    assert len(ref.provinces) == 31
    assert len(ref.counties) == 482
    assert list(ref.chains) == [
        "apparel",
        "handicrafts",
        "handwoven_carpet",
        "beekeeping",
        "aquaculture",
        "poultry",
    ]
    assert ref.provinces["IR-08"].name_fa == "کرمان"
    assert {c.province_id for c in ref.counties.values()} == set(ref.provinces)


@both
async def test_text_with_nul_characters_is_stored_without_them(engine: AsyncEngine) -> None:
    """PostgreSQL refuses U+0000 in text; a member's name or words may hold one."""
    member = await users.touch(engine, "telegram", 1, 1, "Ma\x00ryam")
    assert member.first_name == "Maryam"
    await lookups.record(engine, "telegram", 1, "programs", "search", "وام\x00")
    assert (
        await lookups.latest_detail(
            engine, "telegram", 1, "programs", "search", dt.timedelta(minutes=1)
        )
        == "وام"
    )
    draft = await outbox.draft(engine, "telegram", 1, "اطلاعیه\x00")
    assert draft.text == "اطلاعیه"
