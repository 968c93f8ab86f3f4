"""/status: an application's status by its tracking code; its details once the phone matches.

The code alone shows kind, status and date. The subject and the next step are shown only after the
member shares their phone (Telegram vouches it is theirs) and it is the applicant's; the stored
number is never shown. Unknown codes are limited per member, so codes cannot be guessed.
"""

from __future__ import annotations

import datetime as dt
import math

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import cb, parse, pattern
from bot.context import BotContext
from bot.i18n import N_, all_translations
from bot.journeys import conversation
from bot.keyboards import MENU_STATUS
from bot.labels import APPLICATION_KINDS, APPLICATION_STATUSES
from bot.replies import say, show_menu
from db import applications, lookups
from db.models import Application

CODE, PHONE = range(2)
END = ConversationHandler.END

UNKNOWN_LIMIT = 5
UNKNOWN_WINDOW = dt.timedelta(minutes=10)
# How long after a look-up the member may still prove it is theirs.
PHONE_WINDOW = dt.timedelta(minutes=30)
JOURNEY = "status"
NOT_NOW = N_("↩️ Not now")


async def ask_code(update: Update, context: BotContext) -> int:
    t = context.t
    await say(
        update,
        context,
        t._(
            "Send the tracking code of your application or registration "
            "(6 to 20 letters and digits, as on your receipt):"
        ),
    )
    return CODE


async def command(update: Update, context: BotContext) -> int:
    """`/status` asks for the code; `/status CODE` looks it up at once."""
    typed = " ".join(context.args or [])
    return await look_up(update, context, typed) if typed else await ask_code(update, context)


async def deep_link(update: Update, context: BotContext) -> int:
    """`/start status_CODE`, from a link staff send out."""
    payload = (context.args or [""])[0]
    return await look_up(update, context, payload.removeprefix("status_"))


async def typed_code(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.text is not None
    return await look_up(update, context, update.message.text)


async def look_up(update: Update, context: BotContext, typed: str) -> int:
    t = context.t
    member = context.member
    code = applications.clean_code(typed)
    if not applications.is_code(code):
        await say(
            update,
            context,
            t._(
                "“{typed}” is not a tracking code. A tracking code has 6 to 20 English letters "
                "and digits, for example AB123456. Please send it again:"
            ).format(typed=typed.strip()[:40]),
        )
        return CODE
    # Every code tried counts as unknown until it is found (so that the limit holds however many
    # of the member's updates are handled at once), even a right one once the limit is reached:
    # no guessing by elimination.
    attempt = await lookups.record_within_limit(
        context.engine,
        member.platform,
        member.user_id,
        JOURNEY,
        "unknown",
        code,
        UNKNOWN_LIMIT,
        UNKNOWN_WINDOW,
    )
    if attempt is None:
        wait = await _wait_minutes(context)
        await show_menu(
            update,
            context,
            t.ngettext(
                "Too many unknown codes in a short time. Please try again in {minutes} minute.",
                "Too many unknown codes in a short time. Please try again in {minutes} minutes.",
                wait,
            ).format(minutes=t.number(wait)),
        )
        return END
    found = await applications.get(context.engine, code)
    if found is None:
        await say(
            update,
            context,
            t._(
                "No application has the tracking code {code}. Please check it against your "
                "receipt and send it again, or /cancel."
            ).format(code=code),
        )
        return CODE
    await lookups.settle(context.engine, attempt, "ok")
    text = "\n\n".join(
        [
            _card(context, found, verified=False),
            t._(
                "To see what it is about and what to do next, share the phone number you "
                "applied with. Your number is only compared, never shown."
            ),
        ]
    )
    await say(update, context, text, _phone_keyboard(context))
    return PHONE


async def _wait_minutes(context: BotContext) -> int:
    """Minutes (at least one) until the member, at the limit, may try another code."""
    member = context.member
    oldest = await lookups.oldest_since(
        context.engine, member.platform, member.user_id, JOURNEY, "unknown", UNKNOWN_WINDOW
    )
    if oldest is None:  # the window emptied since the limit was reached: try again at once
        return 1
    left = oldest + UNKNOWN_WINDOW - dt.datetime.now(dt.UTC)
    return max(1, math.ceil(left.total_seconds() / 60))


def _phone_keyboard(context: BotContext) -> ReplyKeyboardMarkup:
    t = context.t
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t._("📱 Share my phone number"), request_contact=True)],
            [KeyboardButton(t._(NOT_NOW))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _card(context: BotContext, found: Application, verified: bool) -> str:
    t = context.t
    lines = [
        t._("Tracking code: {code}").format(code=found.tracking_code),
        t._("Kind: {kind}").format(kind=t._(APPLICATION_KINDS.get(found.kind, found.kind))),
    ]
    if verified:
        lines.append(t._("Subject: {subject}").format(subject=t.digits(found.subject)))
    lines += [
        t._("Status: {status}").format(
            status=t._(APPLICATION_STATUSES.get(found.status, found.status))
        ),
        t._("Last change: {date}").format(date=t.date(found.updated_on)),
    ]
    if verified and found.note(t.locale):
        lines += ["", t._("Next step: {note}").format(note=t.digits(found.note(t.locale)))]
    return "\n".join(lines)


async def contact(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.contact is not None
    t = context.t
    member = context.member
    shared = update.message.contact
    if shared.user_id != member.user_id:
        await say(
            update,
            context,
            t._("Please share your own number with the button below, not someone else's."),
            _phone_keyboard(context),
        )
        return PHONE
    code = await lookups.latest_detail(
        context.engine, member.platform, member.user_id, JOURNEY, "ok", PHONE_WINDOW
    )
    found = await applications.get(context.engine, code) if code else None
    if found is None:
        return await ask_code(update, context)
    if not applications.belongs_to(found, shared.phone_number):
        await lookups.record(
            context.engine,
            member.platform,
            member.user_id,
            JOURNEY,
            "mismatch",
            found.tracking_code,
        )
        await show_menu(
            update,
            context,
            t._(
                "That number is not the one this application was made with, so its details stay "
                "private. If you think this is wrong, please contact your cooperative office."
            ),
        )
        return END
    await lookups.record(
        context.engine, member.platform, member.user_id, JOURNEY, "verified", found.tracking_code
    )
    history = await applications.history(context.engine, found.tracking_code)
    text = _card(context, found, verified=True)
    if len(history) > 1:
        steps = [
            t._("• {date}: {status}").format(
                date=t.date(step.changed_on),
                status=t._(APPLICATION_STATUSES.get(step.status, step.status)),
            )
            for step in history
        ]
        text += "\n\n" + t._("History:") + "\n" + "\n".join(steps)
    notify = InlineKeyboardButton(
        t._("🔔 Tell me when it changes"), callback_data=cb("status", "watch", found.tracking_code)
    )
    await say(update, context, text, InlineKeyboardMarkup([[notify]]))
    await show_menu(update, context)
    return END


async def watch(update: Update, context: BotContext) -> None:
    """ "Notify me": only for a member who proved the application is theirs."""
    query = update.callback_query
    assert query is not None
    t = context.t
    member = context.member
    data = parse(query.data)
    code = applications.clean_code(data.arg) if data else ""
    verified = await lookups.exists(
        context.engine, member.platform, member.user_id, JOURNEY, "verified", code
    )
    if not verified or await applications.get(context.engine, code) is None:
        await query.answer()
        await say(
            update,
            context,
            t._("Please check the application with /status and share your phone first."),
        )
        return
    await applications.watch(
        context.engine, code, member.platform, member.user_id, member.chat_id, t.locale
    )
    await query.answer()
    await say(
        update,
        context,
        t._("Done. I will send you a message when the status of {code} changes.").format(code=code),
    )


async def phone_hint(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.text is not None
    typed = update.message.text
    # A typed phone number proves nothing (anyone can type one); another code is a new look-up.
    if applications.clean_phone(typed) is None and applications.is_code(typed):
        return await look_up(update, context, typed)
    await say(
        update,
        context,
        context.t._("Please share your number with the button below, or /cancel."),
        _phone_keyboard(context),
    )
    return PHONE


async def not_now(update: Update, context: BotContext) -> int:
    await show_menu(update, context)
    return END


async def use_text(update: Update, context: BotContext) -> None:
    await say(
        update, context, context.t._("Please type the tracking code as text, or send /cancel.")
    )


def build_handler() -> list[BaseHandler]:
    text = filters.TEXT & ~filters.COMMAND
    not_now_button = filters.Text(sorted(all_translations(NOT_NOW)))
    journey = conversation(
        "status",
        entry_points=[
            CommandHandler("status", command),
            CommandHandler("start", deep_link, filters.Regex(r"^/start status_")),
            MessageHandler(filters.Text(sorted(all_translations(MENU_STATUS))), ask_code),
        ],
        states={
            CODE: [MessageHandler(text, typed_code)],
            PHONE: [
                MessageHandler(filters.CONTACT, contact),
                MessageHandler(not_now_button, not_now),
                MessageHandler(text, phone_hint),
            ],
        },
        fallbacks=[
            MessageHandler(~filters.COMMAND, use_text),
        ],
        allow_reentry=True,
    )
    return [journey, CallbackQueryHandler(watch, pattern=pattern("status", "watch"))]
