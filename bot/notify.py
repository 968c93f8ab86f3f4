"""Status-change notices: after an import changes an application's status, every member who
asked to be told ("notify me" on a verified look-up) gets a message, through the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import translator
from bot.labels import APPLICATION_STATUSES
from db import applications, outbox


async def queue_status_notices(
    engine: AsyncEngine, changes: Iterable[tuple[str, str | None, str]]
) -> int:
    """Queue a notice per watcher of each changed application; how many were queued.

    `changes` are (tracking code, old status or None for a new application, new status), as an
    import reports them; a new application has nobody watching it yet."""
    queued = 0
    for code, old, new in changes:
        if old is None or old == new:
            continue
        found = await applications.get(engine, code)
        if found is None:
            continue
        for watcher in await applications.watchers(engine, code):
            t = translator(watcher.locale or "fa")
            lines = [
                t._("🔔 Application {code} has a new status: {status} ({date}).").format(
                    code=found.tracking_code,
                    status=t._(APPLICATION_STATUSES.get(new, new)),
                    date=t.date(found.updated_on),
                )
            ]
            if found.note(t.locale):
                lines.append(t._("Next step: {note}").format(note=t.digits(found.note(t.locale))))
            await outbox.enqueue_notice(
                engine, watcher.platform, watcher.user_id, watcher.chat_id, "\n".join(lines)
            )
            queued += 1
    return queued
