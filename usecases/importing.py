"""Importing a staff spreadsheet, as `coopbot import` and a file sent to the bot both do it.

The file is read and every row checked off the event loop, the rows are written whole or not at all
(db.importers.import_file), and every member who asked to be told of an application's status gets a
notice through the outbox when the import changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.i18n import translator
from bot.labels import APPLICATION_STATUSES
from db import applications, outbox
from db.importers import ImportReport, format_report, import_file
from db.sheets import N_, render


@dataclass(frozen=True)
class ImportOutcome:
    """What an import found and did, and how many status-change notices it queued."""

    report: ImportReport
    notices: int


async def import_spreadsheet(
    engine: AsyncEngine,
    kind: str,
    source: Path | bytes,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    actor_id: int | None = None,
    platform: str = "shell",
    progress: Callable[[int, int], None] | None = None,
) -> ImportOutcome:
    """Check the file, write it unless `dry_run` or a row is rejected, and queue the notices.

    Raises db.sheets.ImportFileError when the file as a whole is unusable."""
    report = await import_file(
        engine,
        kind,
        source,
        filename=filename,
        dry_run=dry_run,
        actor_id=actor_id,
        platform=platform,
        progress=progress,
    )
    # Only a written import records status changes, so a dry run notifies nobody.
    notices = await queue_status_notices(engine, report.status_changes) if report.ok else 0
    return ImportOutcome(report, notices)


def format_outcome(
    outcome: ImportOutcome,
    translate: Callable[[str], str] = lambda s: s,
    number: Callable[[int], str] = str,
    limit: int | None = None,
) -> str:
    """The import report for staff, and how many members are being told of a new status."""
    if not outcome.notices:
        return format_report(outcome.report, translate, number, limit)
    notices = render(
        N_("Status-change notices queued for the members who asked for them: {count}"),
        {"count": outcome.notices},
        translate,
        number,
    )
    room = None if limit is None else limit - len(notices) - 1
    return f"{format_report(outcome.report, translate, number, room)}\n{notices}"


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
