"""Notify me: an import that changes a watched application's status sends its member a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.cli import main
from bot.offline import Member, OfflineBotApi
from bot.sender import Sender
from db.importers import import_file
from usecases.importing import queue_status_notices

HEADER = "tracking_code,kind,subject,applicant_phone,status,updated_on,note_fa,note_en\n"


def applications_csv(status: str, updated_on: str, note_fa: str = "") -> bytes:
    row = f"AB123456,membership,تعاونی زنبورداران بم,09121234567,{status},{updated_on},{note_fa},\n"
    return (HEADER + row).encode()


async def watch_it(chat: Member) -> None:
    await chat.send("/status AB123456")
    await chat.share_contact("09121234567")
    await chat.press("🔔 تغییرات را به من خبر بده")


async def test_a_status_change_reaches_the_watching_member(
    app: Application,
    api: OfflineBotApi,
    engine: AsyncEngine,
    chat: Member,
) -> None:
    await import_file(
        engine, "applications", applications_csv("under_review", "1405/08/01"), filename="a.csv"
    )
    await watch_it(chat)
    report = await import_file(
        engine,
        "applications",
        applications_csv("approved", "1405/08/20", "قرارداد را امضا کنید."),
        filename="a.csv",
    )
    assert report.status_changes == [("AB123456", "under_review", "approved")]
    assert await queue_status_notices(engine, report.status_changes) == 1
    await Sender(app.bot, engine, "telegram", 100, "test").run_once()
    assert chat.calls[-1].method == "sendMessage"
    assert chat.calls[-1].text == (
        "🔔 وضعیت درخواست AB123456 تغییر کرد: تأیید شده (۲۰ آبان ۱۴۰۵).\n"
        "گام بعدی: قرارداد را امضا کنید."
    )


async def test_nobody_is_told_of_an_import_that_changes_nothing(
    engine: AsyncEngine, chat: Member
) -> None:
    await import_file(
        engine, "applications", applications_csv("under_review", "1405/08/01"), filename="a.csv"
    )
    await watch_it(chat)
    report = await import_file(
        engine, "applications", applications_csv("under_review", "1405/08/01"), filename="a.csv"
    )
    assert await queue_status_notices(engine, report.status_changes) == 0


async def test_members_who_did_not_ask_are_not_told(engine: AsyncEngine) -> None:
    await import_file(
        engine, "applications", applications_csv("under_review", "1405/08/01"), filename="a.csv"
    )
    report = await import_file(
        engine, "applications", applications_csv("approved", "1405/08/20"), filename="a.csv"
    )
    assert await queue_status_notices(engine, report.status_changes) == 0


def test_coopbot_import_queues_the_notices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from db import applications
    from db.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path}/c.db"
    monkeypatch.setenv("COOPBOT_DATABASE_URL", url)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_bytes(applications_csv("under_review", "1405/08/01"))
    second.write_bytes(applications_csv("approved", "1405/08/20"))
    assert main(["import", "applications", str(first)]) == 0

    async def watch() -> None:
        engine = create_engine(url)
        await applications.watch(engine, "AB123456", "telegram", 5, 5, "en")
        await engine.dispose()

    asyncio.run(watch())
    capsys.readouterr()
    assert main(["import", "applications", str(second)]) == 0
    assert capsys.readouterr().out == (
        "Imported applications: 1 rows; 0 new, 1 updated, 0 unchanged.\n"
        "Status changes recorded: 1\n"
        "Status-change notices queued for the members who asked for them: 1\n"
    )
