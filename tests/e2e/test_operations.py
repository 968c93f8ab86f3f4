"""What an operator relies on, end to end: a broadcast reaches every member exactly once; the bot
carries on when the Bot API goes away and comes back; the same in webhook mode (as a Bale bot,
whose webhook carries its secret in the path)."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    STAFF_ID,
    BotProcess,
    Emulator,
    RemoteMember,
    bot_env,
    coopbot,
    free_port,
    wait_for_port,
)

MEMBERS = range(500_000, 500_200)


def add_members(database: Path) -> None:
    with sqlite3.connect(database, timeout=30) as connection:
        connection.executemany(
            "INSERT INTO users (platform, user_id, chat_id, first_seen, last_seen, setup_done) "
            "VALUES ('telegram', ?, ?, '2026-11-01', '2026-11-01', 1)",
            [(user_id, user_id) for user_id in MEMBERS],
        )


def deliveries(emulator: Emulator, token: str, text: str) -> Counter[int]:
    records = httpx.post(f"{emulator.url}/getUpdatesHistory", json={"token": token}).json()[
        "result"
    ]
    return Counter(
        int(r["message"]["chat_id"])
        for r in records
        # (the staff member's own message has the same text, but no chat_id: it is not the bot's)
        if "message" in r and "chat_id" in r["message"] and r["message"].get("text") == text
    )


def test_a_broadcast_reaches_200_members_exactly_once(bot: BotProcess, emulator: Emulator) -> None:
    add_members(bot.database)
    text = f"اطلاعیه آزمایشی {time.time_ns()}"
    staff = RemoteMember(emulator, STAFF_ID)
    staff.send("/broadcast")
    staff.wait_for("اطلاعیه را بنویسید")
    staff.send(text)
    staff.wait_for("چه کسانی دریافتش کنند؟")
    staff.press("👁 پیش‌نمایش")
    staff.wait_for("پیام بالا دقیقاً همان چیزی است")
    staff.press("✅ ارسال برای…")
    end = time.monotonic() + 60
    while time.monotonic() < end:
        counts = deliveries(emulator, "123456:E2E-TEST", text)
        if all(counts[m] for m in MEMBERS):
            break
        time.sleep(0.5)
    time.sleep(2)  # anything sent twice would show up by now
    counts = deliveries(emulator, "123456:E2E-TEST", text)
    assert [m for m in MEMBERS if counts[m] != 1] == [], "every member exactly once"
    staff.wait_for("✅ اطلاعیه برای", seconds=30)


def test_the_bot_carries_on_after_the_bot_api_goes_away(
    bot: BotProcess, emulator: Emulator, member_ids: int
) -> None:
    emulator.stop()
    time.sleep(3)  # the bot's long poll fails meanwhile
    emulator.start()
    member = RemoteMember(emulator, member_ids + 7)
    member.send("/start")
    member.wait_for("اول زبان خود را انتخاب کنید", seconds=90)
    assert bot.process is not None and bot.process.poll() is None
    assert "Traceback" not in bot.log.read_text()


BALE_TOKEN = "654321:E2E-BALE"
SECRET = "e2e-webhook-secret"


@pytest.fixture(scope="module")
def webhook_bot(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BotProcess, int]]:
    home = tmp_path_factory.mktemp("webhook-bot")
    port = free_port()
    env = bot_env(
        emulator,
        home,
        COOPBOT_TOKEN=BALE_TOKEN,
        COOPBOT_PLATFORM="bale",
        COOPBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        COOPBOT_WEBHOOK_SECRET=SECRET,
        COOPBOT_LISTEN="127.0.0.1",
        COOPBOT_PORT=str(port),
    )
    coopbot("db", "upgrade", env=env, cwd=home)
    process = BotProcess(env, home, started="webhook listening")
    process.start()
    wait_for_port(port)
    yield process, port
    assert process.stop() == 0, "SIGTERM ends the bot cleanly"


def test_webhook_mode_answers_and_reports_health(
    webhook_bot: tuple[BotProcess, int], emulator: Emulator, member_ids: int
) -> None:
    _, port = webhook_bot
    member = RemoteMember(emulator, member_ids + 8, token=BALE_TOKEN)
    member.send("/start")
    member.wait_for("اول زبان خود را انتخاب کنید")
    member.press("فارسی")
    member.wait_for("تعاونی شما در کدام استان است؟")
    health = httpx.get(f"http://127.0.0.1:{port}/health")
    assert health.json() == {"platform": "bale", "status": "ok", "database": "reachable"}


def test_webhook_mode_carries_on_after_the_bot_api_goes_away(
    webhook_bot: tuple[BotProcess, int], emulator: Emulator, member_ids: int
) -> None:
    process, port = webhook_bot
    emulator.stop()
    time.sleep(2)
    emulator.start()
    # The platform keeps a webhook it was given; this emulator forgets it when it restarts.
    httpx.post(
        f"{emulator.url}/bot{BALE_TOKEN}/setWebhook",
        json={"url": f"http://127.0.0.1:{port}/hook/{SECRET}"},
    )
    member = RemoteMember(emulator, member_ids + 9, token=BALE_TOKEN)
    member.send("/help")
    member.wait_for("/menu: منوی اصلی", seconds=60)
    assert process.process is not None and process.process.poll() is None
