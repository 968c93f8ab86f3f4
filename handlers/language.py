"""Switching between Persian and English: /language or the menu button."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import cb, parse, pattern
from bot.context import BotContext
from bot.i18n import LANGUAGE_NAMES, LOCALES, all_translations
from bot.keyboards import MENU_LANGUAGE
from bot.replies import say, show, show_menu
from db import users


async def ask(update: Update, context: BotContext) -> None:
    t = context.t
    buttons = [
        [
            InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=cb("lang", "set", code))
            for code in LOCALES
        ]
    ]
    await say(update, context, t._("Choose your language:"), InlineKeyboardMarkup(buttons))


async def choose(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    if data is None or data.arg not in LOCALES:
        await query.answer(context.t._("That choice is no longer available."))
        await ask(update, context)
        return
    member = context.member
    context.member = await users.update_profile(
        context.engine, member.platform, member.user_id, locale=data.arg
    )
    t = context.t
    await query.answer()
    await show(update, context, t._("Language: {name}").format(name=LANGUAGE_NAMES[data.arg]))
    await show_menu(update, context)


def build_handler() -> list[BaseHandler]:
    return [
        CommandHandler("language", ask),
        MessageHandler(filters.Text(sorted(all_translations(MENU_LANGUAGE))), ask),
        CallbackQueryHandler(choose, pattern=pattern("lang", "set")),
    ]
