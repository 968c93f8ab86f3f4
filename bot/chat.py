"""`coopbot chat`: talk to the real bot in the terminal, through the offline Bot API double.

The bot's messages are printed with their buttons numbered; type a number to press one. `/loc LAT LON`
shares a location and `/contact PHONE` a phone number; `/quit` (or Ctrl-D) leaves.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import build_application
from bot.offline import OFFLINE_TOKEN, ApiCall, Member, OfflineBotApi
from bot.settings import Settings
from bot.text import to_ascii_digits
from db import outbox
from db.engine import create_engine, upgrade

HELP = (
    "Type as a member would. A number presses the button shown with it; "
    "/loc LAT LON shares a location; /contact PHONE shares a phone number; /quit leaves."
)


def render(call: ApiCall) -> str:
    """One bot call as the member would see it."""
    if call.method == "answerCallbackQuery":
        text = call.params.get("text")
        return f"  ({text})" if text else ""
    if call.method in ("setMyCommands", "getMe"):
        return ""
    lines: list[str] = []
    if call.method.startswith("edit"):
        lines.append("✏️  (edited)")
    if call.method in ("sendLocation", "sendVenue"):
        lines.append(
            f"📍 {call.params.get('title', '')} {call.params['latitude']}, "
            f"{call.params['longitude']}".strip()
        )
    if call.text:
        lines.extend(call.text.splitlines() or [""])
    return "\n".join(["🤖 " + line if i == 0 else "   " + line for i, line in enumerate(lines)])


def _newest_with_buttons(member: Member) -> dict[str, Any] | None:
    for call in reversed(member.replies):
        result = call.result if isinstance(call.result, dict) else {}
        message_id = result.get("message_id")
        if message_id is None:
            continue
        message = member.api.message(member.chat_id, message_id)
        if message and message.get("reply_markup", {}).get("inline_keyboard"):
            return message
    return None


def button_lines(member: Member) -> tuple[list[str], list[Any]]:
    """Numbered buttons: the inline buttons of the newest message the bot just sent or edited that
    has any (a card is often followed by the menu), then the reply keyboard."""
    presses: list[Any] = []
    lines: list[str] = []
    newest = _newest_with_buttons(member)
    for row in (newest or {}).get("reply_markup", {}).get("inline_keyboard", []):
        cells = []
        for button in row:
            presses.append((newest, button))
            cells.append(f"[{len(presses)}] {button['text']}")
        lines.append("   " + "   ".join(cells))
    keyboard = member.reply_keyboard_markup()
    if keyboard:
        lines.append("   ⌨️")
    for row in keyboard:
        cells = []
        for button in row:
            presses.append((None, button))
            cells.append(f"[{len(presses)}] {button['text']}")
        lines.append("   " + "   ".join(cells))
    return lines, presses


async def chat(settings: Settings, user_id: int, locale: str | None, admin: bool) -> None:
    if admin:
        settings = settings.model_copy(update={"admin_ids": settings.admin_ids | {user_id}})
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    api = OfflineBotApi()
    # The database may be a real one (a staff member trying the bot on the server): its sender
    # delivers only to the member played here, and everyone else's deliveries are left exactly
    # as they are for `coopbot run` to send.
    application: Application = build_application(
        settings, engine, token=OFFLINE_TOKEN, request=api, deliver_only=frozenset({user_id})
    )
    member = Member(application, api, user_id, first_name="Member", language_code=locale)
    async with application:
        # Started as `coopbot run` starts it, so the outbox sender and the broadcast progress job
        # run here too: a staff member sees their own copy of a broadcast arrive.
        await application.start()
        if application.post_init is not None:
            await application.post_init(application)
        print(HELP)
        try:
            await _loop(member, Outbox(engine, settings.platform, user_id))
        finally:
            if application.post_stop is not None:
                await application.post_stop(application)
            await application.stop()
    await engine.dispose()


class Outbox:
    """What waits in the outbox for members other than the one played here, told when it changes:
    this terminal sends none of it, the running bot (`coopbot run`) does."""

    def __init__(self, engine: AsyncEngine, platform: str, user_id: int) -> None:
        self.engine, self.platform, self.user_id = engine, platform, user_id
        self.told = 0

    async def news(self) -> str | None:
        waiting = await outbox.pending_count(self.engine, self.platform, excluding={self.user_id})
        if waiting == self.told:
            return None
        self.told = waiting
        if waiting == 0:
            return "   (outbox: nothing waits for other members now)"
        plural = "s wait" if waiting != 1 else " waits"
        return (
            f"   (outbox: {waiting:,} message{plural} for other members; the running bot "
            f"(coopbot run, {self.platform}) sends them, this terminal only member "
            f"{self.user_id}'s)"
        )


async def _loop(member: Member, waiting: Outbox) -> None:
    presses: list[Any] = []
    await member.send("/start")
    printed = 0
    while True:
        # Everything for this chat since last time: answers, and what the bot did meanwhile
        # (a broadcast's progress, a notice).
        calls = member.calls
        for call in calls[printed:]:
            shown = render(call)
            if shown:
                print(shown)
        printed = len(calls)
        news = await waiting.news()
        if news:
            print(news)
        lines, presses = button_lines(member)
        print("\n".join(lines))
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            return
        if await _act(member, line.strip(), presses) is None:
            return


async def _act(member: Member, line: str, presses: list[Any]) -> list[ApiCall] | None:
    if line in ("/quit", "/exit"):
        return None
    if not line:
        return []
    number = to_ascii_digits(line)
    if number.isdigit() and 1 <= int(number) <= len(presses):
        message, button = presses[int(number) - 1]
        if message is not None:
            return await member.press_data(button.get("callback_data", ""), message)
        if button.get("request_location"):
            print("   (share a location with /loc LAT LON)")
            return []
        if button.get("request_contact"):
            print("   (share your phone with /contact PHONE)")
            return []
        return await member.send(button["text"])
    parts = number.split()
    if parts and parts[0] == "/loc":
        try:
            return await member.share_location(float(parts[1]), float(parts[2]))
        except (IndexError, ValueError):
            print("   usage: /loc 30.28 57.08")
            return []
    if parts and parts[0] == "/contact":
        if len(parts) < 2:
            print("   usage: /contact 09121234567")
            return []
        return await member.share_contact(parts[1])
    return await member.send(line)


def run_chat(settings: Settings, user_id: int, locale: str | None, admin: bool) -> int:
    try:
        asyncio.run(chat(settings, user_id, locale, admin))
    except KeyboardInterrupt:
        print()
    sys.stdout.flush()
    return 0
