"""/programs: support programs by category, "for me", or by words; a card for each program; a few
yes/no questions narrow "for me" and are saved to the member's profile.

Every button names what it shows (`prog:card:<id>.<list>.<page>`), so it works from an old message
or after a restart; while browsing, typed words are a search.
"""

from __future__ import annotations

import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import Callback, cb, parse, pattern
from bot.context import BotContext
from bot.i18n import N_, Translator, all_translations
from bot.journeys import conversation
from bot.keyboards import MENU_PROGRAMS, paged_picker
from bot.labels import ELIGIBILITY_TAGS, PROGRAM_CATEGORIES
from bot.replies import say, show
from bot.text import normalize
from db import chains, lookups, programs, users
from db.models import Program

BROWSING, WORDS = range(2)
JOURNEY = "programs"
MINE, SEARCHED = "mine", "s"
PAGE_SIZE = 6
SEARCH_MEMORY = dt.timedelta(days=1)

QUESTIONS = {
    "women": N_("Is your cooperative led by women?"),
    "rural": N_("Is your cooperative in a village?"),
    "border": N_("Is it in a border county?"),
    "deprived_area": N_("Is it in a deprived area?"),
    "knowledge_based": N_("Is it a knowledge-based cooperative?"),
}


# --- the programs home --------------------------------------------------------------------------


async def home(update: Update, context: BotContext) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    return await _show_home(update, context)


async def _stale(update: Update, context: BotContext) -> int:
    """A button whose list or program is gone (or a forged one): say so and show the home; a
    button press is answered once (the Bot API refuses a second answer)."""
    assert update.callback_query is not None
    await update.callback_query.answer(context.t._("That choice is no longer available."))
    return await _show_home(update, context)


async def _show_home(update: Update, context: BotContext) -> int:
    t = context.t
    counts = await programs.category_counts(context.engine)
    categories = [
        InlineKeyboardButton(
            f"{t._(label)} ({t.number(counts[code])})",
            callback_data=cb("prog", "list", f"{code}.0"),
        )
        for code, label in PROGRAM_CATEGORIES.items()
        if counts.get(code)
    ]
    rows = [
        [
            InlineKeyboardButton(
                t._("⭐ Programs for me"), callback_data=cb("prog", "list", "mine.0")
            )
        ]
    ]
    rows += [categories[i : i + 2] for i in range(0, len(categories), 2)]
    rows.append(
        [InlineKeyboardButton(t._("🔍 Search by words"), callback_data=cb("prog", "words"))]
    )
    rows.append(
        [
            InlineKeyboardButton(
                t._("✅ Questions that narrow my list"), callback_data=cb("prog", "ask", "0")
            )
        ]
    )
    text = t._(
        "Support programs for cooperatives: loans, grants, guarantees, insurance and more. "
        "Choose how to look, or type a few words to search."
    )
    await show(update, context, text, InlineKeyboardMarkup(rows))
    return BROWSING


# --- lists ---------------------------------------------------------------------------------------


async def _programs_of(context: BotContext, which: str) -> tuple[str, list[Program]] | None:
    """The heading and programs of a list; None when the list cannot be rebuilt (a stale search)."""
    t = context.t
    member = context.member
    if which == MINE:
        found = await programs.matching(
            context.engine, chain=member.value_chain, province=member.province_id, tags=member.tags
        )
        heading = t._("Programs for you ({count}), by your province, value chain and answers:")
        if not (member.value_chain or member.province_id):
            heading += "\n" + t._(
                "Set your province and chain with “📍 My province and chain” for a shorter list."
            )
        return heading.format(count=t.number(len(found))), found
    if which == SEARCHED:
        words = await lookups.latest_detail(
            context.engine, member.platform, member.user_id, JOURNEY, "search", SEARCH_MEMORY
        )
        if not words:
            return None
        found = await programs.search(context.engine, words)
        heading = t._("Programs matching “{words}” ({count}):")
        return heading.format(words=words, count=t.number(len(found))), found
    if which in PROGRAM_CATEGORIES:
        found = await programs.in_category(context.engine, which)
        heading = t._("{category} ({count}):").format(
            category=t._(PROGRAM_CATEGORIES[which]), count=t.number(len(found))
        )
        return heading, found
    return None


def _list_markup(
    t: Translator, found: list[Program], which: str, page: int
) -> InlineKeyboardMarkup:
    today = dt.date.today()
    options = [
        (
            ("🟢 " if p.is_open(today) else "⚪️ ") + t.digits(p.title(t.locale)),
            cb("prog", "card", f"{p.program_id}.{which}.{page}"),
        )
        for p in found
    ]
    back = [InlineKeyboardButton(t._("⬅️ All programs"), callback_data=cb("prog", "home"))]
    return paged_picker(
        t,
        options,
        page,
        lambda n: cb("prog", "list", f"{which}.{n}"),
        [back],
        columns=1,
        page_size=PAGE_SIZE,
    )


async def show_list(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    which, page = _list_ref(parse(query.data))
    return await _show_list(update, context, which, page)


async def _show_list(update: Update, context: BotContext, which: str, page: int) -> int:
    query = update.callback_query
    assert query is not None
    listed = await _programs_of(context, which) if which else None
    if listed is None:
        return await _stale(update, context)
    await query.answer()
    heading, found = listed
    await _record(context, which)
    await show(
        update,
        context,
        _empty_or(context.t, heading, found),
        _list_markup(context.t, found, which, page),
    )
    return BROWSING


def _empty_or(t: Translator, heading: str, found: list[Program]) -> str:
    if found:
        return heading
    return heading + "\n" + t._("None for now. Try another category, or search by words.")


def _list_ref(data: Callback | None) -> tuple[str, int]:
    """`which.page` from a list button; ("", 0) when it does not parse."""
    which, _, page = (data.arg if data else "").rpartition(".")
    return (which, int(page)) if which and page.isdigit() else ("", 0)


async def _record(context: BotContext, which: str, outcome: str = "ok") -> None:
    member = context.member
    await lookups.record(context.engine, member.platform, member.user_id, JOURNEY, outcome, which)


# --- a program's card ----------------------------------------------------------------------------


async def card(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    t = context.t
    data = parse(query.data)
    program_id, _, ref = (data.arg if data else "").partition(".")
    found = await programs.get(context.engine, program_id) if program_id else None
    if found is None:
        return await _stale(update, context)
    await query.answer()
    back = InlineKeyboardButton(
        t._("⬅️ Back to the list"), callback_data=cb("prog", "list", ref or "mine.0")
    )
    await show(update, context, await _card_text(context, found), InlineKeyboardMarkup([[back]]))
    return BROWSING


async def _card_text(context: BotContext, p: Program) -> str:
    t = context.t
    locale = t.locale
    lines = [f"📋 {p.title(locale)}"]
    if p.provider_fa:
        lines.append(t._("Run by: {provider}").format(provider=p.provider_fa))
    lines += [
        "",
        p.summary(locale),
        "",
        t._("Who can use it: {who}").format(who=await _who(context, p)),
    ]
    lines.append(_when(t, p, dt.date.today()))
    if p.how_to_apply(locale):
        lines += ["", t._("How to apply: {how}").format(how=p.how_to_apply(locale))]
    # Imports read Persian digits as ASCII; a Persian reader gets them back in Persian.
    return t.digits("\n".join(lines))


async def _who(context: BotContext, p: Program) -> str:
    t = context.t
    names = {c.code: c.name(t.locale) for c in await chains.all_chains(context.engine)}
    provinces = context.reference.provinces
    parts = [t._(ELIGIBILITY_TAGS.get(tag, tag)) for tag in p.eligibility]
    parts += [names.get(code, code) for code in p.value_chains]
    parts += [provinces[pid].name(t.locale) if pid in provinces else pid for pid in p.provinces]
    return " · ".join(parts) if parts else t._("all cooperatives")


def _when(t: Translator, p: Program, today: dt.date) -> str:
    if p.opens_on and today < p.opens_on:
        return t._("🕒 Opens on {date}").format(date=t.date(p.opens_on))
    if p.closes_on and p.closes_on < today:
        return t._("⚪️ Closed on {date}").format(date=t.date(p.closes_on))
    if p.closes_on:
        return t._("🟢 Open until {date}").format(date=t.date(p.closes_on))
    return t._("🟢 Open now")


# --- searching by words ----------------------------------------------------------------------------


async def ask_words(update: Update, context: BotContext) -> int:
    t = context.t
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(
        update, context, t._("Type a few words, for example “insurance” or “beekeeping loan”:")
    )
    return WORDS


async def search(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.text is not None
    t = context.t
    words = normalize(update.message.text)[:64]
    member = context.member
    await lookups.record(context.engine, member.platform, member.user_id, JOURNEY, "search", words)
    found = await programs.search(context.engine, words)
    if not found:
        back = InlineKeyboardButton(t._("⬅️ All programs"), callback_data=cb("prog", "home"))
        await say(
            update,
            context,
            t._("No program matches “{words}”. Try other words, or browse by category.").format(
                words=words
            ),
            InlineKeyboardMarkup([[back]]),
        )
        return WORDS
    heading = t._("Programs matching “{words}” ({count}):").format(
        words=words, count=t.number(len(found))
    )
    await say(update, context, heading, _list_markup(t, found, SEARCHED, 0))
    return BROWSING


# --- yes/no questions ------------------------------------------------------------------------------


async def question(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    return await _ask(update, context, data.int_arg() if data else None)


async def _ask(update: Update, context: BotContext, index: int | None) -> int:
    """Ask question number `index`; after the last, show "programs for me"."""
    query = update.callback_query
    assert query is not None
    t = context.t
    tags = list(QUESTIONS)
    if index is None or index >= len(tags):
        return await _show_list(update, context, MINE, 0)
    await query.answer()
    tag = tags[index]
    buttons = [
        InlineKeyboardButton(t._("Yes"), callback_data=cb("prog", "yes", f"{tag}.{index + 1}")),
        InlineKeyboardButton(t._("No"), callback_data=cb("prog", "no", f"{tag}.{index + 1}")),
        InlineKeyboardButton(t._("Skip ⏭"), callback_data=cb("prog", "ask", index + 1)),
    ]
    progress = t._("Question {n} of {total}").format(
        n=t.number(index + 1), total=t.number(len(tags))
    )
    await show(
        update, context, f"{progress}\n{t._(QUESTIONS[tag])}", InlineKeyboardMarkup([buttons])
    )
    return BROWSING


async def answer(update: Update, context: BotContext) -> int:
    """Save a yes or no to the member's tags, then the next question."""
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    tag, _, following = (data.arg if data else "").partition(".")
    if data is None or tag not in QUESTIONS or not following.isdigit():
        return await _stale(update, context)
    member = context.member
    tags = set(member.tags) | {tag} if data.action == "yes" else set(member.tags) - {tag}
    context.member = await users.update_profile(
        context.engine, member.platform, member.user_id, tags=tags
    )
    return await _ask(update, context, int(following))


async def use_text(update: Update, context: BotContext) -> None:
    await say(update, context, context.t._("Type a few words to search, or use the buttons."))


def build_handler() -> BaseHandler:
    words = filters.TEXT & ~filters.COMMAND
    buttons: list[BaseHandler] = [
        CallbackQueryHandler(home, pattern=pattern("prog", "home")),
        CallbackQueryHandler(show_list, pattern=pattern("prog", "list")),
        CallbackQueryHandler(card, pattern=pattern("prog", "card")),
        CallbackQueryHandler(ask_words, pattern=pattern("prog", "words")),
        CallbackQueryHandler(question, pattern=pattern("prog", "ask")),
        CallbackQueryHandler(answer, pattern=pattern("prog", "yes", "no")),
    ]
    return conversation(
        "programs",
        entry_points=[
            CommandHandler("programs", home),
            MessageHandler(filters.Text(sorted(all_translations(MENU_PROGRAMS))), home),
            *buttons,
        ],
        states={
            BROWSING: [MessageHandler(words, search)],
            WORDS: [MessageHandler(words, search)],
        },
        fallbacks=[MessageHandler(~filters.COMMAND, use_text)],
        allow_reentry=True,
    )
