"""Whatever no journey took: a sticker, a photo, free text, an unknown command, a stale button.

Registered last, so it only sees what every other handler passed over. Never silence.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.replies import UNKNOWN_COMMAND, show_menu, stale_button


async def unknown_command(update: Update, context: BotContext) -> None:
    await show_menu(update, context, context.t._(UNKNOWN_COMMAND))


async def unexpected(update: Update, context: BotContext) -> None:
    await show_menu(
        update,
        context,
        context.t._("I did not understand that. Please choose from the menu below."),
    )


def build_handler() -> list[BaseHandler]:
    return [
        # Edits of old messages are not new requests: answering them would only add noise.
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, unknown_command),
        MessageHandler(filters.UpdateType.MESSAGE, unexpected),
        CallbackQueryHandler(stale_button),
    ]
