"""/admin (staff): who holds the staff role, and granting or revoking it by user id.

The ids in COOPBOT_ADMIN_IDS are staff whatever the database says, so only whoever runs the bot
can take their role away; nobody revokes their own role, so the last staff member granted in the
database cannot lock everyone out by accident. Every grant and revoke is written to the audit log.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.i18n import Translator
from bot.replies import say
from bot.staff import staff_only
from bot.text import normalize
from db import audit, users
from db.models import User

GRANT, REVOKE = "grant", "revoke"
ACTIONS = {GRANT: "grant_staff", REVOKE: "revoke_staff"}
MAX_USER_ID = 2**63 - 1  # users.user_id is a BIGINT
EXAMPLE_ID = "123456789"


@staff_only
async def admin(update: Update, context: BotContext) -> None:
    """`/admin`, `/admin grant ID`, `/admin revoke ID`; anything else shows the list and the usage."""
    words = normalize(" ".join(context.args or ())).split()
    action = words[0].casefold() if words else ""
    if action not in ACTIONS or len(words) < 2:
        await say(update, context, await _overview(context))
        return
    t = context.t
    target = _user_id(words[1])
    if target is None:
        await say(
            update,
            context,
            t._("“{typed}” is not a user id. A user id is a number, for example {example}.").format(
                typed=words[1][:40], example=t.digits(EXAMPLE_ID)
            ),
        )
        return
    if action == GRANT:
        await say(update, context, await _grant(context, target))
    else:
        await say(update, context, await _revoke(context, target))


def _user_id(typed: str) -> int | None:
    return (
        int(typed)
        if typed.isascii() and typed.isdigit() and 0 < int(typed) <= MAX_USER_ID
        else None
    )


async def _overview(context: BotContext) -> str:
    t = context.t
    platform = context.member.platform
    operators = sorted(context.settings.admin_ids)
    granted = [
        u for u in await users.staff_members(context.engine, platform) if u.user_id not in operators
    ]
    lines = [t._("👤 Staff of this bot:")]
    for user_id in operators:
        known = await users.get(context.engine, platform, user_id)
        lines.append(_line(context, user_id, known, t._("set in the bot's settings")))
    lines.extend(_line(context, u.user_id, u) for u in granted)
    lines += [
        "",
        t._("To give someone the staff role: /admin grant ID"),
        t._("To take it back: /admin revoke ID"),
        t._("ID is the person's numeric user id on this messenger, for example {example}.").format(
            example=t.digits(EXAMPLE_ID)
        ),
    ]
    return "\n".join(lines)


def _line(context: BotContext, user_id: int, known: User | None, *notes: str) -> str:
    t = context.t
    name = known.first_name if known is not None else ""
    if user_id == context.member.user_id:
        notes = (*notes, t._("you"))
    line = " ".join(part for part in ("•", t.digits(str(user_id)), name) if part)
    return f"{line} ({t.join(list(notes))})" if notes else line


def _who(t: Translator, user_id: int, known: User | None) -> str:
    """The id as the reader writes numbers, and the first name when the bot has seen one."""
    user = t.digits(str(user_id))
    return f"{user} ({known.first_name})" if known is not None and known.first_name else user


async def _grant(context: BotContext, target: int) -> str:
    t = context.t
    platform = context.member.platform
    known = await users.get(context.engine, platform, target)
    if target in context.settings.admin_ids or (known is not None and known.staff):
        return t._("{who} already holds the staff role.").format(who=_who(t, target, known))
    granted = await users.set_staff(context.engine, platform, target, True)
    await _audit(context, GRANT, target)
    return t._("✅ {who} now holds the staff role: /broadcast, /stats and /admin.").format(
        who=_who(t, target, granted)
    )


async def _revoke(context: BotContext, target: int) -> str:
    t = context.t
    platform = context.member.platform
    known = await users.get(context.engine, platform, target)
    who = _who(t, target, known)
    if target in context.settings.admin_ids:
        return t._(
            "{who} is staff through the bot's settings (COOPBOT_ADMIN_IDS); only whoever runs "
            "the bot can change that."
        ).format(who=who)
    if target == context.member.user_id:
        return t._("You cannot take the staff role from yourself; ask another staff member.")
    if known is None or not known.staff:
        return t._("{who} does not hold the staff role; nothing was changed.").format(who=who)
    await users.set_staff(context.engine, platform, target, False)
    await _audit(context, REVOKE, target)
    return t._("✅ {who} no longer holds the staff role.").format(who=who)


async def _audit(context: BotContext, action: str, target: int) -> None:
    member = context.member
    await audit.record(
        context.engine, member.platform, member.user_id, ACTIONS[action], str(target)
    )


def build_handler() -> list[BaseHandler]:
    return [CommandHandler("admin", admin)]
