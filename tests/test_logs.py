"""Operator logs: one line per event; no token, no member's phone."""

from __future__ import annotations

import logging

from bot.logs import OneLineFormatter


def record(message: str, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("bot.app", logging.ERROR, __file__, 1, message, None, info)


def test_a_traceback_is_folded_onto_one_line() -> None:
    try:
        raise RuntimeError("database on fire")
    except RuntimeError as exc:
        line = OneLineFormatter().format(record("update 7 failed", exc))
    assert "\n" not in line
    assert "update 7 failed ⏎ Traceback (most recent call last):" in line
    assert line.endswith("RuntimeError: database on fire")


def test_the_token_and_phone_numbers_never_reach_the_log() -> None:
    formatter = OneLineFormatter(secrets=("123456:SECRET-TOKEN",))
    line = formatter.format(
        record(
            "POST https://api.telegram.org/bot123456:SECRET-TOKEN/sendMessage for 09121234567, "
            "+98 912 123 4567 and ۰۹۱۲ ۱۲۳ ۴۵۶۷; update 123456 is fine"
        )
    )
    assert "SECRET" not in line and "1234567" not in line
    assert "bot<token>/sendMessage for <phone>, <phone> and <phone>;" in line
    assert "update 123456 is fine" in line
