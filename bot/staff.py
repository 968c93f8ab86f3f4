"""Staff-only handlers: to anyone else a staff command is just a command the bot does not know."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from bot.context import BotContext
from bot.replies import UNKNOWN_COMMAND, show_menu, stale_button

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def staff_only(callback: Handler) -> Handler:
    """Run `callback` for staff; answer anyone else exactly as an unknown command (or, for a
    button, a stale one) is answered, so members cannot tell staff commands exist."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: BotContext) -> Any:
        if context.is_staff:
            return await callback(update, context)
        if update.callback_query is not None:
            await stale_button(update, context)
            return None
        await show_menu(update, context, context.t._(UNKNOWN_COMMAND))
        return None

    return guarded
