"""Settings from the environment; a bad one stops `coopbot` with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("COOPBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_follow_the_contract() -> None:
    settings = load_settings()
    assert settings.platform == "telegram"
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.database_url == "sqlite+aiosqlite:///coopbot.db"
    assert settings.default_locale == "fa"
    assert settings.broadcast_rate == 25
    assert settings.admin_ids == frozenset()
    assert settings.webhook_url is None


def test_bale_gets_bales_api_and_admin_ids_are_a_comma_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COOPBOT_PLATFORM", "Bale")
    monkeypatch.setenv("COOPBOT_ADMIN_IDS", "12, 34,")
    settings = load_settings()
    assert settings.api_base_url == "https://tapi.bale.ai/bot"
    assert settings.api_file_url == "https://tapi.bale.ai/file/bot"
    assert settings.admin_ids == frozenset({12, 34})


def test_a_dotenv_file_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COOPBOT_DEFAULT_LOCALE=en\nCOOPBOT_BROADCAST_RATE=10\n")
    settings = load_settings()
    assert (settings.default_locale, settings.broadcast_rate) == ("en", 10)


def test_the_token_is_never_shown_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPBOT_TOKEN", "123:SECRET")
    settings = Settings()
    assert "SECRET" not in repr(settings)
    assert settings.require_token() == "123:SECRET"


def test_run_without_a_token_stops_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("coopbot: COOPBOT_TOKEN is not set")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COOPBOT_PLATFORM", "viber"),
        ("COOPBOT_ADMIN_IDS", "12,abc"),
        ("COOPBOT_BROADCAST_RATE", "fast"),
        ("COOPBOT_DEFAULT_LOCALE", "de"),
        ("COOPBOT_PORT", "99999"),
    ],
)
def test_an_invalid_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    monkeypatch.setenv("COOPBOT_TOKEN", "123:x")
    monkeypatch.setenv(variable, value)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"coopbot: {variable} is invalid:")


def test_db_upgrade_migrates_the_configured_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COOPBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert main(["db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (tmp_path / "x.db").exists()


def test_db_upgrade_on_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COOPBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("coopbot: cannot create the database: the folder") and err.count("\n") == 1
    )


def test_a_database_url_that_is_not_one_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COOPBOT_DATABASE_URL", "not a url")
    assert main(["db", "upgrade"]) == 1
    assert capsys.readouterr().err == "coopbot: COOPBOT_DATABASE_URL is not a database URL\n"


def test_db_backup_copies_the_database_while_it_is_in_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    monkeypatch.setenv("COOPBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/live.db")
    assert main(["db", "upgrade"]) == 0
    live = sqlite3.connect(tmp_path / "live.db")
    live.execute(
        "INSERT INTO users (platform, user_id, chat_id, first_seen, last_seen) "
        "VALUES ('telegram', 1, 1, '2026-01-01', '2026-01-01')"
    )
    live.commit()
    live.execute("BEGIN")  # someone is writing right now
    live.execute("UPDATE users SET first_name = 'half-written'")
    assert main(["db", "backup", str(tmp_path / "copy.db")]) == 0
    live.rollback()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT user_id, first_name FROM users").fetchall() == [(1, "")]
    assert "backed up" in capsys.readouterr().out
    assert main(["db", "backup", str(tmp_path / "copy.db")]) == 1
    assert capsys.readouterr().err.endswith("copy.db exists; give a new file name\n")


def test_db_backup_on_postgresql_points_to_pg_dump(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COOPBOT_DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1/coopbot")
    assert main(["db", "backup", str(tmp_path / "x")]) == 1
    assert "pg_dump" in capsys.readouterr().err
