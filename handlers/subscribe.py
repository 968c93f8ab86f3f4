"""/subscribe: which announcements a member receives: value chains (any number) and a province.

All buttons; nothing to type. Each button says what it does (`sub:chain:beekeeping` toggles that
chain), so an old message's buttons still work and show the subscriptions as they are now.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import places
from bot.callbacks import cb, parse, pattern
from bot.context import BotContext
from bot.i18n import all_translations
from bot.keyboards import MENU_SUBSCRIBE
from bot.replies import show, show_menu
from db import chains, users


async def overview(update: Update, context: BotContext) -> None:
    """What the member receives now, with a button to change each part."""
    t = context.t
    member = context.member
    current = await users.subscriptions(context.engine, member.platform, member.user_id)
    all_chains = await context.value_chains()
    chosen = current["chain"]
    province_id = next(iter(sorted(current["province"])), None)
    province = context.reference.provinces.get(province_id or "")
    names = [c.name(t.locale) for c in all_chains if c.code in chosen]
    none = t._("none")
    text = "\n".join(
        [
            t._("You receive announcements for:"),
            t._("Value chains: {names}").format(names=t.join(names) or none),
            t._("Province: {name}").format(name=province.name(t.locale) if province else none),
            "",
            t._("Tap a value chain to add or remove it."),
        ]
    )
    rows = [
        [
            InlineKeyboardButton(
                ("✅ " if c.code in chosen else "▫️ ") + c.name(t.locale),
                callback_data=cb("sub", "chain", c.code),
            )
        ]
        for c in all_chains
    ]
    rows.append(
        [InlineKeyboardButton(t._("📍 Choose the province"), callback_data=cb("sub", "provs", 0))]
    )
    rows.append(
        [
            InlineKeyboardButton(t._("🔕 Leave all"), callback_data=cb("sub", "none")),
            InlineKeyboardButton(t._("✔️ Done"), callback_data=cb("sub", "done")),
        ]
    )
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def toggle_chain(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    member = context.member
    data = parse(query.data)
    chain = await chains.get(context.engine, data.arg) if data else None
    if chain is None:
        await query.answer(t._("That choice is no longer available."))
        await overview(update, context)
        return
    current = (await users.subscriptions(context.engine, member.platform, member.user_id))["chain"]
    changed = current ^ {chain.code}
    await users.set_subscriptions(context.engine, member.platform, member.user_id, "chain", changed)
    added = chain.code in changed
    await query.answer(
        (t._("Added: {name}") if added else t._("Removed: {name}")).format(
            name=chain.name(t.locale)
        )
    )
    await overview(update, context)


async def province_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    data = parse(query.data)
    await query.answer()
    back = [[InlineKeyboardButton(t._("⬅️ Back"), callback_data=cb("sub", "show"))]]
    picker = places.province_picker(
        t, context.reference, "sub", (data.int_arg() if data else 0) or 0, back
    )
    await show(update, context, t._("Announcements for which province?"), picker)


async def choose_province(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    member = context.member
    data = parse(query.data)
    province = places.province_of(data, context.reference)
    if province is None:
        await query.answer(t._("That choice is no longer available."))
    else:
        await users.set_subscriptions(
            context.engine, member.platform, member.user_id, "province", {province.id}
        )
        await query.answer(t._("Province: {name}").format(name=province.name(t.locale)))
    await overview(update, context)


async def leave_all(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    member = context.member
    await users.unsubscribe_all(context.engine, member.platform, member.user_id)
    await query.answer()
    back = InlineKeyboardButton(t._("🔔 Choose again"), callback_data=cb("sub", "show"))
    await show(
        update,
        context,
        t._(
            "Done: you will receive no announcements. You can choose again any time with /subscribe."
        ),
        InlineKeyboardMarkup([[back]]),
    )


async def refresh(update: Update, context: BotContext) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await overview(update, context)


async def done(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await show_menu(update, context, context.t._("Saved."))


def build_handler() -> list[BaseHandler]:
    return [
        CommandHandler("subscribe", overview),
        MessageHandler(filters.Text(sorted(all_translations(MENU_SUBSCRIBE))), overview),
        CallbackQueryHandler(toggle_chain, pattern=pattern("sub", "chain")),
        CallbackQueryHandler(province_page, pattern=pattern("sub", "provs")),
        CallbackQueryHandler(choose_province, pattern=pattern("sub", "prov")),
        CallbackQueryHandler(leave_all, pattern=pattern("sub", "none")),
        CallbackQueryHandler(refresh, pattern=pattern("sub", "show")),
        CallbackQueryHandler(done, pattern=pattern("sub", "done")),
    ]
