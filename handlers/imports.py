"""Staff import a spreadsheet by sending it to the bot: the same as `coopbot import`, from a phone.

The caption names what the file holds (and may ask for a dry run); the answer is the import report
in the staff member's language. A member who is not staff and sends a file gets the fallback's answer.
"""

from __future__ import annotations

import re

from telegram import Document, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import N_, Translator, all_translations
from bot.notify import queue_status_notices
from bot.replies import say
from bot.text import ZWNJ, normalize, search_key
from db.importers import KINDS, ImportFileError, format_report, import_file
from db.sheets import SUFFIXES
from handlers import fallback

# getFile serves files up to 20 MB on Telegram and on Bale.
MAX_BYTES = 20 * 1024 * 1024
MESSAGE_LIMIT = 4096

# The words a caption may use to name the kind, recognised in every language (their translations):
# the plural as the list of kinds shows it, and the singular staff may type instead.
KIND_WORDS = {
    "cooperatives": (N_("cooperatives"), N_("cooperative")),
    "programs": (N_("programs"), N_("program")),
    "applications": (N_("applications"), N_("application")),
    "value-chains": (N_("value-chains"), N_("value-chain")),
}
DRY_RUN = N_("dry-run")


_WORD = re.compile(r"[\w-]+")


def _fold(text: str) -> list[str]:
    """Caption words in one spelling: "تعاونی‌ها", "تعاونیها", "Value_Chains" all compare equal."""
    words = _WORD.findall(search_key(normalize(text).replace(ZWNJ, "")).replace("_", "-"))
    return [word.strip("-") for word in words]


def _said(message: str, words: set[str]) -> bool:
    """Whether the caption's words hold the message, in any language."""
    return any(set(_fold(translation)) <= words for translation in all_translations(message))


def read_caption(caption: str) -> tuple[str | None, bool]:
    """The kind the caption names (None if none, or more than one) and whether it asks for a dry run."""
    words = set(_fold(caption))
    kinds = [kind for kind in KINDS if any(_said(word, words) for word in KIND_WORDS[kind])]
    return (kinds[0] if len(kinds) == 1 else None), _said(DRY_RUN, words)


def _how_to_caption(t: Translator) -> str:
    kinds = "\n".join(f"• {t._(KIND_WORDS[kind][0])}" for kind in KINDS)
    return t._(
        "To import a file, send it again with a caption that says what it holds:\n{kinds}\n"
        "Add “{dry_run}” to the caption to check the file without writing anything."
    ).format(kinds=kinds, dry_run=t._(DRY_RUN))


def _refusal(document: Document, t: Translator) -> str | None:
    """Why this file cannot be imported before it is even downloaded, if it cannot."""
    name = (document.file_name or "").lower()
    if not name.endswith(SUFFIXES):
        return t._(
            "I can import only .csv and .xlsx files. Save the spreadsheet in one of these "
            "formats and send it again."
        )
    if (document.file_size or 0) > MAX_BYTES:
        return t._(
            "This file is larger than 20 MB, more than the bot can download. Split it into "
            "smaller files, or import it on the server with coopbot import."
        )
    return None


async def receive(update: Update, context: BotContext) -> None:
    if not context.is_staff:
        # Filters see only the update, not the settings that say who is staff: so the handler
        # matches every document and hands a member's to the fallback, which answered it before.
        await fallback.unexpected(update, context)
        return
    message = update.effective_message
    assert message is not None and message.document is not None
    document, t = message.document, context.t
    refusal = _refusal(document, t)
    if refusal is not None:
        await say(update, context, refusal)
        return
    kind, dry_run = read_caption(message.caption or "")
    if kind is None:
        await say(update, context, _how_to_caption(t))
        return
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    try:
        report = await import_file(
            context.engine,
            kind,
            data,
            filename=document.file_name,
            dry_run=dry_run,
            actor_id=context.member.user_id,
            platform=context.services.platform,
        )
    except ImportFileError as exc:
        reason = exc.text(t._, t.number)
        await say(update, context, t._("The file was not imported: {reason}").format(reason=reason))
        return
    if report.ok:  # as `coopbot import` does: members who asked are told of a new status
        await queue_status_notices(context.engine, report.status_changes)
    await say(update, context, format_report(report, t._, t.number, limit=MESSAGE_LIMIT))


def build_handler() -> list[BaseHandler]:
    return [MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, receive)]
