"""Anything no journey expects gets a short hint and the menu, never silence or a traceback."""

from __future__ import annotations

import pytest

from bot.offline import Member
from tests.test_start import MENU_FA

HINT = "متوجه نشدم. لطفاً از منوی زیر انتخاب کنید."


@pytest.mark.parametrize(
    "act",
    [
        lambda m: m.send_sticker(),
        lambda m: m.send_photo(),
        lambda m: m.send_voice(),
        lambda m: m.send("سلام، وام می‌خواهم"),
        lambda m: m.share_location(30.28, 57.08),
        lambda m: m.share_contact("09121234567"),
        lambda m: m.send_document("list.csv", b"a,b\n"),
    ],
    ids=["sticker", "photo", "voice", "free text", "location", "contact", "document"],
)
async def test_unexpected_input_gets_a_hint_and_the_menu(chat: Member, act) -> None:
    await act(chat)
    assert len(chat.replies) == 1
    assert chat.last.method == "sendMessage"
    assert chat.last.text == HINT
    assert chat.last.buttons == MENU_FA


async def test_unknown_command_is_named_as_such(chat: Member) -> None:
    await chat.send("/weather")
    assert chat.last.text == "این دستور را نمی‌شناسم. راهنما: /help"
    assert chat.last.buttons == MENU_FA


@pytest.mark.parametrize("data", ["zzz", "start:", "x" * 64, "lang:set:de", "old:thing:1"])
async def test_a_stale_or_forged_button_is_answered_not_crashed_on(chat: Member, data: str) -> None:
    await chat.press_data(data)
    answer = chat.replies[0]
    assert answer.method == "answerCallbackQuery"
    assert answer.params.get("text") in (
        "این دکمه دیگر فعال نیست.",
        "این گزینه دیگر در دسترس نیست.",
    )
    assert chat.last.method == "sendMessage"


async def test_a_stale_button_answer_names_the_old_message(chat: Member) -> None:
    await chat.press_data("old:thing:1")
    assert chat.texts == ["این دکمه مربوط به پیامی قدیمی است. منوی اصلی:"]
    assert chat.last.buttons == MENU_FA


def seen(member: Member) -> list[tuple[str, dict]]:
    """What the member's app received in answer, but for the id of the press it answers."""
    return [
        (call.method, {k: v for k, v in call.params.items() if k != "callback_query_id"})
        for call in member.replies
    ]


# Every staff button (handlers/broadcast.py draws them) and one of a staff journey that does not exist.
STAFF_BUTTONS = [
    "bc:ch:1.beekeeping",
    "bc:pv:1.0",
    "bc:p:1.IR-08",
    "bc:aud:1",
    "bc:pre:1",
    "bc:go:1",
    "bc:x:1",
    "bc:stop:1",
    "adm:grant:1001",
]


@pytest.mark.parametrize("data", STAFF_BUTTONS)
async def test_a_member_pressing_a_staff_button_sees_what_a_stale_button_shows(
    chat: Member, data: str
) -> None:
    await chat.press_data("zzz")
    stale = seen(chat)
    await chat.press_data(data)
    assert seen(chat) == stale
    assert stale[0] == ("answerCallbackQuery", {"text": "این دکمه دیگر فعال نیست."})
    assert chat.texts == ["این دکمه مربوط به پیامی قدیمی است. منوی اصلی:"]
