"""Keyboards every journey shares: the main menu and paged pickers of inline buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import N_, Translator

# Main-menu labels: each is also how the menu button is recognised when pressed (in any language).
MENU_PROGRAMS = N_("📋 Support programs")
MENU_STATUS = N_("🔎 Application status")
MENU_NEARBY = N_("🧭 Cooperatives near me")
MENU_PROFILE = N_("📍 My province and chain")
MENU_SUBSCRIBE = N_("🔔 Announcements")
MENU_LANGUAGE = N_("🌐 Language")
MENU_HELP = N_("❓ Help")

# Only journeys that exist get a button; each later journey adds its own row here.
MAIN_MENU_ROWS: tuple[tuple[str, ...], ...] = (
    (MENU_PROGRAMS,),
    (MENU_STATUS, MENU_NEARBY),
    (MENU_PROFILE, MENU_SUBSCRIBE),
    (MENU_LANGUAGE, MENU_HELP),
)

PAGE_SIZE = 8
COLUMNS = 2


def main_menu(t: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t._(label)) for label in row] for row in MAIN_MENU_ROWS],
        resize_keyboard=True,
        is_persistent=True,
    )


def paged_picker(
    t: Translator,
    options: Sequence[tuple[str, str]],
    page: int,
    page_data: Callable[[int], str],
    extra_rows: Sequence[Sequence[InlineKeyboardButton]] = (),
    columns: int = COLUMNS,
    page_size: int = PAGE_SIZE,
) -> InlineKeyboardMarkup:
    """Options (label, callback data) two to a row, PAGE_SIZE a page, with previous/next buttons
    whose callback data `page_data(n)` gives.

    A page number out of range (an old message, a forged payload) shows the nearest page instead.
    """
    pages = max(1, -(-len(options) // page_size))
    page = min(max(page, 0), pages - 1)
    shown = options[page * page_size : (page + 1) * page_size]
    rows = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in shown[i : i + columns]]
        for i in range(0, len(shown), columns)
    ]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(t._("⬅️ Previous"), callback_data=page_data(page - 1)))
    if pages > 1:
        label = t._("Page {page} of {pages}").format(page=t.number(page + 1), pages=t.number(pages))
        nav.append(InlineKeyboardButton(label, callback_data=page_data(page)))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(t._("Next ➡️"), callback_data=page_data(page + 1)))
    if nav:
        rows.append(nav)
    rows.extend(list(row) for row in extra_rows)
    return InlineKeyboardMarkup(rows)
