"""`coopbot chat`: a person finishes /start in Persian in the terminal and reaches the menu."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main


def _type(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    typed: Iterator[str] = iter(lines)

    def fake_input(prompt: str = "") -> str:
        print(prompt, end="")
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", fake_input)


@pytest.fixture(autouse=True)
def embedded_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COOPBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("COOPBOT_TOKEN", raising=False)
    return tmp_path


def test_a_newcomer_finishes_start_in_persian_by_numbers_and_typing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], embedded_database: Path
) -> None:
    # 1: فارسی; type the province and county by name; 4: زنبورداری
    _type(monkeypatch, ["1", "کرمان", "بم", "4"])
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "🤖 به کوپ‌بات، بات اعضای تعاونی‌های ایران، خوش آمدید." in out
    assert "[1] فارسی   [2] English" in out
    assert "🤖 ✏️  (edited)\n   تعاونی شما در کدام استان است؟" in out
    assert "   زنجیره ارزش: زنبورداری" in out
    assert out.rstrip().endswith(
        "   [1] 🔕 اطلاعیه نمی‌خواهم\n   ⌨️\n   [2] 📋 برنامه‌های حمایتی\n"
        "   [3] 🔎 پیگیری درخواست   [4] 🧭 تعاونی‌های نزدیک من\n"
        "   [5] 📍 استان و زنجیره من   [6] 🔔 اطلاعیه‌ها\n   [7] 🌐 زبان / Language   [8] ❓ راهنما\n>"
    )
    assert (embedded_database / "coopbot.db").exists()  # the embedded database, no token


def test_locations_contacts_and_persian_digit_presses_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _type(monkeypatch, ["۲", "/loc 30.28 57.08", "/contact 09121234567", "/loc x", "/quit"])
    assert main(["chat", "--user-id", "5", "--locale", "en"]) == 0
    out = capsys.readouterr().out
    assert "Which province is your cooperative in?" in out  # ۲ pressed "English"
    assert out.count("Please choose with the buttons above") == 2  # mid-setup, location + contact
    assert "usage: /loc 30.28 57.08" in out


def test_a_staff_member_can_chat_with_admin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _type(monkeypatch, [])
    assert main(["chat", "--admin"]) == 0
    assert "خوش آمدید" in capsys.readouterr().out


def test_a_staff_member_sees_a_broadcast_go_out_in_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    def wait_then_enter() -> str:
        time.sleep(2)  # the sender and the progress job run meanwhile
        return ""

    monkeypatch.setattr("handlers.broadcast.PROGRESS_EVERY_S", 0.5)
    typed: Iterator[str | Callable[[], str]] = iter(
        ["/broadcast", "جلسه فردا", "8", "1", wait_then_enter, "/quit"]
    )

    def fake_input(prompt: str = "") -> str:
        item = next(typed)
        return item if isinstance(item, str) else item()

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["chat", "--admin", "--user-id", "77"]) == 0
    out = capsys.readouterr().out
    assert "🤖 جلسه فردا" in out  # the staff member is in the audience too
    assert "✅ اطلاعیه برای ۱ عضو فرستاده شد." in out


def test_trying_the_bot_leaves_other_members_deliveries_as_they_were(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], embedded_database: Path
) -> None:
    """A staff member tries the bot on a server whose database is the real one: the announcement
    queued there stays queued for `coopbot run`, and they are told so."""
    assert main(["db", "upgrade"]) == 0
    with sqlite3.connect(embedded_database / "coopbot.db") as connection:
        connection.executemany(
            "INSERT INTO users (platform, user_id, chat_id, first_seen, last_seen, setup_done) "
            "VALUES ('telegram', ?, ?, '2026-11-01', '2026-11-01', 1)",
            [(501, 501), (502, 502)],
        )
    assert main(["broadcast", "--text", "اطلاعیه آزمایشی"]) == 0
    capsys.readouterr()
    _type(monkeypatch, ["/quit"])
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    with sqlite3.connect(embedded_database / "coopbot.db") as connection:
        rows = connection.execute(
            "SELECT user_id, status, attempts, claimed_by FROM deliveries ORDER BY user_id"
        ).fetchall()
    assert rows == [(501, "pending", 0, None), (502, "pending", 0, None)]
    assert (
        "   (outbox: 2 messages wait for other members; the running bot (coopbot run, telegram) "
        "sends them, this terminal only member 1's)"
    ) in out
