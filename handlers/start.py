"""First visit and profile: language, then province and county, then value chain; each skippable.

Every picker button describes itself (`start:county:123`), so it is also an entry point: a member who
presses one after a restart, with no conversation running, simply carries on from there.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import places
from bot.callbacks import cb, parse, pattern
from bot.context import BotContext
from bot.i18n import LANGUAGE_NAMES, LOCALES, all_translations
from bot.journeys import conversation
from bot.keyboards import MENU_PROFILE
from bot.replies import say, show, show_menu
from db import chains, users
from db.reference import Province

LANGUAGE, PROVINCE, COUNTY, CHAIN = range(4)
END = ConversationHandler.END


async def _save(update: Update, context: BotContext, **fields: object) -> None:
    member = context.member
    context.member = await users.update_profile(
        context.engine, member.platform, member.user_id, **fields
    )


# --- entry ------------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> int:
    t = context.t
    member = context.member
    if member.setup_done:
        await show_menu(update, context, t._("Welcome back! Choose from the menu below."))
        return END
    buttons = [
        [
            InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=cb("start", "lang", code))
            for code in LOCALES
        ]
    ]
    await say(
        update,
        context,
        t._(
            "Welcome to Coopbot, the bot for members of Iran's cooperatives.\n\n"
            "First, choose your language:"
        ),
        InlineKeyboardMarkup(buttons),
    )
    return LANGUAGE


async def edit_profile(update: Update, context: BotContext) -> int:
    """The menu's "My province and chain": the same steps, without the language."""
    await say(update, context, *_province_step(context, 0))
    return PROVINCE


async def choose_language(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    if data is None or data.arg not in LOCALES:
        return await _stale(update, context)
    await query.answer()
    await _save(update, context, locale=data.arg)
    await show(update, context, *_province_step(context, 0))
    return PROVINCE


# --- province ---------------------------------------------------------------------------------


def _province_step(context: BotContext, page: int) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    skip = [InlineKeyboardButton(t._("Skip ⏭"), callback_data=cb("start", "skip", "province"))]
    text = t._("Which province is your cooperative in? Choose below, or type its name.")
    return text, places.province_picker(t, context.reference, "start", page, [skip])


def _provinces(context: BotContext) -> list[Province]:
    return places.provinces(context.reference, context.t.locale)


async def province_page(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    page = data.int_arg() if data else None
    await query.answer()
    await show(update, context, *_province_step(context, page or 0))
    return PROVINCE


async def choose_province(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    province = places.province_of(data, context.reference)
    if province is None:
        return await _stale(update, context)
    await query.answer()
    await _save(update, context, province_id=province.id, county_id=None)
    await show(update, context, *_county_step(context, province, 0))
    return COUNTY


async def type_province(update: Update, context: BotContext) -> int:
    """A typed province name; members often type their county (or seat town) instead, so take that too."""
    assert update.message is not None and update.message.text is not None
    t = context.t
    typed = update.message.text
    provinces = places.match(typed, _provinces(context))
    if len(provinces) == 1:
        await _save(update, context, province_id=provinces[0].id, county_id=None)
        await say(update, context, *_county_step(context, provinces[0], 0))
        return COUNTY
    counties = [] if provinces else places.match(typed, list(context.reference.counties.values()))
    if len(counties) == 1:
        county = counties[0]
        await _save(update, context, province_id=county.province_id, county_id=county.id)
        await say(update, context, *await _chain_step(context))
        return CHAIN
    if provinces or counties:
        await say(
            update,
            context,
            t._("Which of these did you mean?"),
            places.did_you_mean(t, context.reference, "start", provinces, counties),
        )
        return PROVINCE
    text, markup = _province_step(context, 0)
    not_found = t._("I could not find a province called “{name}”.").format(name=_quoted(typed))
    await say(update, context, f"{not_found}\n{text}", markup)
    return PROVINCE


def _quoted(typed: str) -> str:
    """A typed name as an answer quotes it back: names are short, and a pasted page would push the
    answer past the 4096 characters a message may hold."""
    return typed.strip()[:40]


# --- county -----------------------------------------------------------------------------------


def _county_step(
    context: BotContext, province: Province, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    extra = [
        [
            InlineKeyboardButton(t._("« Provinces"), callback_data=cb("start", "provs", 0)),
            InlineKeyboardButton(t._("Skip ⏭"), callback_data=cb("start", "skip", "county")),
        ]
    ]
    text = t._("Which county of {province}? Choose below, or type its name.").format(
        province=province.name(t.locale)
    )
    return text, places.county_picker(t, context.reference, "start", province, page, extra)


async def county_page(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    found = places.county_page(parse(query.data), context.reference)
    if found is None:
        return await _stale(update, context)
    await query.answer()
    await show(update, context, *_county_step(context, *found))
    return COUNTY


async def choose_county(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    county = places.county_of(data, context.reference)
    if county is None:
        return await _stale(update, context)
    await query.answer()
    await _save(update, context, province_id=county.province_id, county_id=county.id)
    await show(update, context, *await _chain_step(context))
    return CHAIN


async def type_county(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.text is not None
    t = context.t
    province = context.reference.provinces.get(context.member.province_id or "")
    if province is None:
        return await type_province(update, context)
    found = places.match(update.message.text, context.reference.counties_of(province.id))
    if len(found) == 1:
        await _save(update, context, county_id=found[0].id)
        await say(update, context, *await _chain_step(context))
        return CHAIN
    if found:
        markup = places.did_you_mean(t, context.reference, "start", [], found)
        await say(update, context, t._("Which of these did you mean?"), markup)
        return COUNTY
    if places.match(update.message.text, _provinces(context)):
        # They named a province instead: take them there.
        return await type_province(update, context)
    text, markup = _county_step(context, province, 0)
    not_found = t._("I could not find a county called “{name}”.").format(
        name=_quoted(update.message.text)
    )
    await say(update, context, f"{not_found}\n{text}", markup)
    return COUNTY


# --- value chain and the end ------------------------------------------------------------------


async def _chain_step(context: BotContext) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    rows = [
        [InlineKeyboardButton(chain.name(t.locale), callback_data=cb("start", "chain", chain.code))]
        for chain in await context.value_chains()
    ]
    rows.append([InlineKeyboardButton(t._("Skip ⏭"), callback_data=cb("start", "skip", "chain"))])
    return t._("Which value chain does your cooperative work in?"), InlineKeyboardMarkup(rows)


async def choose_chain(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    chain = await chains.get(context.engine, data.arg) if data else None
    if chain is None:
        return await _stale(update, context)
    await query.answer()
    await _save(update, context, value_chain=chain.code)
    return await _finish(update, context)


async def skip(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    await query.answer()
    if data is not None and data.arg == "chain":
        return await _finish(update, context)
    # Skipping the province skips its county too.
    await show(update, context, *await _chain_step(context))
    return CHAIN


async def _finish(update: Update, context: BotContext) -> int:
    first_time = not context.member.setup_done
    await _save(update, context, setup_done=True)
    t = context.t
    member = context.member
    ref = context.reference
    province = ref.provinces.get(member.province_id or "")
    county = ref.counties.get(member.county_id or 0)
    chain = await chains.get(context.engine, member.value_chain or "")
    unset = t._("not set")
    lines = [
        t._("All set. This is what I know about you:"),
        t._("Province: {name}").format(name=province.name(t.locale) if province else unset),
        t._("County: {name}").format(name=county.name(t.locale) if county else unset),
        t._("Value chain: {name}").format(name=chain.name(t.locale) if chain else unset),
    ]
    markup = None
    # On the first visit the member is subscribed to the news of their chain and province,
    # with a one-tap way out right there (later changes go through /subscribe).
    if first_time and await users.subscribe_to_profile(context.engine, member):
        lines += ["", t._("You will receive announcements for your value chain and province.")]
        opt_out = InlineKeyboardButton(t._("🔕 No announcements"), callback_data=cb("sub", "none"))
        markup = InlineKeyboardMarkup([[opt_out]])
    await show(update, context, "\n".join(lines), markup)
    await show_menu(
        update,
        context,
        t._("You can change this any time with “{button}”.").format(button=t._(MENU_PROFILE)),
    )
    return END


# --- the unexpected ---------------------------------------------------------------------------


async def _stale(update: Update, context: BotContext) -> int:
    """A button whose choice no longer exists (or a forged one): say so and start the step again."""
    t = context.t
    if update.callback_query is not None:
        await update.callback_query.answer(t._("That choice is no longer available."))
    await say(update, context, *_province_step(context, 0))
    return PROVINCE


async def use_buttons(update: Update, context: BotContext) -> None:
    t = context.t
    await say(
        update, context, t._("Please choose with the buttons above, or send /cancel to stop.")
    )


def build_handler() -> BaseHandler:
    buttons: list[BaseHandler] = [
        CallbackQueryHandler(choose_language, pattern=pattern("start", "lang")),
        CallbackQueryHandler(province_page, pattern=pattern("start", "provs")),
        CallbackQueryHandler(choose_province, pattern=pattern("start", "prov")),
        CallbackQueryHandler(county_page, pattern=pattern("start", "cpage")),
        CallbackQueryHandler(choose_county, pattern=pattern("start", "county")),
        CallbackQueryHandler(choose_chain, pattern=pattern("start", "chain")),
        CallbackQueryHandler(skip, pattern=pattern("start", "skip")),
    ]
    text = filters.TEXT & ~filters.COMMAND
    profile_button = filters.Text(sorted(all_translations(MENU_PROFILE)))
    return conversation(
        "start",
        entry_points=[
            CommandHandler("start", start),
            MessageHandler(profile_button, edit_profile),
            *buttons,
        ],
        states={
            LANGUAGE: [],
            PROVINCE: [MessageHandler(text, type_province)],
            COUNTY: [MessageHandler(text, type_county)],
            CHAIN: [],
        },
        fallbacks=[
            MessageHandler(~filters.COMMAND, use_buttons),
        ],
        allow_reentry=True,
    )
