"""Coopbot works in private chats only; what it does with everything else.

A member may add the bot to a group, or write in a group or channel where it is present. Were such
an update to reach the journeys, the member's stored chat would become the group's, and every
announcement and notice for them would go to the group (once per member who ever spoke there) and
none to their own chat. So an update reaches the journeys only when it is a new message or a button
press in a private chat. From a group, a command addressed to the bot gets one short line inviting
the member to a private chat, a button press is answered with the same line (as a notification,
nothing in the group), and everything else gets nothing; a channel post gets nothing at all. Nothing
is written to the database for any of them.

A private chat's id is the member's user id on both platforms (Telegram's and Bale's Bot API alike),
which is what migration 0006 relies on to repair chat ids that groups overwrote before this gate.
"""

from __future__ import annotations

import logging

from telegram import Chat, Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext, locale_for
from bot.i18n import translator
from db import users
from db.engine import is_unreachable

log = logging.getLogger(__name__)


def is_private_request(update: Update) -> bool:
    """A person's new message or button press in a private chat: what the journeys are for. Edits
    are not new requests (a live location's moves arrive as edits), nor are chat-member changes;
    a bot (an anonymous group admin's messages come "from" one) is no member."""
    if update.message is None and update.callback_query is None:
        return False
    user, chat = update.effective_user, update.effective_chat
    if user is not None and user.is_bot:
        return False
    return chat is None or chat.type == Chat.PRIVATE


async def private_only(update: Update, context: BotContext) -> None:
    """Group -2, before anything reads or writes the member: stop every update that is not a
    private request, answering a group's command or button press with the invitation."""
    if is_private_request(update):
        return
    query, chat = update.callback_query, update.effective_chat
    try:
        if query is not None:
            await query.answer(await _invitation(update, context))
        elif chat is not None and _is_command_for_us(update.message, context.bot.username):
            await context.bot.send_message(chat.id, await _invitation(update, context))
    except TelegramError as exc:
        # A group whose admins took away the bot's right to write: nothing to be done there.
        log.info("no invitation in chat %s: %s", chat.id if chat else None, exc)
    raise ApplicationHandlerStop


def _is_command_for_us(message: Message | None, username: str) -> bool:
    """A /command at the start of a message, not addressed to another bot (/help@other_bot)."""
    if message is None or message.from_user is None or message.from_user.is_bot:
        return False
    text = message.text or ""
    if not text.startswith("/"):
        return False
    name, _, addressee = text.split(maxsplit=1)[0][1:].partition("@")
    return bool(name) and (not addressee or addressee.lower() == username.lower())


async def _invitation(update: Update, context: BotContext) -> str:
    """One line in the member's language (read, never written: nothing of a group is stored)."""
    user = update.effective_user
    member = None
    if user is not None:
        try:
            member = await users.get(context.engine, context.services.platform, user.id)
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            log.warning("could not read the member's language: %r", exc)  # the app's, then
    t = translator(locale_for(member, context.settings, user.language_code if user else None))
    link = context.features.chat_link.format(username=context.bot.username)
    return t._("I answer in a private chat only: open {link} and send /start there.").format(
        link=link
    )
