"""Importing staff spreadsheets (import-formats.md), and `coopbot import`. Both databases."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from persiantools import characters
from sqlalchemy import Table, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from db import importers
from db.cooperatives import distance_km
from db.importers import ImportFileError, format_report, import_file
from db.reference import reference
from db.schema import (
    application_history,
    applications,
    audit_log,
    cooperatives,
    programs,
)
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

RAFSANJAN = reference().counties[184]  # in Kerman, IR-08
COOP_COLUMNS = [
    "national_id",
    "name",
    "value_chain",
    "role",
    "province_id",
    "county_id",
    "lat",
    "lon",
    "address",
    "phone",
    "members",
    "women_led",
    "active",
]
APPLICATION_COLUMNS = [
    "tracking_code",
    "kind",
    "subject",
    "applicant_phone",
    "status",
    "updated_on",
    "note_fa",
]


def shipped(name: str) -> bytes:
    return (resources.files("db.reference") / name).read_bytes()


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def coop(national_id: str = "10100000001", **changes: str) -> dict[str, str]:
    row = {
        "national_id": national_id,
        "name": "تعاونی زنبورداران رفسنجان",
        "value_chain": "beekeeping",
        "role": "production",
        "province_id": "IR-08",
        "county_id": str(RAFSANJAN.id),
        "lat": "30.41",
        "lon": "56.01",
        "address": "رفسنجان، خیابان امام",
        "phone": "034-34251234",
        "members": "42",
        "women_led": "0",
        "active": "1",
    }
    return {**row, **changes}


def application(code: str = "AB123456", **changes: str) -> dict[str, str]:
    row = {
        "tracking_code": code,
        "kind": "membership",
        "subject": "تعاونی زنبورداران بم",
        "applicant_phone": "09121234567",
        "status": "submitted",
        "updated_on": "1403/07/15",
        "note_fa": "",
    }
    return {**row, **changes}


def table_of(*rows: dict[str, str], encoding: str = "utf-8") -> bytes:
    header = list(rows[0])
    return csv_bytes([header, *([row[name] for name in header] for row in rows)], encoding)


async def do_import(
    engine: AsyncEngine, kind: str, data: bytes, name: str = "file.csv", **options: Any
) -> Any:
    return await import_file(engine, kind, data, filename=name, **options)


async def rows_of(engine: AsyncEngine, table: Table, *order: str) -> list[Mapping[Any, Any]]:
    async with engine.connect() as connection:
        query = select(table).order_by(*(table.c[name] for name in order))
        return [row._mapping for row in await connection.execute(query)]


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


# --- the shipped reference files ---------------------------------------------------------------


async def test_the_shipped_value_chains_import_cleanly_and_change_nothing(
    engine: AsyncEngine,
) -> None:
    report = await do_import(engine, "value-chains", shipped("value-chains.csv"))
    # The migration seeded the same six chains.
    assert (report.ok, report.rows, report.new, report.updated, report.unchanged) == (
        True,
        6,
        0,
        0,
        6,
    )


async def test_the_shipped_programs_import_cleanly_and_a_second_import_changes_nothing(
    engine: AsyncEngine,
) -> None:
    first = await do_import(engine, "programs", shipped("programs.csv"))
    assert format_report(first) == "Imported programs: 17 rows; 17 new, 0 updated, 0 unchanged."
    before = await rows_of(engine, programs, "program_id")
    second = await do_import(engine, "programs", shipped("programs.csv"))
    assert format_report(second) == ("Imported programs: 17 rows; 0 new, 0 updated, 17 unchanged.")
    assert await rows_of(engine, programs, "program_id") == before  # updated_at untouched too
    exemplary = next(row for row in before if row["program_id"] == "guarantee_exemplary")
    assert exemplary["eligibility"] == ";exemplary;"
    assert "ممتاز" in exemplary["search_text"] and "exemplary" in exemplary["search_text"]


async def test_an_unquoted_comma_rejects_its_line_by_number_and_nothing_is_written(
    engine: AsyncEngine,
) -> None:
    # The shared programs.csv as first delivered: line 17's English summary lost its quotes.
    lines = shipped("programs.csv").decode().splitlines()
    assert lines[16].startswith("knowledge_based_coops,")
    lines[16] = lines[16].replace('"Support for', "Support for").replace('(MENTA)."', "(MENTA).")
    report = await do_import(engine, "programs", "\n".join(lines).encode())
    assert format_report(report) == (
        "Nothing was written: 1 of 17 rows of programs were rejected. Correct them and import "
        "the whole file again.\n"
        "line 17: the row has 16 cells but the header has 15: a cell that holds a comma must be "
        "in quotes"
    )
    assert await count(engine, programs) == 0


# --- speed and idempotence ---------------------------------------------------------------------


def ten_thousand_cooperatives() -> bytes:
    """Cooperatives around every county seat, a few kilometres off, in every chain."""
    rng = random.Random(7)
    seats = list(reference().counties.values())
    chains = list(reference().chains)
    rows = [COOP_COLUMNS]
    for n in range(10_000):
        seat = seats[n % len(seats)]
        rows.append(
            [
                str(14000000000 + n),
                f"تعاونی {seat.name_fa} شماره {n}",
                chains[n % len(chains)],
                ["production", "processing", "marketing", ""][n % 4],
                seat.province_id,
                str(seat.id),
                f"{seat.lat + rng.uniform(-0.03, 0.03):.5f}",
                f"{seat.lon + rng.uniform(-0.03, 0.03):.5f}",
                "",
                "",
                str(rng.randint(7, 400)),
                "1" if n % 5 == 0 else "0",
                "1",
            ]
        )
    return csv_bytes(rows)


async def test_ten_thousand_cooperatives_import_in_seconds_and_again_change_nothing(
    engine: AsyncEngine,
) -> None:
    data = ten_thousand_cooperatives()
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    report = await do_import(
        engine, "cooperatives", data, progress=lambda d, t: calls.append((d, t))
    )
    elapsed = time.perf_counter() - started
    assert report.ok, format_report(report)[:500]
    assert (report.new, report.updated, report.unchanged) == (10_000, 0, 0)
    assert elapsed < 15, f"10,000 cooperatives took {elapsed:.1f} s"
    assert calls[0] == (500, 10_000) and calls[-1] == (10_000, 10_000)
    again = await do_import(engine, "cooperatives", data)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 10_000)
    assert await count(engine, cooperatives) == 10_000
    async with engine.connect() as connection:
        women = await connection.execute(
            select(func.count()).where(cooperatives.c.tags == ";women;")
        )
        assert women.scalar() == 2_000


async def test_rows_are_written_in_batches_so_that_members_are_answered_between_them(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importers, "WRITE_BATCH", 2)
    batches: list[int] = []

    def record(*args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        if statement.startswith("INSERT INTO cooperatives"):
            batches.append(len(parameters) if executemany else 1)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    data = table_of(*(coop(f"{10100000000 + n}") for n in range(5)))
    report = await do_import(engine, "cooperatives", data)
    assert (report.new, batches) == (5, [2, 2, 1])


# --- file shapes: encodings, workbooks, Persian digits, dates ----------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1256"])
async def test_a_csv_in_each_encoding_keeps_the_persian_text(
    engine: AsyncEngine, encoding: str
) -> None:
    name = "تعاونی صنایع‌دستی بانوان کرمان"
    # Windows-1256 has no Persian ی or ک: Persian Excel writes the Arabic letters instead.
    written = characters.fa_to_ar(name) if encoding == "cp1256" else name
    data = table_of(coop(name=written, address=written), encoding=encoding)
    report = await do_import(engine, "cooperatives", data)
    assert report.ok, format_report(report)
    [row] = await rows_of(engine, cooperatives, "id")
    assert (row["name"], row["address"]) == (name, name)
    assert row["name_key"] == "تعاونی صنایع دستی بانوان کرمان"


async def test_a_workbook_gives_numbers_as_written_and_date_cells_as_dates(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "national_id", "value_chain", "province_id", "county_id", "lat", "lon"])
    sheet.append(["تعاونی یک", 10100000001, "beekeeping", "IR-08", 184, 30.41, 56.01])
    sheet.append(["تعاونی دو", 10100000002.0, "apparel", "IR-08", 184.0, 30.39, 55.98])
    path = tmp_path / "coops.xlsx"
    book.save(path)
    report = await import_file(engine, "cooperatives", path)
    assert report.ok, format_report(report)
    stored = await rows_of(engine, cooperatives, "national_id")
    assert [(r["national_id"], r["county_id"], r["lat"]) for r in stored] == [
        ("10100000001", 184, 30.41),
        ("10100000002", 184, 30.39),
    ]

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(APPLICATION_COLUMNS[:6])
    sheet.append(["AB123456", "membership", "عضویت", 9121234567, "submitted", dt.date(2024, 10, 6)])
    sheet.append(["CD654321", "membership", "عضویت", "09351234567", "approved", "1403/07/16"])
    sheet["F2"].number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    report = await do_import(engine, "applications", buffer.getvalue(), "apps.XLSX")
    assert report.ok, format_report(report)
    stored = await rows_of(engine, applications, "tracking_code")
    assert [(r["applicant_phone"], r["updated_on"]) for r in stored] == [
        ("09121234567", dt.date(2024, 10, 6)),
        ("09351234567", dt.date(2024, 10, 7)),
    ]


async def test_persian_and_arabic_digits_and_arabic_letters_are_read_as_meant(
    engine: AsyncEngine,
) -> None:
    data = table_of(
        coop("۱۰۱۰۰۰۰۰۰۰۱", name="تعاوني كرمان", county_id="۱۸۴", lat="۳۰٫۴۱", members="۴۲"),
        coop("١٠١٠٠٠٠٠٠٠٢", province_id=" ir-08 ", lon="٥٦.٠١", women_led="١"),
    )
    report = await do_import(engine, "cooperatives", data)
    assert report.ok, format_report(report)
    first, second = await rows_of(engine, cooperatives, "national_id")
    assert (first["national_id"], first["name"], first["county_id"]) == (
        "10100000001",
        "تعاونی کرمان",
        184,
    )
    assert (first["lat"], first["members"]) == (30.41, 42)
    assert (second["national_id"], second["province_id"], second["lon"]) == (
        "10100000002",
        "IR-08",
        56.01,
    )
    assert second["tags"] == ";women;"


@pytest.mark.parametrize(
    "written", ["1403/07/15", "1403-07-15", "۱۴۰۳/۷/۱۵", "2024-10-06", "2024/10/06"]
)
async def test_jalali_and_gregorian_dates_are_both_read(engine: AsyncEngine, written: str) -> None:
    report = await do_import(engine, "applications", table_of(application(updated_on=written)))
    assert report.ok, format_report(report)
    [row] = await rows_of(engine, applications, "tracking_code")
    assert row["updated_on"] == dt.date(2024, 10, 6)


async def test_codes_and_phones_are_stored_in_the_form_members_type_them_in(
    engine: AsyncEngine,
) -> None:
    data = table_of(application("ab-123 456", applicant_phone="+98 912 123-4567"))
    report = await do_import(engine, "applications", data)
    assert report.ok, format_report(report)
    [row] = await rows_of(engine, applications, "tracking_code")
    assert (row["tracking_code"], row["applicant_phone"]) == ("AB123456", "09121234567")


async def test_header_names_are_trimmed_case_insensitive_and_in_any_order(
    engine: AsyncEngine,
) -> None:
    row = coop()
    header = list(reversed(row))
    data = csv_bytes([[f" {name.upper()} " for name in header], [row[name] for name in header]])
    report = await do_import(engine, "cooperatives", data)
    assert report.ok and report.new == 1, format_report(report)


async def test_blank_rows_are_skipped_and_lines_keep_their_numbers(engine: AsyncEngine) -> None:
    rows = [COOP_COLUMNS, [coop()[c] for c in COOP_COLUMNS], [], [""] * 13]
    rows.append([coop("10100000002", county_id="999")[c] for c in COOP_COLUMNS])
    report = await do_import(engine, "cooperatives", csv_bytes(rows))
    assert report.rows == 2
    assert [error.text() for error in report.errors] == [
        "line 5, county_id: county 999 is not in province IR-08"
    ]


async def test_rows_that_do_not_line_up_with_the_header_are_rejected_whole(
    engine: AsyncEngine,
) -> None:
    data = b"code,name_fa,name_en\nsilk,\xd8\xa7\xd8\xa8,Silk\nwool,x\n"
    report = await do_import(engine, "value-chains", data)
    assert [error.text() for error in report.errors] == [
        "line 3: the row has 2 cells but the header has 3"
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "name_fa"])
    sheet.append(["silk", "ابریشم"])
    sheet.append(["wool", "پشم", "stray"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = await do_import(engine, "value-chains", buffer.getvalue(), "chains.xlsx")
    assert [error.text() for error in report.errors] == [
        "line 3: the row has a value after the last named column"
    ]


# --- rejected rows -----------------------------------------------------------------------------


async def test_a_file_with_bad_rows_writes_nothing_and_the_report_names_each_line(
    engine: AsyncEngine,
) -> None:
    tehran = round(distance_km(35.7, 51.4, RAFSANJAN.lat, RAFSANJAN.lon))
    data = table_of(
        coop("10100000001"),
        coop("10100000002", county_id="2"),
        coop("10100000003", lat="56.01", lon="30.41"),
        coop("12345"),
        coop("10100000005", value_chain="silk"),
        coop("10100000006", name=""),
        coop("10100000007", lat="35.7", lon="51.4"),
        coop("10100000008", women_led="yes", members="many"),
        coop("10100000009", lat="12.5", lon="13"),
    )
    report = await do_import(engine, "cooperatives", data)
    assert not report.ok
    assert format_report(report) == "\n".join(
        [
            "Nothing was written: 8 of 9 rows of cooperatives were rejected. Correct them and "
            "import the whole file again.",
            "line 3, county_id: county 2 is not in province IR-08",
            "line 4, lat/lon: 56.01, 30.41 is outside Iran: are lat and lon swapped?",
            "line 5, national_id: 12345 is not a national id: it must be exactly 11 digits",
            "line 6, value_chain: unknown value chain silk",
            "line 7, name: a value is required",
            f"line 8, lat/lon: 35.7, 51.4 is {tehran} km from the seat of county 184: check the "
            "numbers (swapped, or a digit wrong) and the county",
            "line 9, members: many is not a whole number",
            "line 9, women_led: yes must be 1 or 0",
            "line 10, lat/lon: 12.5, 13 is outside Iran (lat 25 to 40, lon 44 to 64)",
        ]
    )
    assert await count(engine, cooperatives) == 0
    assert await count(engine, audit_log) == 0


async def test_bad_program_and_application_cells_are_named(engine: AsyncEngine) -> None:
    header = ["program_id", "title_fa", "category", "summary_fa", "value_chains", "provinces"]
    header += ["eligibility", "opens_on", "closes_on"]
    good = ["p1", "وام", "loan", "وام ارزان", "beekeeping;apparel", "IR-08؛IR-11", "women", "", ""]
    bad = ["p 2", "وام", "gift", "وام", "silk", "IR-99", "young", "1403/13/01", ""]
    late = ["p3", "وام", "loan", "وام", "", "", "", "1403/07/15", "1403/07/01"]
    report = await do_import(engine, "programs", csv_bytes([header, good, bad, late]))
    assert [error.text() for error in report.errors] == [
        "line 3, program_id: p 2 is not an id: use Latin letters, digits, _ and -",
        "line 3, category: gift is not one of: loan, grant, guarantee, insurance, tax, "
        "training, market, other",
        "line 3, value_chains: unknown value chain silk",
        "line 3, provinces: unknown province IR-99; write its code, e.g. IR-08",
        "line 3, eligibility: young is not an eligibility tag; the tags are: women, "
        "knowledge_based, border, deprived_area, rural, union, exemplary",
        "line 3, opens_on: 1403/13/01 is not a date; write it as 1403/07/15 or 2024-10-06",
        "line 4, closes_on: closes_on is before opens_on",
    ]
    data = table_of(application("AB12", applicant_phone="0912", status="lost"))
    report = await do_import(engine, "applications", data)
    assert [error.text() for error in report.errors] == [
        "line 2, tracking_code: AB12 is not a tracking code: it must be 6 to 20 letters and digits",
        "line 2, applicant_phone: 0912 is not a mobile number like 09121234567",
        "line 2, status: lost is not one of: submitted, under_review, needs_documents, approved, "
        "rejected, completed",
    ]


async def test_a_program_id_longer_than_its_card_button_can_carry_is_refused(
    engine: AsyncEngine,
) -> None:
    header = ["program_id", "title_fa", "category", "summary_fa"]
    rows = [["p" * 32, "وام", "loan", "وام ارزان"], ["p" * 33, "وام", "loan", "وام ارزان"]]
    report = await do_import(engine, "programs", csv_bytes([header, *rows]))
    assert [error.text() for error in report.errors] == [
        "line 3, program_id: too long: 33 characters, at most 32"
    ]


async def test_a_key_repeated_in_the_file_rejects_the_later_row_naming_the_first(
    engine: AsyncEngine,
) -> None:
    data = table_of(coop("10100000001"), coop("10100000002"), coop("10100000001"))
    report = await do_import(engine, "cooperatives", data)
    assert [error.text() for error in report.errors] == [
        "line 4, national_id: 10100000001 is already on line 2; a key may appear only once"
    ]
    # Two spellings of one tracking code are one code.
    report = await do_import(
        engine, "applications", table_of(application("AB123456"), application("ab-123456"))
    )
    assert [error.text() for error in report.errors] == [
        "line 3, tracking_code: ab-123456 is already on line 2; a key may appear only once"
    ]
    assert await count(engine, cooperatives) == 0


@pytest.mark.parametrize(
    ("data", "name", "kind", "message"),
    [
        (b"", "empty.csv", "programs", "the file is empty"),
        (b"\r\n\r\n", "blank.csv", "programs", "the file is empty"),
        (b"%PDF-1.4", "list.pdf", "programs", "the file must be .csv or .xlsx, not .pdf"),
        (b"not a zip", "book.xlsx", "programs", "cannot open the file as an .xlsx workbook"),
        (
            "a,b".encode("utf-16-le"),  # without the byte-order mark that says it is UTF-16
            "u16.csv",
            "programs",
            "cannot read the file as text: a CSV must be in UTF-8, UTF-16 or Windows-1256 "
            "(Arabic); save it as “CSV UTF-8” or as .xlsx",
        ),
        (
            b"code,name_fa\n",
            "chains.csv",
            "value-chains",
            "the file has column names but no rows under them",
        ),
        (
            b"silk,\xd8\xa7\xd8\xa8\xd8\xb1\xdb\x8c\xd8\xb4\xd9\x85\n",
            "chains.csv",
            "value-chains",
            "the first row must hold the column names: code, name_fa, name_en, priority",
        ),
        (
            b"code,name_fa,colour,size\nsilk,x,red,2\n",
            "chains.csv",
            "value-chains",
            "unknown column(s): colour, size; the columns are: code, name_fa, name_en, priority",
        ),
        (
            b"code,name_en\nsilk,Silk\n",
            "chains.csv",
            "value-chains",
            "required column(s) missing: name_fa",
        ),
        (
            b"code,name_fa,Code\nsilk,x,y\n",
            "chains.csv",
            "value-chains",
            "column code appears more than once",
        ),
        (
            b"code,name_fa\nsilk,x\n",
            "chains.csv",
            "shops",
            "unknown kind shops; the kinds are: cooperatives, programs, applications, value-chains",
        ),
    ],
)
async def test_a_file_level_problem_is_one_line_naming_it(
    engine: AsyncEngine, data: bytes, name: str, kind: str, message: str
) -> None:
    with pytest.raises(ImportFileError) as raised:
        await do_import(engine, kind, data, name)
    assert str(raised.value) == message


# --- what an import writes ---------------------------------------------------------------------


async def test_a_dry_run_writes_nothing_but_says_what_would_change(engine: AsyncEngine) -> None:
    data = table_of(coop("10100000001"), coop("10100000002"))
    report = await do_import(engine, "cooperatives", data, dry_run=True)
    assert format_report(report) == (
        "Dry run of cooperatives: all 2 rows are valid; nothing was written. Importing would add "
        "2, update 0 and leave 0 unchanged."
    )
    assert await count(engine, cooperatives) == 0
    bad = await do_import(engine, "cooperatives", table_of(coop("1")), dry_run=True)
    assert format_report(bad).splitlines()[0] == (
        "Dry run of cooperatives: 1 of 1 rows were rejected; nothing was written."
    )
    assert await count(engine, audit_log) == 0


async def test_a_changed_row_is_updated_and_unchanged_rows_keep_their_updated_at(
    engine: AsyncEngine,
) -> None:
    await do_import(engine, "cooperatives", table_of(coop("10100000001"), coop("10100000002")))
    before = await rows_of(engine, cooperatives, "national_id")
    changed = table_of(coop("10100000001"), coop("10100000002", members="43"))
    report = await do_import(engine, "cooperatives", changed)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    after = await rows_of(engine, cooperatives, "national_id")
    assert after[0] == before[0]
    assert after[1]["members"] == 43 and after[1]["updated_at"] > before[1]["updated_at"]
    assert after[1]["id"] == before[1]["id"]


async def test_women_led_is_the_women_tag_and_tags_set_elsewhere_stay(
    engine: AsyncEngine,
) -> None:
    await do_import(engine, "cooperatives", table_of(coop(women_led="1")))
    async with engine.begin() as connection:
        await connection.execute(update(cooperatives).values(tags=";rural;women;"))
    report = await do_import(engine, "cooperatives", table_of(coop(women_led="0")))
    assert report.updated == 1
    [row] = await rows_of(engine, cooperatives, "id")
    assert row["tags"] == ";rural;"
    assert row["active"] is True  # the default


async def test_a_status_change_is_recorded_in_history_and_reported(engine: AsyncEngine) -> None:
    first = await do_import(
        engine, "applications", table_of(application("AB123456"), application("CD654321"))
    )
    assert first.status_changes == [
        ("AB123456", None, "submitted"),
        ("CD654321", None, "submitted"),
    ]
    data = table_of(
        application("AB123456", status="approved", updated_on="1403/08/01"),
        application("CD654321"),
    )
    second = await do_import(engine, "applications", data)
    assert (second.new, second.updated, second.unchanged) == (0, 1, 1)
    assert second.status_changes == [("AB123456", "submitted", "approved")]
    assert format_report(second) == (
        "Imported applications: 2 rows; 0 new, 1 updated, 1 unchanged.\nStatus changes recorded: 1"
    )
    history = await rows_of(engine, application_history, "id")
    assert [(h["tracking_code"], h["status"], h["changed_on"]) for h in history] == [
        ("AB123456", "submitted", dt.date(2024, 10, 6)),
        ("CD654321", "submitted", dt.date(2024, 10, 6)),
        ("AB123456", "approved", dt.date(2024, 10, 22)),
    ]
    # A new note alone is an update, not a status change.
    third = await do_import(
        engine,
        "applications",
        table_of(
            application("AB123456", status="approved", updated_on="1403/08/01", note_fa="بیایید"),
            application("CD654321"),
        ),
    )
    assert (third.updated, third.status_changes) == (1, [])
    assert await count(engine, application_history) == 3


async def test_each_real_import_writes_one_audit_entry(engine: AsyncEngine) -> None:
    await do_import(engine, "programs", shipped("programs.csv"), actor_id=9001, platform="bale")
    await do_import(engine, "programs", shipped("programs.csv"))
    await do_import(engine, "programs", shipped("programs.csv"), dry_run=True)
    entries = await rows_of(engine, audit_log, "id")
    assert [(e["platform"], e["actor_id"], e["action"], e["detail"]) for e in entries] == [
        ("bale", 9001, "import", "programs: 17 rows, 17 new, 0 updated, 0 unchanged"),
        ("shell", None, "import", "programs: 17 rows, 0 new, 0 updated, 17 unchanged"),
    ]


async def test_demo_imports_are_labelled_demo(engine: AsyncEngine) -> None:
    await do_import(engine, "cooperatives", table_of(coop()), demo=True)
    await do_import(engine, "applications", table_of(application()), demo=True)
    await do_import(engine, "programs", shipped("programs.csv"), demo=True)
    for table in (cooperatives, applications, programs):
        assert {
            row["demo"] for row in await rows_of(engine, table, *table.primary_key.columns.keys())
        } == {True}
    # The same rows imported for real are no longer demo rows.
    report = await do_import(engine, "cooperatives", table_of(coop()))
    assert report.updated == 1
    [row] = await rows_of(engine, cooperatives, "id")
    assert row["demo"] is False


# --- coopbot import ----------------------------------------------------------------------------


def test_coopbot_import_prints_the_report_and_exits_0(
    shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shell / "programs.csv").write_bytes(shipped("programs.csv"))
    assert main(["import", "programs", "programs.csv"]) == 0
    assert capsys.readouterr().out == (
        "Imported programs: 17 rows; 17 new, 0 updated, 0 unchanged.\n"
    )
    assert main(["import", "programs", "programs.csv", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("Dry run of programs: all 17 rows are valid;")


def test_coopbot_import_of_a_bad_file_prints_the_report_and_exits_1(
    shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shell / "coops.csv").write_bytes(table_of(coop(), coop("10100000002", county_id="999")))
    assert main(["import", "cooperatives", "coops.csv"]) == 1
    assert capsys.readouterr().out == (
        "Nothing was written: 1 of 2 rows of cooperatives were rejected. Correct them and "
        "import the whole file again.\n"
        "line 3, county_id: county 999 is not in province IR-08\n"
    )


def test_coopbot_import_of_an_unusable_file_is_one_line(
    shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shell / "chains.csv").write_bytes(b"code,name_fa,colour\nsilk,x,red\n")
    assert main(["import", "value-chains", "chains.csv"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "coopbot: chains.csv: unknown column(s): colour; the columns are: code, name_fa, "
        "name_en, priority\n"
    )
