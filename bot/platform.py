"""What each platform's Bot API can do, in one place, so handlers never test platform names.

Bale copies Telegram's Bot API but not all of it (../shared/spec/platform-notes.md, from Bale's
published documentation): its setWebhook takes only `url` (no secret token header), and neither
sendVenue nor the reply-keyboard location button is confirmed there, so a Bale bot shows places with
sendLocation plus a text line and asks for a province and county instead of a shared location. Both
platforms are sent plain text only (Bale's Markdown differs), which every journey already does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Features:
    name: str
    venues: bool  # sendVenue
    location_button: bool  # KeyboardButton(request_location=True)
    webhook_secret_header: bool  # setWebhook(secret_token=...) and its request header
    chat_link: str  # a link that opens a private chat with the bot named {username}


TELEGRAM = Features(
    "telegram",
    venues=True,
    location_button=True,
    webhook_secret_header=True,
    chat_link="https://t.me/{username}",
)
# Bale's links (docs.bale.ai/links): ble.ir/<username> opens a chat with a user or a bot.
BALE = Features(
    "bale",
    venues=False,
    location_button=False,
    webhook_secret_header=False,
    chat_link="https://ble.ir/{username}",
)


def features(platform: str) -> Features:
    return BALE if platform == "bale" else TELEGRAM
