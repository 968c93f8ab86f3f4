"""/stats (staff): members, subscriptions, look-ups and recent broadcasts in one message short
enough for a phone, then members per value chain as a bar chart (bot/charts.py).

The figures are this platform's (a Telegram and a Bale bot may share the database), counted by
the database (db/stats.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import charts
from bot.context import BotContext
from bot.i18n import N_, Translator
from bot.replies import say
from bot.staff import staff_only
from db import stats as figures
from db.models import ValueChainRow
from db.stats import BroadcastFigures, Count, Stats

TOP = 5
# Most sets of provinces or chains name themselves; longer ones are counted instead.
NAMED_AT_MOST = 3
# Iran keeps UTC+3:30 all year (no daylight saving since 2022): dates are Iran's.
IRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
JOURNEYS = {
    "programs": N_("Support programs"),
    "status": N_("Application status"),
    "nearby": N_("Nearby cooperatives"),
}


@staff_only
async def stats(update: Update, context: BotContext) -> None:
    now = dt.datetime.now(dt.UTC)
    found = await figures.overview(context.engine, context.member.platform, now)
    chains = {chain.code: chain for chain in await context.value_chains()}
    await say(update, context, _text(context, found, chains, now))
    bars = [(_chart_label(chains, c.key), c.count) for c in found.members.chains]
    chat = update.effective_chat
    if bars and chat is not None:
        await context.bot.send_photo(
            chat.id,
            charts.bar_chart(bars),
            caption=context.t._("Members per value chain. Names in the picture are in English."),
        )


def _chart_label(chains: dict[str, ValueChainRow], code: str) -> str:
    chain = chains.get(code)
    return chain.name_en if chain is not None and chain.name_en else code


def _text(
    context: BotContext, found: Stats, chains: dict[str, ValueChainRow], now: dt.datetime
) -> str:
    t = context.t
    provinces = context.reference.provinces

    def chain_name(code: str) -> str:
        return chains[code].name(t.locale) if code in chains else code

    def province_name(code: str) -> str:
        return provinces[code].name(t.locale) if code in provinces else code

    members, subscribed = found.members, found.subscriptions
    parts = [
        t._("📊 Coopbot at a glance, {date}").format(date=t.date(now.astimezone(IRAN))),
        "\n".join(
            [
                t._("👥 Members: {count}").format(count=t.number(members.total)),
                t._("Active in the last {days} days: {count}").format(
                    days=t.number(figures.ACTIVE_DAYS), count=t.number(members.active)
                ),
                t._("Blocked the bot: {count}").format(count=t.number(members.blocked)),
                t._("Top provinces: {list}").format(list=_top(t, members.provinces, province_name)),
                t._("Top value chains: {list}").format(list=_top(t, members.chains, chain_name)),
            ]
        ),
        "\n".join(
            [
                t._("🔔 Members subscribed to announcements: {count}").format(
                    count=t.number(subscribed.subscribed)
                ),
                t._("Left all announcements: {count}").format(count=t.number(subscribed.left_all)),
                t._("By value chain: {list}").format(list=_top(t, subscribed.chains, chain_name)),
            ]
        ),
        t._("🔎 Look-ups in the last {days} days: {list}").format(
            days=t.number(figures.LOOKUP_DAYS), list=_lookups(t, found.lookups)
        ),
        _broadcasts(context, found.broadcasts, chain_name, province_name),
    ]
    return "\n\n".join(parts)


def _top(t: Translator, counts: tuple[Count, ...], name: Callable[[str], str]) -> str:
    shown = [f"{name(c.key)} ({t.number(c.count)})" for c in counts[:TOP]]
    return t.join(shown) if shown else t._("none")


def _lookups(t: Translator, counts: tuple[Count, ...]) -> str:
    """The journeys members have, always (a zero says something too), then any others."""
    found = {c.key: c.count for c in counts}
    keys = [*JOURNEYS, *(c.key for c in counts if c.key not in JOURNEYS)]
    return t.join(
        [
            f"{t._(JOURNEYS[key]) if key in JOURNEYS else key} ({t.number(found.get(key, 0))})"
            for key in keys
        ]
    )


def _broadcasts(
    context: BotContext,
    found: tuple[BroadcastFigures, ...],
    chain_name: Callable[[str], str],
    province_name: Callable[[str], str],
) -> str:
    t = context.t
    if not found:
        return t._("📣 No broadcasts yet.")
    lines = [t._("📣 Recent broadcasts:")]
    for sent in found:
        line = t._(
            "• {date} ({audience}): sent {sent}, failed {failed}, blocked {blocked}, "
            "pending {pending}"
        ).format(
            date=t.date(sent.created_at.astimezone(IRAN)),
            audience=_audience(t, sent, chain_name, province_name),
            sent=t.number(sent.sent),
            failed=t.number(sent.failed),
            blocked=t.number(sent.blocked),
            pending=t.number(sent.pending),
        )
        if sent.status == "cancelled":
            line += " " + t._("(stopped)")
        lines.append(line)
    return "\n".join(lines)


def _audience(
    t: Translator,
    sent: BroadcastFigures,
    chain_name: Callable[[str], str],
    province_name: Callable[[str], str],
) -> str:
    """Who it was for, in a few words: "Beekeeping in Kerman", "everyone", "4 provinces"."""
    chains = (
        t.join([chain_name(code) for code in sent.chains])
        if len(sent.chains) <= NAMED_AT_MOST
        else t._("{count} value chains").format(count=t.number(len(sent.chains)))
    )
    provinces = (
        t.join([province_name(code) for code in sent.provinces])
        if len(sent.provinces) <= NAMED_AT_MOST
        else t._("{count} provinces").format(count=t.number(len(sent.provinces)))
    )
    if chains and provinces:
        return t._("{chains} in {provinces}").format(chains=chains, provinces=provinces)
    return chains or provinces or t._("everyone")


def build_handler() -> list[BaseHandler]:
    return [CommandHandler("stats", stats)]
