"""The main menu, help, and /cancel when there is nothing to cancel."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import all_translations
from bot.keyboards import MENU_HELP
from bot.replies import show_menu


async def menu(update: Update, context: BotContext) -> None:
    await show_menu(update, context)


async def help_(update: Update, context: BotContext) -> None:
    t = context.t
    text = "\n".join(
        [
            t._(
                "Coopbot is the bot for members of Iran's cooperatives. Tell it your province, "
                "county and value chain once; change them any time from the menu."
            ),
            "",
            t._("/menu: the main menu"),
            t._("/programs: support programs that fit your cooperative"),
            t._("/status: check an application by its tracking code"),
            t._("/nearby: cooperatives of your value chain near you"),
            t._("/subscribe: choose which announcements you receive"),
            t._("/start: set up your province, county and value chain"),
            t._("/language: Persian or English"),
            t._("/cancel: stop what you are doing"),
            t._("/help: this message"),
            *(_staff_help(context) if context.is_staff else []),
            "",
            t._("Place data: © OpenStreetMap contributors, GeoNames (CC BY 4.0)."),
        ]
    )
    await show_menu(update, context, text)


def _staff_help(context: BotContext) -> list[str]:
    """Staff commands, shown to staff only: to members they do not exist."""
    t = context.t
    return [
        "",
        t._("For staff:"),
        t._("/broadcast: send an announcement to members"),
        t._("/stats: members, subscriptions, look-ups and broadcasts at a glance"),
        t._("/admin: who holds the staff role; grant or revoke it"),
        t._("A spreadsheet sent with a caption naming its kind is imported."),
    ]


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel anywhere: group -1 has already ended the journey the member was in, if any."""
    t = context.t
    if context.left_journey:
        await show_menu(update, context, t._("Stopped. Nothing more was changed."))
    else:
        await show_menu(update, context, t._("There is nothing to stop. Here is the menu."))


def build_handler() -> list[BaseHandler]:
    return [
        CommandHandler("menu", menu),
        CommandHandler("help", help_),
        MessageHandler(filters.Text(sorted(all_translations(MENU_HELP))), help_),
        CommandHandler("cancel", cancel),
    ]
