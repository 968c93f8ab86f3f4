"""A command or a main-menu button starts afresh: whatever journey the member was in is left;
a button of one journey, pressed while in another, leaves the other.

Without this a member who abandons one conversation (say, half-way through choosing a county) and
opens another would find their next free text read as the old step's answer. python-telegram-bot
has no public way to end a ConversationHandler's conversation from outside (see its issues 1447,
1640 and 4835); `_update_state(END, key)` is the same call the handler makes when a step returns
END, so persistence records the end as usual.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler
from telegram.warnings import PTBUserWarning

from bot.callbacks import parse
from bot.i18n import all_translations
from bot.keyboards import MAIN_MENU_ROWS

_MENU_LABELS = frozenset(
    label for row in MAIN_MENU_ROWS for message in row for label in all_translations(message)
)


# The conversation each journey's buttons belong to (bot/callbacks.py: `journey:action:arg`);
# the journeys not listed have buttons but no conversation.
CONVERSATION_OF = {
    "start": "start",
    "prog": "programs",
    "near": "nearby",
    "status": "status",
    "bc": "broadcast",
}


Handlers = list[BaseHandler[Update, Any, Any]]


def conversation(
    name: str,
    *,
    entry_points: Handlers,
    states: dict[object, Handlers],
    fallbacks: Handlers,
    allow_reentry: bool = False,
) -> ConversationHandler[Any]:
    """A journey's conversation, its state kept across restarts under `name`.

    per_message stays False on purpose: every button says which journey and step it is for
    (bot/callbacks.py), so python-telegram-bot's warning that it cannot track buttons per message
    does not apply and is silenced here, once for every journey."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry_points,
            states=states,
            fallbacks=fallbacks,
            allow_reentry=allow_reentry,
            name=name,
            persistent=True,
        )


def starts_afresh(update: Update) -> bool:
    message = update.message
    text = (message.text or "") if message is not None else ""
    return text.startswith("/") or text in _MENU_LABELS


def journey_of_button(update: Update) -> str | None:
    """The conversation a pressed button belongs to ("" for a journey without one); None when the
    update is no button press of ours."""
    query = update.callback_query
    data = parse(query.data) if query is not None else None
    return None if data is None else CONVERSATION_OF.get(data.journey, "")


def leave_journeys(update: Update, application: Application, keep: str | None = None) -> bool:
    """End every conversation this member is in (but `keep`); True if there was one."""
    left = False
    for handlers in application.handlers.values():
        for handler in handlers:
            if not isinstance(handler, ConversationHandler) or handler.name == keep:
                continue
            key = handler._get_key(update)
            if key in handler._conversations:
                handler._update_state(ConversationHandler.END, key)
                left = True
    return left
