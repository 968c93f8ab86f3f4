"""db/audit.py: entries are recorded and read back newest first, by platform and action."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db import audit
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def test_entries_come_back_newest_first_with_who_did_what(engine: AsyncEngine) -> None:
    before = dt.datetime.now(dt.UTC)
    await audit.record(engine, "telegram", 9001, "grant_staff", "1234")
    await audit.record(engine, "telegram", None, "import", "programs: 3 rows")
    found = await audit.recent(engine, "telegram")
    assert [(e.actor_id, e.action, e.detail) for e in found] == [
        (None, "import", "programs: 3 rows"),
        (9001, "grant_staff", "1234"),
    ]
    assert all(before <= e.at <= dt.datetime.now(dt.UTC) for e in found)


async def test_reading_by_action_platform_and_limit(engine: AsyncEngine) -> None:
    for target in range(5):
        await audit.record(engine, "telegram", 9001, "grant_staff", str(target))
    await audit.record(engine, "telegram", 9001, "revoke_staff", "0")
    await audit.record(engine, "bale", 9001, "grant_staff", "7")
    found = await audit.recent(engine, "telegram", ("grant_staff",), limit=3)
    assert [e.detail for e in found] == ["4", "3", "2"]
    assert [e.detail for e in await audit.recent(engine, "bale")] == ["7"]
