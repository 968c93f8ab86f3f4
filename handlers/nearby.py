"""/nearby: cooperatives of the member's value chain nearest to them, by shared location or by
province and county, nearest first with distances; each with its place on the map and its phone.

The chain is remembered in the profile. What was searched (point, chain, role) is kept as a
look-up, so "next page", "map" and "phone" buttons work from old messages and after restarts.
"""

from __future__ import annotations

import datetime as dt

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

from bot import places
from bot.callbacks import cb, parse, pattern
from bot.context import BotContext
from bot.i18n import N_, all_translations
from bot.journeys import conversation
from bot.keyboards import MENU_NEARBY
from bot.labels import ROLES
from bot.replies import say, show, show_menu
from db import chains, cooperatives, lookups, users
from db.models import Cooperative, Nearby
from db.reference import Province

WHERE = 0
JOURNEY = "nearby"
PAGE_SIZE = 5
MAX_RESULTS = 50
MEMORY = dt.timedelta(days=7)
ANY_ROLE = "any"
IRAN_LAT, IRAN_LON = (25.0, 40.0), (44.0, 64.0)
SHARE_LOCATION = N_("📍 Share my location")
BY_COUNTY = N_("🗺 Choose province and county")
NOT_NOW = N_("↩️ Not now")


# --- chain and role --------------------------------------------------------------------------


async def begin(update: Update, context: BotContext) -> None:
    """/nearby: the remembered chain, else ask for one."""
    member = context.member
    chain = await chains.get(context.engine, member.value_chain or "")
    if chain is None:
        await _ask_chain(update, context)
        return
    await _ask_role(update, context, chain.code)


async def _ask_chain(update: Update, context: BotContext) -> None:
    t = context.t
    found = await context.value_chains()
    rows = [
        [InlineKeyboardButton(c.name(t.locale), callback_data=cb("near", "chain", c.code))]
        for c in found
    ]
    await show(
        update, context, t._("Cooperatives of which value chain?"), InlineKeyboardMarkup(rows)
    )


async def change_chain(update: Update, context: BotContext) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _ask_chain(update, context)


async def choose_chain(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    chain = await chains.get(context.engine, data.arg) if data else None
    if chain is None:
        await query.answer(context.t._("That choice is no longer available."))
        await _ask_chain(update, context)
        return
    await query.answer()
    member = context.member
    context.member = await users.update_profile(
        context.engine, member.platform, member.user_id, value_chain=chain.code
    )
    await _ask_role(update, context, chain.code)


async def _ask_role(update: Update, context: BotContext, chain_code: str) -> None:
    t = context.t
    chain = await chains.get(context.engine, chain_code)
    name = chain.name(t.locale) if chain else chain_code
    roles = [
        InlineKeyboardButton(t._(label), callback_data=cb("near", "role", f"{chain_code}.{code}"))
        for code, label in ROLES.items()
    ]
    rows = [
        [
            InlineKeyboardButton(
                t._("Any role"), callback_data=cb("near", "role", f"{chain_code}.{ANY_ROLE}")
            )
        ],
        *[roles[i : i + 2] for i in range(0, len(roles), 2)],
        [InlineKeyboardButton(t._("🔄 Another value chain"), callback_data=cb("near", "chains"))],
    ]
    text = t._("Value chain: {chain}\nWhich part of the chain are you looking for?").format(
        chain=name
    )
    await show(update, context, text, InlineKeyboardMarkup(rows))


async def choose_role(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    t = context.t
    data = parse(query.data)
    chain_code, _, role = (data.arg if data else "").partition(".")
    chain = await chains.get(context.engine, chain_code)
    if chain is None or (role != ANY_ROLE and role not in ROLES):
        await query.answer(t._("That choice is no longer available."))
        await _ask_chain(update, context)
        return ConversationHandler.END
    await query.answer()
    member = context.member
    await lookups.record(
        context.engine, member.platform, member.user_id, JOURNEY, "ask", f"{chain_code}.{role}"
    )
    role_name = t._("Any role") if role == ANY_ROLE else t._(ROLES[role])
    await show(update, context, f"{chain.name(t.locale)} · {role_name}")
    return await _ask_where(update, context)


async def _ask_where(update: Update, context: BotContext, text: str | None = None) -> int:
    t = context.t
    if not context.features.location_button:
        # No location button on this platform (Bale): straight to the province picker; a location
        # shared from the attachment menu is still understood.
        picker = places.province_picker(t, context.reference, "near", 0)
        await say(update, context, t._("Which province?"), picker)
        return WHERE
    keyboard = ReplyKeyboardMarkup(
        [
            [KeyboardButton(t._(SHARE_LOCATION), request_location=True)],
            [KeyboardButton(t._(BY_COUNTY))],
            [KeyboardButton(t._(NOT_NOW))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await say(
        update,
        context,
        text or t._("Share your location, or choose a province and county:"),
        keyboard,
    )
    return WHERE


# --- where -------------------------------------------------------------------------------------


async def location(update: Update, context: BotContext) -> int:
    assert update.message is not None and update.message.location is not None
    t = context.t
    point = update.message.location
    lat, lon = point.latitude, point.longitude
    if not (IRAN_LAT[0] <= lat <= IRAN_LAT[1] and IRAN_LON[0] <= lon <= IRAN_LON[1]):
        await say(
            update,
            context,
            t._("That location is outside Iran. Choose a province instead:"),
            places.province_picker(t, context.reference, "near", 0),
        )
        return WHERE
    return await _search(update, context, lat, lon, None)


async def by_county(update: Update, context: BotContext) -> int:
    t = context.t
    await say(
        update,
        context,
        t._("Which province?"),
        places.province_picker(t, context.reference, "near", 0),
    )
    return WHERE


async def province_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    await query.answer()
    page = data.int_arg() if data else None
    await show(
        update,
        context,
        context.t._("Which province?"),
        places.province_picker(context.t, context.reference, "near", page or 0),
    )


async def choose_province(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    data = parse(query.data)
    province = places.province_of(data, context.reference)
    if province is None:
        await query.answer(t._("That choice is no longer available."))
        await show(
            update,
            context,
            t._("Which province?"),
            places.province_picker(t, context.reference, "near", 0),
        )
        return
    await query.answer()
    await _show_counties(update, context, province, 0)


async def county_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    found = places.county_page(parse(query.data), context.reference)
    await query.answer()
    if found is None:
        await show(
            update,
            context,
            context.t._("Which province?"),
            places.province_picker(context.t, context.reference, "near", 0),
        )
        return
    await _show_counties(update, context, *found)


async def _show_counties(
    update: Update, context: BotContext, province: Province, page: int
) -> None:
    t = context.t
    back = [[InlineKeyboardButton(t._("« Provinces"), callback_data=cb("near", "provs", 0))]]
    text = t._("Which county of {province}?").format(province=province.name(t.locale))
    await show(
        update,
        context,
        text,
        places.county_picker(t, context.reference, "near", province, page, back),
    )


async def choose_county(update: Update, context: BotContext) -> int:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    county = places.county_of(data, context.reference)
    if county is None:
        await query.answer(context.t._("That choice is no longer available."))
        return await by_county(update, context)
    await query.answer()
    return await _search(update, context, county.lat, county.lon, county.id)


# --- results -------------------------------------------------------------------------------------


async def _search(
    update: Update, context: BotContext, lat: float, lon: float, county_id: int | None
) -> int:
    """Remember the search, then show its first page; no chain chosen yet: ask for one first."""
    t = context.t
    member = context.member
    asked = await lookups.latest_detail(
        context.engine, member.platform, member.user_id, JOURNEY, "ask", MEMORY
    )
    chain_code, _, role = (asked or f"{member.value_chain or ''}.{ANY_ROLE}").partition(".")
    if not await chains.get(context.engine, chain_code):
        await show_menu(update, context, t._("First choose a value chain."))
        await _ask_chain(update, context)
        return ConversationHandler.END
    detail = f"{lat:.4f},{lon:.4f},{chain_code},{role},{county_id or ''}"
    await lookups.record(context.engine, member.platform, member.user_id, JOURNEY, "search", detail)
    found = await _results(context, detail)
    if not found:
        chain = await chains.get(context.engine, chain_code)
        text = t._(
            "No {chain} cooperative within {distance}. Choose a province and county to look elsewhere:"
        ).format(
            chain=chain.name(t.locale) if chain else chain_code,
            distance=t.km(cooperatives.MAX_RADIUS_KM),
        )
        await say(update, context, text, places.province_picker(t, context.reference, "near", 0))
        return WHERE
    await show_menu(
        update,
        context,
        t._("Found {count} cooperatives, nearest first.").format(count=t.number(len(found))),
    )
    await say(update, context, *await _page(context, found, detail, 0))
    return ConversationHandler.END


async def _results(context: BotContext, detail: str) -> list[Nearby]:
    lat, lon, chain, role, _ = detail.split(",")
    return await cooperatives.nearest(
        context.engine,
        float(lat),
        float(lon),
        chain,
        k=MAX_RESULTS,
        role=None if role == ANY_ROLE else role,
    )


async def _page(
    context: BotContext, found: list[Nearby], detail: str, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    t = context.t
    ref = context.reference
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    first = page * PAGE_SIZE
    chain_code, county_id = detail.split(",")[2], detail.split(",")[4]
    chain = await chains.get(context.engine, chain_code)
    chain_name = chain.name(t.locale) if chain else chain_code
    if county_id:
        county = ref.counties[int(county_id)]
        heading = t._("{chain} cooperatives nearest to {county}:").format(
            chain=chain_name, county=county.name(t.locale)
        )
    else:
        heading = t._("{chain} cooperatives nearest to you:").format(chain=chain_name)
    lines, rows = [heading], []
    for number, item in enumerate(found[first : first + PAGE_SIZE], start=first + 1):
        coop = item.cooperative
        home = ref.counties.get(coop.county_id)
        facts = [t.km(item.distance_km), home.name(t.locale) if home else ""]
        if coop.members:
            facts.append(
                t.ngettext("{n} member", "{n} members", coop.members).format(
                    n=t.number(coop.members)
                )
            )
        lines.append(
            f"{t.number(number)}. {t.digits(coop.name)}\n    " + " · ".join(f for f in facts if f)
        )
        row = [
            InlineKeyboardButton(f"🗺 {t.number(number)}", callback_data=cb("near", "map", coop.id))
        ]
        if coop.phone:
            row.append(
                InlineKeyboardButton(
                    f"📞 {t.number(number)}", callback_data=cb("near", "tel", coop.id)
                )
            )
        rows.append(row)
    nav = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(t._("⬅️ Previous"), callback_data=cb("near", "page", page - 1))
        )
    if page < pages - 1:
        nav.append(InlineKeyboardButton(t._("Next ➡️"), callback_data=cb("near", "page", page + 1)))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def turn_page(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    t = context.t
    member = context.member
    data = parse(query.data)
    detail = await lookups.latest_detail(
        context.engine, member.platform, member.user_id, JOURNEY, "search", MEMORY
    )
    page = data.int_arg() if data else None
    if detail is None or page is None:
        await query.answer(t._("That choice is no longer available."))
        await begin(update, context)
        return
    await query.answer()
    await show(
        update, context, *await _page(context, await _results(context, detail), detail, page)
    )


async def map_pin(update: Update, context: BotContext) -> None:
    """The cooperative's place as a venue: tap it to open the map app."""
    query = update.callback_query
    assert query is not None
    coop = await _cooperative(update, context)
    if coop is None:
        return
    await query.answer()
    county = context.reference.counties.get(coop.county_id)
    address = coop.address or (county.name(context.t.locale) if county else "")
    chat = update.effective_chat
    assert chat is not None
    if context.features.venues:
        await context.bot.send_venue(
            chat.id, latitude=coop.lat, longitude=coop.lon, title=coop.name, address=address
        )
        return
    await context.bot.send_location(chat.id, latitude=coop.lat, longitude=coop.lon)
    await say(update, context, f"📍 {context.t.digits(coop.name)}\n{address}")


async def phone(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    coop = await _cooperative(update, context)
    if coop is None:
        return
    await query.answer()
    number = coop.phone or context.t._("No phone number on record.")
    await say(update, context, f"📞 {context.t.digits(coop.name)}\n{number}")


async def _cooperative(update: Update, context: BotContext) -> Cooperative | None:
    query = update.callback_query
    assert query is not None
    data = parse(query.data)
    coop_id = data.int_arg() if data else None
    coop = await cooperatives.get(context.engine, coop_id) if coop_id is not None else None
    if coop is None or not coop.active:
        await query.answer(context.t._("That cooperative is no longer listed."), show_alert=True)
        return None
    return coop


async def not_now(update: Update, context: BotContext) -> int:
    await show_menu(update, context)
    return ConversationHandler.END


async def use_buttons(update: Update, context: BotContext) -> None:
    await say(
        update,
        context,
        context.t._("Please share your location or choose with the buttons, or send /cancel."),
    )


def build_handler() -> list[BaseHandler]:
    where: list[BaseHandler] = [
        MessageHandler(filters.LOCATION, location),
        MessageHandler(filters.Text(sorted(all_translations(BY_COUNTY))), by_county),
        MessageHandler(filters.Text(sorted(all_translations(NOT_NOW))), not_now),
    ]
    journey = conversation(
        "nearby",
        entry_points=[
            CommandHandler("nearby", begin),
            MessageHandler(filters.Text(sorted(all_translations(MENU_NEARBY))), begin),
            CallbackQueryHandler(choose_role, pattern=pattern("near", "role")),
            CallbackQueryHandler(choose_county, pattern=pattern("near", "county")),
        ],
        states={WHERE: where},
        fallbacks=[MessageHandler(~filters.COMMAND, use_buttons)],
        allow_reentry=True,
    )
    return [
        journey,
        CallbackQueryHandler(change_chain, pattern=pattern("near", "chains")),
        CallbackQueryHandler(choose_chain, pattern=pattern("near", "chain")),
        CallbackQueryHandler(province_page, pattern=pattern("near", "provs")),
        CallbackQueryHandler(choose_province, pattern=pattern("near", "prov")),
        CallbackQueryHandler(county_page, pattern=pattern("near", "cpage")),
        CallbackQueryHandler(turn_page, pattern=pattern("near", "page")),
        CallbackQueryHandler(map_pin, pattern=pattern("near", "map")),
        CallbackQueryHandler(phone, pattern=pattern("near", "tel")),
    ]
