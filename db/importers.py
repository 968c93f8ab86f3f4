"""Staff spreadsheets into the shared database, for `coopbot import` and for files sent to the bot.

import-formats.md is the contract. A file is read by db/sheets.py, every row is checked by its kind's
pydantic model against the reference data in the database, and the rows are then written in one
transaction, or none of them are. Rows are matched on their key, so a second import of the same file
changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Table, any_, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from db import audit, cache
from db.applications import clean_code
from db.import_rows import (
    ApplicationRow,
    CooperativeRow,
    Known,
    ProgramRow,
    Reason,
    Row,
    Seat,
    ValueChainRow,
)
from db.models import pack, unpack
from db.schema import (
    application_history,
    applications,
    cooperatives,
    counties,
    programs,
    provinces,
    value_chains,
)
from db.sheets import N_, Cell, ImportFileError, Sheet, read_sheet, render
from db.text import search_key

__all__ = ["KINDS", "ImportFileError", "ImportReport", "RowError", "format_report", "import_file"]

KINDS = ("cooperatives", "programs", "applications", "value-chains")
KIND_NAMES = {
    "cooperatives": N_("cooperatives"),
    "programs": N_("programs"),
    "applications": N_("applications"),
    "value-chains": N_("value chains"),
}

WOMEN_TAG = "women"
PROGRESS_EVERY = 500
# Keys per "IN (...)" when loading stored rows: well under every SQLite build's variable limit.
KEYS_PER_QUERY = 500
# Keys per array when loading stored rows from PostgreSQL, and rows per executemany when writing:
# SQLAlchemy turns a batch's rows into parameters (or results into rows) on the event loop, so
# that a large file in one piece would hold the bot up for seconds; members are answered between.
KEYS_PER_ARRAY = 10_000
WRITE_BATCH = 2_000


# --- what an import found ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One rejected cell (or whole row, when `column` is None) by its line in the file."""

    line: int
    column: str | None
    message_id: str
    params: dict[str, object] = field(default_factory=dict)

    def text(
        self, translate: Callable[[str], str] = lambda s: s, number: Callable[[int], str] = str
    ) -> str:
        reason = render(self.message_id, self.params, translate, number)
        if self.column is None:
            return render(
                N_("line {line}: {reason}"),
                {"line": self.line, "reason": reason},
                translate,
                number,
            )
        return render(
            N_("line {line}, {column}: {reason}"),
            {"line": self.line, "column": self.column, "reason": reason},
            translate,
            number,
        )


@dataclass
class ImportReport:
    """What an import found and did; format_report() turns it into text for staff."""

    kind: str
    dry_run: bool
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # (tracking code, stored status or None for a new application, imported status); filled only
    # when the import was written, so nobody is notified of a dry run.
    status_changes: list[tuple[str, str | None, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected(self) -> int:
        return len({error.line for error in self.errors})

    def summary(self) -> str:
        """One line for the audit log (English: it is read by operators, not members)."""
        return (
            f"{self.kind}: {self.rows} rows, {self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


# --- rows into table values --------------------------------------------------------------------


def _cooperative_values(row: Any) -> dict[str, Any]:
    values = row.model_dump(exclude={"women_led"})
    values["name_key"] = search_key(row.name)
    values["tags"] = pack([WOMEN_TAG] if row.women_led else [])
    return values


def _keep_other_tags(values: dict[str, Any], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The file decides only the "women" tag; tags set elsewhere (rural, border...) stay."""
    if stored is not None:
        others = set(unpack(stored["tags"])) - {WOMEN_TAG}
        values["tags"] = pack(others | set(unpack(values["tags"])))
    return values


def _program_values(row: Any) -> dict[str, Any]:
    values = row.model_dump()
    for name in ("value_chains", "provinces", "eligibility"):
        values[name] = pack(values[name])
    searched = [row.title_fa, row.title_en, row.provider_fa, row.summary_fa, row.summary_en]
    values["search_text"] = search_key(" ".join(searched))
    return values


def _plain_values(row: Any) -> dict[str, Any]:
    return row.model_dump()


def _as_is(values: dict[str, Any], _stored: Mapping[str, Any] | None) -> dict[str, Any]:
    return values


@dataclass(frozen=True)
class Kind:
    """What differs between the four kinds of file."""

    model: type[Row]
    table: Table
    key: str
    to_values: Callable[[Any], dict[str, Any]]
    merge: Callable[[dict[str, Any], Mapping[str, Any] | None], dict[str, Any]] = _as_is
    fold_key: Callable[[str], str] = str  # how two spellings of one key are told equal
    has_demo: bool = True
    stamped: bool = True  # has an updated_at column

    @property
    def columns(self) -> list[str]:
        return list(self.model.model_fields)

    @property
    def required(self) -> list[str]:
        return [name for name, info in self.model.model_fields.items() if info.is_required()]


KIND_SPECS: dict[str, Kind] = {
    "cooperatives": Kind(
        CooperativeRow, cooperatives, "national_id", _cooperative_values, merge=_keep_other_tags
    ),
    "programs": Kind(ProgramRow, programs, "program_id", _program_values),
    "applications": Kind(
        ApplicationRow,
        applications,
        "tracking_code",
        _plain_values,
        fold_key=clean_code,
        stamped=False,
    ),
    "value-chains": Kind(
        ValueChainRow,
        value_chains,
        "code",
        _plain_values,
        fold_key=str.casefold,
        has_demo=False,
        stamped=False,
    ),
}


# --- the import --------------------------------------------------------------------------------


async def import_file(
    engine: AsyncEngine,
    kind: str,
    source: Path | bytes,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    demo: bool = False,
    actor_id: int | None = None,
    platform: str = "shell",
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check every row of the file and, unless `dry_run` or a row is rejected, write them all.

    Raises ImportFileError when the file as a whole is unusable (its type, encoding, columns), or
    bigger than db.sheets.LIMITS.
    """
    spec = KIND_SPECS.get(kind)
    if spec is None:
        raise ImportFileError(
            N_("unknown kind {kind}; the kinds are: {kinds}"), kind=kind, kinds=", ".join(KINDS)
        )
    if isinstance(source, Path):
        filename = filename or source.name
    elif filename is None:
        raise ValueError("a file given as bytes needs its filename (.csv or .xlsx)")
    known = await _load_known(engine)
    # Reading a workbook and checking every row is CPU work, minutes of it for a large file
    # (openpyxl, pydantic): in a thread, so that the bot goes on answering members meanwhile.
    # It is done before the write transaction opens: on SQLite a writer blocks the bot.
    report, rows = await asyncio.to_thread(
        _check_file, kind, spec, source, filename, known, dry_run=dry_run, progress=progress
    )
    if report.ok and dry_run:
        async with engine.connect() as connection:
            await _apply(connection, spec, rows, report, demo=demo)
    elif report.ok:
        async with engine.begin() as connection:  # all rows and the audit entry, or nothing
            await _apply(connection, spec, rows, report, demo=demo)
            await audit.write(connection, platform, actor_id, "import", report.summary())
        cache.forget(engine)  # chains and programs are kept in memory a while (db/cache.py)
    if progress is not None:
        progress(report.rows, report.rows)
    return report


def _check_file(
    kind: str,
    spec: Kind,
    source: Path | bytes,
    filename: str,
    known: Known,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] | None,
) -> tuple[ImportReport, list[dict[str, Any]]]:
    """The file read and every row checked: what was found, and the accepted rows as table
    values. Blocking work, for a thread; it touches no database. The rows are checked as they
    are read, so only the accepted values are kept, never the whole file."""
    report = ImportReport(kind=kind, dry_run=dry_run)
    opened = source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
    with opened as binary, read_sheet(binary, filename) as sheet:
        header = _check_header(sheet.header, spec)
        rows = _check_rows(sheet, header, spec, known, report, progress)
    if not report.rows:
        raise ImportFileError(N_("the file has column names but no rows under them"))
    return report, rows


def _check_header(header: list[str], spec: Kind) -> list[str]:
    columns = spec.columns
    if not set(header) & set(columns):
        raise ImportFileError(
            N_("the first row must hold the column names: {columns}"), columns=", ".join(columns)
        )
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise ImportFileError(
            N_("unknown column(s): {unknown}; the columns are: {columns}"),
            unknown=", ".join(unknown),
            columns=", ".join(columns),
        )
    for name in header:
        if header.count(name) > 1:
            raise ImportFileError(N_("column {column} appears more than once"), column=name)
    missing = [name for name in spec.required if name not in header]
    if missing:
        raise ImportFileError(
            N_("required column(s) missing: {columns}"), columns=", ".join(missing)
        )
    return header


async def _load_known(engine: AsyncEngine) -> Known:
    async with engine.connect() as connection:
        chains = (await connection.execute(select(value_chains.c.code))).scalars().all()
        province_ids = (await connection.execute(select(provinces.c.id))).scalars().all()
        seats = await connection.execute(
            select(counties.c.id, counties.c.province_id, counties.c.lat, counties.c.lon)
        )
        return Known(
            frozenset(chains),
            frozenset(province_ids),
            {row.id: Seat(row.province_id, row.lat, row.lon) for row in seats},
        )


def _check_rows(
    sheet: Sheet,
    header: list[str],
    spec: Kind,
    known: Known,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """Every row as table values; rejected rows go to report.errors instead."""
    values: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for done, (line, cells) in enumerate(sheet.rows, start=1):
        report.rows = done
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, max(done, sheet.expected_rows))
        shape = _shape_error(line, cells, len(header), sheet.is_csv)
        if shape is not None:
            report.errors.append(shape)
            continue
        record = {name: cell for name, cell in zip(header, cells, strict=False) if cell != ""}
        key = record.get(spec.key)
        if isinstance(key, str):
            folded = spec.fold_key(key)
            if folded in first_line:
                report.errors.append(
                    RowError(
                        line,
                        spec.key,
                        N_("{value} is already on line {first}; a key may appear only once"),
                        {"value": key, "first": first_line[folded]},
                    )
                )
                continue
            first_line[folded] = line
        try:
            row = spec.model.model_validate(record, context=known)
        except ValidationError as exc:
            report.errors.extend(_row_errors(line, exc))
            continue
        values.append(spec.to_values(row))
    return values


def _shape_error(line: int, cells: list[Cell], width: int, is_csv: bool) -> RowError | None:
    """A row whose cells do not line up with the header: every cell after a stray comma is in the
    wrong column, so only this is reported for it, not the noise its shifted cells would make."""
    if is_csv and len(cells) < width:
        return RowError(
            line,
            None,
            N_("the row has {cells} cells but the header has {columns}"),
            {"cells": len(cells), "columns": width},
        )
    if any(cell != "" for cell in cells[width:]):
        if is_csv:
            return RowError(
                line,
                None,
                N_(
                    "the row has {cells} cells but the header has {columns}: "
                    "a cell that holds a comma must be in quotes"
                ),
                {"cells": len(cells), "columns": width},
            )
        return RowError(line, None, N_("the row has a value after the last named column"))
    return None


def _row_errors(line: int, exc: ValidationError) -> list[RowError]:
    found = []
    for error in exc.errors():
        column = str(error["loc"][0]) if error["loc"] else None
        reason = (error.get("ctx") or {}).get("error")
        if isinstance(reason, Reason):
            found.append(RowError(line, reason.column or column, reason.message_id, reason.params))
        elif error["type"] == "missing":
            found.append(RowError(line, column, N_("a value is required")))
        else:  # a shape the validators above let through; say which value, not pydantic's words
            found.append(
                RowError(
                    line, column, N_("{value} is not valid"), {"value": str(error.get("input"))}
                )
            )
    return found


async def _apply(
    connection: AsyncConnection,
    spec: Kind,
    rows: list[dict[str, Any]],
    report: ImportReport,
    *,
    demo: bool,
) -> None:
    """Count new, changed and unchanged rows against what is stored; unless this is a dry run,
    write the new and changed ones. Unchanged rows are not touched: their updated_at stays."""
    stored = await _stored(connection, spec, [row[spec.key] for row in rows])
    now = dt.datetime.now(dt.UTC)
    # Comparing every row with what is stored is seconds of CPU for a large file, like checking.
    new, changed = await asyncio.to_thread(_sort, spec, rows, stored, report, demo=demo, now=now)
    if report.dry_run:
        return
    await _write(connection, spec, new, changed)
    if spec.table is applications:
        await _record_status_changes(connection, stored, new + changed, report, now)


def _sort(
    spec: Kind,
    rows: list[dict[str, Any]],
    stored: Mapping[Any, Mapping[Any, Any]],
    report: ImportReport,
    *,
    demo: bool,
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for values in rows:
        old = stored.get(values[spec.key])
        values = spec.merge(values, old)
        if spec.has_demo:
            values["demo"] = demo
        if old is not None and all(old[name] == value for name, value in values.items()):
            report.unchanged += 1
            continue
        if spec.stamped:
            values["updated_at"] = now
        (new if old is None else changed).append(values)
    report.new, report.updated = len(new), len(changed)
    return new, changed


async def _write(
    connection: AsyncConnection,
    spec: Kind,
    new: list[dict[str, Any]],
    changed: list[dict[str, Any]],
) -> None:
    """Both lists in batches (executemany), never a statement per row."""
    table = spec.table
    await _execute_in_batches(connection, insert(table), new)
    match = table.c[spec.key] == bindparam("match_key")
    keyed = [{**values, "match_key": values[spec.key]} for values in changed]
    await _execute_in_batches(connection, update(table).where(match), keyed)


async def _execute_in_batches(
    connection: AsyncConnection, statement: Executable, rows: list[dict[str, Any]]
) -> None:
    for start in range(0, len(rows), WRITE_BATCH):
        await connection.execute(statement, rows[start : start + WRITE_BATCH])


async def _stored(
    connection: AsyncConnection, spec: Kind, keys: list[Any]
) -> dict[Any, Mapping[Any, Any]]:
    """The stored rows with these keys, by key: a few queries for the whole file."""
    table = spec.table
    key = table.c[spec.key]
    query = select(*(table.c[name] for name in _value_columns(spec)))
    if connection.dialect.name == "postgresql":
        # An array parameter. A long IN list of parameters gets a generic plan that compares
        # every row with every key, which takes seconds on a table just filled (no statistics yet).
        batches = [
            query.where(key == any_(bindparam("keys", part, type_=ARRAY(key.type))))
            for part in (
                keys[start : start + KEYS_PER_ARRAY] for start in range(0, len(keys), KEYS_PER_ARRAY)
            )
        ]
    else:  # SQLite has no arrays; its IN lists are indexed, in batches under its variable limit
        batches = [
            query.where(key.in_(keys[start : start + KEYS_PER_QUERY]))
            for start in range(0, len(keys), KEYS_PER_QUERY)
        ]
    found: dict[Any, Mapping[Any, Any]] = {}
    for batch in batches:
        for row in await connection.execute(batch):
            found[row._mapping[spec.key]] = row._mapping
    return found


def _value_columns(spec: Kind) -> list[str]:
    """The columns an import writes and compares: all but the surrogate id and updated_at."""
    return [
        column.name
        for column in spec.table.columns
        if column.name not in ("id", "updated_at") and (spec.has_demo or column.name != "demo")
    ]


async def _record_status_changes(
    connection: AsyncConnection,
    stored: Mapping[Any, Mapping[str, Any]],
    written: list[dict[str, Any]],
    report: ImportReport,
    now: dt.datetime,
) -> None:
    history = []
    for values in written:
        code, status = values["tracking_code"], values["status"]
        old = stored.get(code)
        old_status = None if old is None else old["status"]
        if old_status != status:
            history.append(
                {
                    "tracking_code": code,
                    "status": status,
                    "changed_on": values["updated_on"],
                    "recorded_at": now,
                }
            )
            report.status_changes.append((code, old_status, status))
    await _execute_in_batches(connection, insert(application_history), history)


# --- the report --------------------------------------------------------------------------------


def format_report(
    report: ImportReport,
    translate: Callable[[str], str] = lambda s: s,
    number: Callable[[int], str] = str,
    limit: int | None = None,
) -> str:
    """The report for staff: what was written (or that nothing was, and why), then every rejected
    row. With `limit` (a message's length) the list is cut short with "… and N more"."""
    params: dict[str, object] = {
        "kind": translate(KIND_NAMES[report.kind]),
        "rows": report.rows,
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
    }
    lines = [render(_headline(report), params, translate, number)]
    if report.status_changes:
        lines.append(
            render(
                N_("Status changes recorded: {count}"),
                {"count": len(report.status_changes)},
                translate,
                number,
            )
        )
    errors = [error.text(translate, number) for error in report.errors]
    return "\n".join(lines + _fit(errors, len("\n".join(lines)), limit, translate, number))


def _headline(report: ImportReport) -> str:
    if report.ok and not report.dry_run:
        return N_(
            "Imported {kind}: {rows} rows; {new} new, {updated} updated, {unchanged} unchanged."
        )
    if report.ok:
        return N_(
            "Dry run of {kind}: all {rows} rows are valid; nothing was written. Importing would "
            "add {new}, update {updated} and leave {unchanged} unchanged."
        )
    if report.dry_run:
        return N_(
            "Dry run of {kind}: {rejected} of {rows} rows were rejected; nothing was written."
        )
    return N_(
        "Nothing was written: {rejected} of {rows} rows of {kind} were rejected. Correct them and "
        "import the whole file again."
    )


def _fit(
    errors: list[str],
    used: int,
    limit: int | None,
    translate: Callable[[str], str],
    number: Callable[[int], str],
) -> list[str]:
    """As many error lines as fit in `limit` characters after `used`, then "… and N more"."""
    if limit is None or used + sum(len(error) + 1 for error in errors) <= limit:
        return errors
    # Room for the newline and the "… and N more" line, whatever N turns out to be.
    room = (
        limit
        - used
        - 1
        - len(render(N_("… and {count} more"), {"count": 10**6}, translate, number))
    )
    kept: list[str] = []
    for error in errors:
        room -= len(error) + 1
        if room < 0:
            break
        kept.append(error)
    left = len(errors) - len(kept)
    return [*kept, render(N_("… and {count} more"), {"count": left}, translate, number)]
