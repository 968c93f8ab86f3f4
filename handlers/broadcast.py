"""/broadcast (staff): write an announcement, choose who gets it, see how many it reaches, preview
exactly what they will get, confirm; then watch one message fill up as it is sent, with a cancel
button. Confirming writes a delivery per recipient before anything is sent (db/outbox.py); the
sender in the running bot does the sending (bot/sender.py).
"""

from __future__ import annotations

import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Callback, cb, parse, pattern
from bot.context import SERVICES_KEY, BotContext, Services
from bot.i18n import Translator, translator
from bot.journeys import conversation
from bot.keyboards import PAGE_SIZE, paged_picker
from bot.places import provinces as sorted_provinces
from bot.replies import say, show
from bot.staff import staff_only
from db import audit, outbox, users
from db.outbox import Announcement, Progress

log = logging.getLogger(__name__)

WRITING = 0
MAX_TEXT, MAX_CAPTION = 4096, 1024
PROGRESS_EVERY_S = 3.0


# --- writing ---------------------------------------------------------------------------------


@staff_only
async def begin(update: Update, context: BotContext) -> int:
    t = context.t
    await say(
        update,
        context,
        t._(
            "Write the announcement: a text, or one photo or document with a caption. "
            "Send /cancel to stop."
        ),
    )
    return WRITING


@staff_only
async def written(update: Update, context: BotContext) -> int | None:
    message = update.message
    assert message is not None
    t = context.t
    text, kind, file_id = _content(message)
    limit = MAX_CAPTION if kind else MAX_TEXT
    if len(text) > limit:
        await say(
            update,
            context,
            t._("That is {length} characters; at most {limit} fit. Please shorten it.").format(
                length=t.number(len(text)), limit=t.number(limit)
            ),
        )
        return WRITING
    if not text.strip() and not kind:
        await say(update, context, t._("Please send a text, a photo or a document."))
        return WRITING
    member = context.member
    draft = await outbox.draft(context.engine, member.platform, member.user_id, text, kind, file_id)
    await say(update, context, *await _audience_screen(context, draft))
    return ConversationHandler.END


def _content(message: Message) -> tuple[str, str | None, str | None]:
    if message.photo:
        return message.caption or "", "photo", message.photo[-1].file_id
    if message.document:
        return message.caption or "", "document", message.document.file_id
    return message.text or "", None, None


# --- the audience ------------------------------------------------------------------------------


async def _audience_screen(
    context: BotContext, draft: Announcement
) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    chains = await context.value_chains()
    reach = await users.audience_size(
        context.engine, draft.platform, set(draft.chains), set(draft.provinces)
    )
    text = "\n".join(
        [
            t._("Who should receive it?"),
            await _audience_line(context, draft),
            t._("It reaches {count} members.").format(count=t.number(reach)),
            "",
            t._("Tap value chains to choose them; none chosen means all."),
        ]
    )
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if c.code in draft.chains else "▫️ ") + c.name(t.locale),
                callback_data=cb("bc", "ch", f"{draft.id}.{c.code}"),
            )
        ]
        for c in chains
    ]
    rows.append(
        [InlineKeyboardButton(t._("📍 Provinces"), callback_data=cb("bc", "pv", f"{draft.id}.0"))]
    )
    rows.append(
        [
            InlineKeyboardButton(t._("👁 Preview"), callback_data=cb("bc", "pre", draft.id)),
            InlineKeyboardButton(t._("❌ Cancel"), callback_data=cb("bc", "x", draft.id)),
        ]
    )
    return text, InlineKeyboardMarkup(rows)


async def _audience_line(context: BotContext, draft: Announcement) -> str:
    t = context.t
    everyone = t._("all")
    chains = [c.name(t.locale) for c in await context.value_chains() if c.code in draft.chains]
    provinces = [
        p.name(t.locale)
        for p in sorted_provinces(context.reference, t.locale)
        if p.id in draft.provinces
    ]
    chains_text = t.join(chains) if chains else everyone
    return "\n".join(
        [
            t._("Value chains: {names}").format(names=chains_text),
            t._("Provinces: {names}").format(names=t.join(provinces) if provinces else everyone),
        ]
    )


async def _draft_of(update: Update, context: BotContext) -> tuple[Announcement, str] | None:
    """The draft a button names and the rest of its argument; None (answered) if it is gone."""
    query = update.callback_query
    assert query is not None
    data: Callback | None = parse(query.data)
    number, _, rest = (data.arg if data else "").partition(".")
    found = await outbox.get_announcement(context.engine, int(number)) if number.isdigit() else None
    if found is None or found.status != "draft" or found.platform != context.member.platform:
        await query.answer(
            context.t._("This announcement was already sent or cancelled."), show_alert=True
        )
        return None
    return found, rest


@staff_only
async def toggle_chain(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    draft, code = found
    known = {c.code for c in await context.value_chains()}
    chosen = set(draft.chains) ^ ({code} & known)
    await outbox.set_audience(context.engine, draft.id, chosen, set(draft.provinces))
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _refresh(update, context, draft.id)


async def _refresh(update: Update, context: BotContext, announcement_id: int) -> None:
    draft = await outbox.get_announcement(context.engine, announcement_id)
    assert draft is not None
    await show(update, context, *await _audience_screen(context, draft))


async def _province_screen(update: Update, context: BotContext, draft_id: int, page: int) -> None:
    draft = await outbox.get_announcement(context.engine, draft_id)
    assert draft is not None
    t = context.t
    options = [
        (
            ("✅ " if p.id in draft.provinces else "") + p.name(t.locale),
            cb("bc", "p", f"{draft.id}.{p.id}"),
        )
        for p in sorted_provinces(context.reference, t.locale)
    ]
    done = [[InlineKeyboardButton(t._("✔️ Done"), callback_data=cb("bc", "aud", draft.id))]]
    picker = paged_picker(t, options, page, lambda n: cb("bc", "pv", f"{draft.id}.{n}"), done)
    await show(update, context, t._("Tap provinces to choose them; none chosen means all."), picker)


@staff_only
async def provinces(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    draft, page = found
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _province_screen(update, context, draft.id, int(page) if page.isdigit() else 0)


@staff_only
async def toggle_province(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    draft, province_id = found
    known = set(context.reference.provinces)
    chosen = set(draft.provinces) ^ ({province_id} & known)
    await outbox.set_audience(context.engine, draft.id, set(draft.chains), chosen)
    assert update.callback_query is not None
    await update.callback_query.answer()
    # The same page again, with the tap shown.
    order = [p.id for p in sorted_provinces(context.reference, context.t.locale)]
    page = order.index(province_id) // PAGE_SIZE if province_id in order else 0
    await _province_screen(update, context, draft.id, page)


@staff_only
async def audience(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _refresh(update, context, found[0].id)


# --- preview, confirm, cancel ----------------------------------------------------------------------


@staff_only
async def preview(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    draft = found[0]
    t = context.t
    assert update.callback_query is not None and update.effective_chat is not None
    await update.callback_query.answer()
    await _send_as_members_get_it(context, update.effective_chat.id, draft)
    reach = await users.audience_size(
        context.engine, draft.platform, set(draft.chains), set(draft.provinces)
    )
    rows = [
        [
            InlineKeyboardButton(
                t._("✅ Send to {count} members").format(count=t.number(reach)),
                callback_data=cb("bc", "go", draft.id),
            )
        ],
        [
            InlineKeyboardButton(
                t._("✏️ Change the audience"), callback_data=cb("bc", "aud", draft.id)
            ),
            InlineKeyboardButton(t._("❌ Cancel"), callback_data=cb("bc", "x", draft.id)),
        ],
    ]
    text = t._("Above is exactly what each member will receive.") + "\n"
    text += await _audience_line(context, draft)
    await say(update, context, text, InlineKeyboardMarkup(rows))


async def _send_as_members_get_it(context: BotContext, chat_id: int, draft: Announcement) -> None:
    caption = draft.text or None
    if draft.media_kind == "photo" and draft.media_file_id:
        await context.bot.send_photo(chat_id, draft.media_file_id, caption=caption)
    elif draft.media_kind == "document" and draft.media_file_id:
        await context.bot.send_document(chat_id, draft.media_file_id, caption=caption)
    else:
        await context.bot.send_message(chat_id, draft.text)


@staff_only
async def confirm(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    draft = found[0]
    t = context.t
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    progress = await say(update, context, t._("📣 Preparing the announcement…"))
    queued = await outbox.queue_announcement(
        context.engine,
        draft.id,
        update.effective_chat.id,
        progress.message_id if progress else None,
    )
    await audit.record(
        context.engine,
        draft.platform,
        context.member.user_id,
        "broadcast",
        _audit_detail(draft, queued),
    )
    if queued == 0:
        await outbox.finish_announcement(context.engine, draft.id)
    await show(update, context, t._("Confirmed."))
    sent = await outbox.get_announcement(context.engine, draft.id)
    assert sent is not None
    await edit_progress(context.application, sent, await outbox.progress(context.engine, draft.id))


@staff_only
async def cancel_draft(update: Update, context: BotContext) -> None:
    found = await _draft_of(update, context)
    if found is None:
        return
    await outbox.cancel_announcement(context.engine, found[0].id)
    await audit.record(
        context.engine,
        found[0].platform,
        context.member.user_id,
        "broadcast_cancel",
        f"announcement {found[0].id}, before sending",
    )
    assert update.callback_query is not None
    await update.callback_query.answer()
    await show(update, context, context.t._("Cancelled. Nothing was sent."))


@staff_only
async def stop(update: Update, context: BotContext) -> None:
    """The cancel button under a running broadcast: what was sent stays counted."""
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    number = data.int_arg() if data else None
    found = await outbox.get_announcement(context.engine, number) if number is not None else None
    if found is None or found.status != "sending":
        await query.answer(
            context.t._("This announcement is no longer being sent."), show_alert=True
        )
        return
    await outbox.cancel_announcement(context.engine, found.id)
    await audit.record(
        context.engine,
        found.platform,
        context.member.user_id,
        "broadcast_stop",
        f"announcement {found.id}",
    )
    await query.answer()
    stopped = await outbox.get_announcement(context.engine, found.id)
    assert stopped is not None
    await edit_progress(
        context.application, stopped, await outbox.progress(context.engine, found.id)
    )


def _audit_detail(draft: Announcement, queued: int) -> str:
    """What the audit log keeps of a confirmed broadcast (the text itself stays in announcements)."""
    audience = (
        f"chains={','.join(draft.chains) or 'all'} provinces={','.join(draft.provinces) or 'all'}"
    )
    return f"announcement {draft.id} to {queued} members; {audience}"


# --- progress ----------------------------------------------------------------------------------


def progress_text(
    t: Translator, announcement: Announcement, figures: Progress, rate: float | None
) -> str:
    total = max(figures.total, 1)
    done = figures.total - figures.pending
    filled = round(10 * done / total)
    counts = t._("Sent: {sent} · Failed: {failed} · Blocked: {blocked}").format(
        sent=t.number(figures.sent),
        failed=t.number(figures.failed),
        blocked=t.number(figures.blocked),
    )
    if announcement.status == "cancelled":
        head = t._("⏹ Stopped. {sent} of {total} were sent before the stop.").format(
            sent=t.number(figures.sent), total=t.number(figures.total)
        )
        return f"{head}\n{counts}"
    if figures.pending == 0:
        head = t._("✅ Announcement sent to {total} members.").format(total=t.number(figures.total))
        return f"{head}\n{counts}"
    lines = [
        t._("📣 Sending the announcement…"),
        f"{'█' * filled}{'░' * (10 - filled)} {t.number(100 * done // total)}%",
        counts,
    ]
    if rate:
        minutes = max(1, round(figures.pending / rate / 60))
        lines.append(
            t._("{rate} a second · about {minutes} min left").format(
                rate=t.number(rate, decimals=1), minutes=t.number(minutes)
            )
        )
    return "\n".join(lines)


SAMPLES_KEY = "broadcast_progress"


async def edit_progress(
    application: Application,
    announcement: Announcement,
    figures: Progress,
) -> None:
    """Rewrite the staff member's progress message; mark the announcement done when nothing is left."""
    services: Services = application.bot_data[SERVICES_KEY]
    if announcement.status == "sending" and figures.pending == 0:
        await outbox.finish_announcement(services.engine, announcement.id)
        announcement = announcement.model_copy(update={"status": "done"})
    if announcement.progress_chat_id is None or announcement.progress_message_id is None:
        return
    staff = await users.get(services.engine, announcement.platform, announcement.created_by)
    t = translator(staff.locale if staff and staff.locale else services.settings.default_locale)
    # The last (time, sent) per announcement, to tell the rate; kept only while it runs.
    samples: dict[int, tuple[float, int]] = application.bot_data.setdefault(SAMPLES_KEY, {})
    now = time.monotonic()
    before = samples.get(announcement.id)
    rate = (figures.sent - before[1]) / (now - before[0]) if before and now > before[0] else None
    samples[announcement.id] = (now, figures.sent)
    running = announcement.status == "sending"
    markup = (
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t._("⏹ Stop sending"), callback_data=cb("bc", "stop", announcement.id)
                    )
                ]
            ]
        )
        if running
        else None
    )
    try:
        await application.bot.edit_message_text(
            progress_text(t, announcement, figures, rate),
            chat_id=announcement.progress_chat_id,
            message_id=announcement.progress_message_id,
            reply_markup=markup,
        )
    except BadRequest as exc:
        # "Not modified" is nothing new; a progress message deleted by the staff member only
        # stops being updated: the sending goes on.
        if "not modified" not in str(exc).lower():
            log.warning("progress of announcement %s not shown: %s", announcement.id, exc)
    if not running:
        samples.pop(announcement.id, None)


async def progress_round(application: Application) -> None:
    """Every few seconds while the bot runs: update every running broadcast's progress message."""
    services: Services = application.bot_data[SERVICES_KEY]
    for announcement in await outbox.announcements_in_progress(services.engine, services.platform):
        await edit_progress(
            application, announcement, await outbox.progress(services.engine, announcement.id)
        )


def build_handler() -> list[BaseHandler]:
    journey = conversation(
        "broadcast",
        entry_points=[CommandHandler("broadcast", begin)],
        states={
            WRITING: [
                MessageHandler(
                    (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL,
                    written,
                )
            ]
        },
        fallbacks=[],
    )
    return [
        journey,
        CallbackQueryHandler(toggle_chain, pattern=pattern("bc", "ch")),
        CallbackQueryHandler(provinces, pattern=pattern("bc", "pv")),
        CallbackQueryHandler(toggle_province, pattern=pattern("bc", "p")),
        CallbackQueryHandler(audience, pattern=pattern("bc", "aud")),
        CallbackQueryHandler(preview, pattern=pattern("bc", "pre")),
        CallbackQueryHandler(confirm, pattern=pattern("bc", "go")),
        CallbackQueryHandler(cancel_draft, pattern=pattern("bc", "x")),
        CallbackQueryHandler(stop, pattern=pattern("bc", "stop")),
    ]
