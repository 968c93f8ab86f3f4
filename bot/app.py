"""build_application: one python-telegram-bot Application for Telegram or Bale, every journey wired in."""

from __future__ import annotations

import logging
import os
import secrets
import socket

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, Update
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest

from bot.context import SERVICES_KEY, BotContext, Services, locale_for
from bot.groups import is_private_request, private_only
from bot.i18n import LOCALES, N_, translator
from bot.journeys import journey_of_button, leave_journeys, starts_afresh
from bot.persistence import DatabasePersistence
from bot.refusals import PlatformRateLimiter, is_too_late_to_answer
from bot.sender import Sender
from bot.settings import Settings
from bot.updates import ChatOrderedProcessor
from db import users
from db.engine import is_unreachable
from db.reference import reference
from handlers import broadcast, build_handlers

log = logging.getLogger(__name__)
SENDER_KEY = "sender"
DELIVER_ONLY_KEY = "deliver_only"

# The command menu (setMyCommands): only commands that exist, each described in both languages.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("menu", N_("Main menu")),
    ("programs", N_("Support programs: loans, grants, insurance")),
    ("status", N_("Check an application by its tracking code")),
    ("nearby", N_("Cooperatives of your value chain near you")),
    ("subscribe", N_("Choose which announcements you receive")),
    ("start", N_("Set up province, county and value chain")),
    ("language", N_("Persian or English")),
    ("help", N_("What this bot can do")),
    ("cancel", N_("Stop what you are doing")),
)


def build_application(
    settings: Settings,
    engine: AsyncEngine,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    deliver_only: frozenset[int] | None = None,
) -> Application:
    """The bot. With `request` (the offline double) it talks to no network and polls nothing.
    With `deliver_only`, its sender delivers only what the outbox holds for those members (the
    terminal chat plays them; everyone else's deliveries are left for `coopbot run`)."""
    builder = (
        Application.builder()
        .token(token or settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .context_types(ContextTypes(context=BotContext))
        .post_init(_started)
        .post_stop(_stopping)
        .persistence(DatabasePersistence(engine, settings.platform))
        .concurrent_updates(ChatOrderedProcessor())
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request).updater(None)
    else:
        builder = builder.rate_limiter(PlatformRateLimiter())  # type: ignore[arg-type]
    application = builder.build()
    application.bot_data[SERVICES_KEY] = Services(settings, engine, reference())
    application.bot_data[DELIVER_ONLY_KEY] = deliver_only
    application.add_handler(TypeHandler(Update, private_only), group=-2)
    application.add_handler(TypeHandler(Update, load_member), group=-1)
    application.add_handlers(build_handlers())
    application.add_error_handler(on_error)
    return application


async def load_member(update: Update, context: BotContext) -> None:
    """Group -1: every update from a person in their private chat (bot/groups.py let no other
    through) first records them and loads their stored profile."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or user.is_bot:
        return
    context.language_code = user.language_code
    context.member = await users.touch(
        context.engine,
        context.services.platform,
        user.id,
        chat.id if chat is not None else user.id,
        user.first_name or "",
    )
    if chat is not None and starts_afresh(update):
        context.left_journey = leave_journeys(update, context.application)
    elif chat is not None and (journey := journey_of_button(update)) is not None:
        leave_journeys(update, context.application, keep=journey)


async def _started(application: Application) -> None:
    """`coopbot run` only (PTB calls this from run_polling and run_webhook): publish the
    command menus and start sending what the outbox holds."""
    await publish_commands(application)
    services: Services = application.bot_data[SERVICES_KEY]
    # Unique to this process, also after a restart that reuses its pid: leases name their holder.
    worker = f"{services.platform}-{os.getpid()}-{secrets.token_hex(4)}-{socket.gethostname()}"
    sender = Sender(
        application.bot,
        services.engine,
        services.platform,
        services.settings.broadcast_rate,
        worker[:64],
        only_users=application.bot_data[DELIVER_ONLY_KEY],
    )
    application.bot_data[SENDER_KEY] = sender
    sender.start()
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            lambda context: broadcast.progress_round(context.application),
            interval=broadcast.PROGRESS_EVERY_S,
            name="broadcast-progress",
        )


async def _stopping(application: Application) -> None:
    sender: Sender | None = application.bot_data.get(SENDER_KEY)
    if sender is not None:
        await sender.stop()


async def publish_commands(application: Application) -> None:
    settings: Settings = application.bot_data[SERVICES_KEY].settings
    for locale in LOCALES:
        t = translator(locale)
        commands = [BotCommand(name, t._(description)) for name, description in COMMANDS]
        try:
            await application.bot.set_my_commands(commands, language_code=locale)
            if locale == settings.default_locale:
                await application.bot.set_my_commands(commands)
        except TelegramError as exc:
            # A platform without command menus (or a network hiccup) must not stop the bot.
            log.warning("could not publish the %s command menu: %s", locale, exc)


async def on_error(update: object, context: BotContext) -> None:
    """Log what broke with the update id; apologise to the member in their language, no traceback.

    Nothing more is done for an update that failed: python-telegram-bot would go on to the next
    group of handlers, and a journey would run after its member failed to load (the apology,
    then the menu as if nothing were wrong, or a second apology)."""
    update_id = update.update_id if isinstance(update, Update) else None
    if (
        update is None
        and isinstance(context.error, NetworkError)
        and not isinstance(context.error, BadRequest)  # PTB files BadRequest under NetworkError
    ):
        # The Bot API away for a moment (polling retries by itself): an event, not a bug.
        log.warning("Bot API unreachable, retrying: %s", context.error)
        return
    if update is None and context.error is not None and is_unreachable(context.error):
        # The database away for a while, met by background work (persistence keeps the states
        # it could not write and tries again; the sender and the progress job go on): an event.
        log.warning("database unreachable, retrying: %r", context.error)
        return
    if isinstance(context.error, TelegramError) and is_too_late_to_answer(context.error):
        # No fault of ours, and nothing to apologise for: that press has had its answer.
        log.warning("update %s: a button press too late to answer: %s", update_id, context.error)
        raise ApplicationHandlerStop
    log.error("update %s failed: %r", update_id, context.error, exc_info=context.error)
    if not isinstance(update, Update):
        return
    # Nothing is ever said in a group or channel but the invitation (bot/groups.py).
    if is_private_request(update) and update.effective_chat is not None:
        await _apologise(update, context, update.effective_chat.id)
    raise ApplicationHandlerStop


async def _apologise(update: Update, context: BotContext, chat_id: int) -> None:
    settings: Settings = context.services.settings
    user = update.effective_user
    member = None
    if user is not None:
        try:
            member = await users.get(context.engine, settings.platform, user.id)
        except Exception:  # the database may be what failed; still apologise
            log.warning("could not load the member to apologise in their language")
    t = translator(locale_for(member, settings, user.language_code if user else None))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
    except TelegramError:
        pass  # the journey answered the press before it failed: the apology still goes
    try:
        await context.bot.send_message(
            chat_id,
            t._("Sorry, something went wrong on our side. Please try again, or send /menu."),
        )
    except TelegramError as exc:
        log.warning("could not apologise for update %s: %s", update.update_id, exc)
