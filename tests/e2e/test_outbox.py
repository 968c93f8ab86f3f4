"""The outbox end to end: `coopbot run` broadcasting through the Bot API emulator.

Rate limits as each platform reports them: the emulator refuses sends beyond `--rate N` a second
(Telegram's way: 429 with retry_after; with `--bale`, Bale's: `bot limit exceed` without one, under
429 or 400), the bot is told to send far faster, and every member still gets the announcement
exactly once, none failed. And a bot killed outright (kill -9) again and again in the middle of a
broadcast loses nobody and repeats at most one message a kill.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    BotProcess,
    Emulator,
    bot_env,
    coopbot,
    emulator_dir,
)
from tests.e2e.test_operations import deliveries

AUDIENCE = range(700_000, 700_300)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def start_emulator(home: Path, *options: str) -> Emulator:
    folder = emulator_dir()
    if folder is None:
        pytest.skip("the Bot API emulator is not installed (node and its npm packages)")
    emulator = Emulator(folder, home / "emulator.log", *options)
    emulator.start()
    return emulator


@pytest.fixture
def emulators(home: Path) -> Iterator[list[Emulator]]:
    """The emulators a test starts, stopped after it whatever happens."""
    started: list[Emulator] = []
    yield started
    for emulator in started:
        emulator.stop()


def add_audience(database: Path, platform: str) -> None:
    with sqlite3.connect(database, timeout=30) as connection:
        connection.executemany(
            "INSERT INTO users (platform, user_id, chat_id, first_seen, last_seen, setup_done) "
            "VALUES (?, ?, ?, '2026-11-01', '2026-11-01', 1)",
            [(platform, user_id, user_id) for user_id in AUDIENCE],
        )


def outbox_statuses(database: Path) -> Counter[str]:
    with sqlite3.connect(database, timeout=30) as connection:
        rows = connection.execute("SELECT status FROM deliveries").fetchall()
    return Counter(status for (status,) in rows)


def wait_until_everyone_has_it(
    emulator: Emulator, token: str, text: str, seconds: float
) -> Counter[int]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        counts = deliveries(emulator, token, text)
        if all(counts[member] for member in AUDIENCE):
            break
        time.sleep(0.5)
    time.sleep(3)  # anything sent twice would show up by now
    return deliveries(emulator, token, text)


@pytest.mark.parametrize(
    ("platform", "options"),
    [
        ("telegram", ("--rate", "20")),
        ("bale", ("--bale", "--rate", "20")),
        ("bale", ("--bale", "--rate", "20", "--limit-status", "400")),
    ],
    ids=["telegram-429-retry-after", "bale-429", "bale-400"],
)
def test_a_broadcast_far_above_the_platforms_rate_reaches_everyone_exactly_once(
    home: Path, emulators: list[Emulator], platform: str, options: tuple[str, ...]
) -> None:
    emulator = start_emulator(home, *options)
    emulators.append(emulator)
    token = f"{abs(hash(options)) % 10**6}:E2E-RATE"
    env = bot_env(
        emulator, home, COOPBOT_TOKEN=token, COOPBOT_PLATFORM=platform,
        COOPBOT_BROADCAST_RATE="100",
    )  # fmt: skip
    coopbot("db", "upgrade", env=env, cwd=home)
    add_audience(home / "coopbot.db", platform)
    text = f"اطلاعیه سقف ارسال {time.time_ns()}"
    coopbot("broadcast", "--text", text, env=env, cwd=home)
    bot = BotProcess(env, home)
    bot.start()
    try:
        counts = wait_until_everyone_has_it(emulator, token, text, seconds=120)
    finally:
        assert bot.stop() == 0
    assert [m for m in AUDIENCE if counts[m] != 1] == [], "every member exactly once"
    assert outbox_statuses(home / "coopbot.db") == Counter({"sent": len(AUDIENCE)})
    refused = emulator.refused()
    print(f"\n{platform} {options}: {refused} sends refused")  # (pytest -s shows it)
    assert refused > 0, "the platform's limit was hit"
    assert "Traceback" not in bot.log.read_text()


KILLS = 5


def test_kill_9_during_a_broadcast_loses_nobody_and_repeats_at_most_one_message_a_kill(
    home: Path, emulators: list[Emulator]
) -> None:
    emulator = start_emulator(home)
    emulators.append(emulator)
    token = "424242:E2E-KILL"
    env = bot_env(emulator, home, COOPBOT_TOKEN=token, COOPBOT_BROADCAST_RATE="25")
    coopbot("db", "upgrade", env=env, cwd=home)
    add_audience(home / "coopbot.db", "telegram")
    text = f"اطلاعیه در میان قطعی‌ها {time.time_ns()}"
    coopbot("broadcast", "--text", text, env=env, cwd=home)
    bot = BotProcess(env, home)
    for _ in range(KILLS):
        bot.start()
        before, end = sum(deliveries(emulator, token, text).values()), time.monotonic() + 60
        while sum(deliveries(emulator, token, text).values()) < before + 25:
            assert time.monotonic() < end, "the broadcast did not go on after a restart"
            time.sleep(0.05)
        bot.kill()
        # A minute passes: the dead process's leases run out (rather than wait for it).
        with sqlite3.connect(home / "coopbot.db", timeout=30) as connection:
            connection.execute(
                "UPDATE deliveries SET claimed_until = '2000-01-01 00:00:00.000000' "
                "WHERE status = 'sending'"
            )
    bot.start()
    try:
        counts = wait_until_everyone_has_it(emulator, token, text, seconds=60)
    finally:
        assert bot.stop() == 0
    lost = [member for member in AUDIENCE if counts[member] == 0]
    duplicates = sum(count - 1 for count in counts.values() if count > 1)
    print(f"\n{KILLS} kills: {len(lost)} lost, {duplicates} duplicates")  # (pytest -s shows it)
    assert lost == []
    assert duplicates <= KILLS
    assert outbox_statuses(home / "coopbot.db") == Counter({"sent": len(AUDIENCE)})
