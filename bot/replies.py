"""Ways of answering that every journey shares, for a typed message and a pressed button alike."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import N_
from bot.keyboards import main_menu

UNKNOWN_COMMAND = N_("I do not know that command. Try /help.")


async def say(
    update: Update,
    context: BotContext,
    text: str,
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None,
) -> Message | None:
    """A new message in the member's chat."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.bot.send_message(chat.id, text, reply_markup=markup)


async def show(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the pressed button's message (fewer messages on a weak connection); else a new one."""
    query = update.callback_query
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            # Pressing the same button twice asks for the same text: nothing to change.
            if "not modified" in str(exc).lower():
                return
            # Too old to edit (or deleted): fall through to a fresh message.
    await say(update, context, text, markup)


async def show_menu(update: Update, context: BotContext, text: str | None = None) -> None:
    """The main menu as a reply keyboard, under `text` or a short prompt."""
    chat = update.effective_chat
    if chat is None:
        return
    t = context.t
    await context.bot.send_message(
        chat.id, text or t._("Choose from the menu below."), reply_markup=main_menu(t)
    )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button no handler can act on: from an old message, forged, or a staff button pressed by
    a member. One answer for all, so a member cannot tell staff buttons from stale ones."""
    query = update.callback_query
    assert query is not None
    t = context.t
    await query.answer(t._("This button is no longer active."))
    await show_menu(update, context, t._("That button is from an older message. Here is the menu."))
