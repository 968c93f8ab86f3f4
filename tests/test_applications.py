"""The applications repository: codes and phones as members type them. Both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from db import applications
from db.schema import application_history
from db.schema import applications as table
from tests.conftest import BACKENDS

both = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


async def add(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(table).values(
                tracking_code="AB123456",
                kind="membership",
                subject="تعاونی زنبورداران بم",
                applicant_phone="09121234567",
                status="under_review",
                updated_on=dt.date(2026, 11, 1),
            )
        )
        await connection.execute(
            insert(application_history),
            [
                {
                    "tracking_code": "AB123456",
                    "status": s,
                    "changed_on": d,
                    "recorded_at": dt.datetime.now(dt.UTC),
                }
                for s, d in [
                    ("under_review", dt.date(2026, 11, 1)),
                    ("submitted", dt.date(2026, 10, 20)),
                ]
            ],
        )


@both
@pytest.mark.parametrize("typed", ["AB123456", "ab-123 456", "ab۱۲۳۴۵۶", " AB_123-456 "])
async def test_a_code_is_found_however_it_is_typed(engine: AsyncEngine, typed: str) -> None:
    await add(engine)
    found = await applications.get(engine, typed)
    assert found is not None and found.status == "under_review"


@both
async def test_history_is_oldest_first(engine: AsyncEngine) -> None:
    await add(engine)
    assert [c.status for c in await applications.history(engine, "ab123456")] == [
        "submitted",
        "under_review",
    ]


@both
async def test_an_unknown_code_is_none(engine: AsyncEngine) -> None:
    assert await applications.get(engine, "ZZ999999") is None


@both
@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("09121234567", True),
        ("+989121234567", True),
        ("00989121234567", True),
        ("۰۹۱۲ ۱۲۳ ۴۵۶۷", True),
        ("989121234567", True),
        ("09121234568", False),
        ("12345", False),
    ],
)
async def test_only_the_applicants_phone_proves_ownership(
    engine: AsyncEngine, phone: str, ok: bool
) -> None:
    await add(engine)
    found = await applications.get(engine, "AB123456")
    assert found is not None and applications.belongs_to(found, phone) is ok


def test_code_shape() -> None:
    assert applications.is_code("ab-۱۲۳۴")
    assert not applications.is_code("AB1")
    assert not applications.is_code("AB12345678901234567890X")
    assert not applications.is_code("کد۱۲۳۴۵۶")
