"""Files no import should take, refused in seconds with one line before they are read whole; and
which CSV encodings are read, and which are refused rather than imported as nonsense."""

from __future__ import annotations

import codecs
import io
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from bot.offline import Member
from db import sheets
from db.schema import cooperatives, value_chains
from tests.conftest import ADMIN_ID, MemberFactory
from tests.test_importers import coop, table_of
from tests.test_imports_handler import count

CHECKING_FA = "⏳ در حال بررسی فایل تعاونی‌ها…"
ENCODINGS_FA = (
    "فایل وارد نشد: متن فایل خوانده نمی‌شود: فایل CSV باید با یکی از رمزگذاری‌های UTF-8، UTF-16 "
    "یا Windows-1256 (عربی) باشد؛ آن را با قالب «CSV UTF-8» یا xlsx ذخیره کنید"
)
TOO_MANY_ROWS_FA = (
    "فایل وارد نشد: فایل بیش از ۲۰۰٬۰۰۰ ردیف دارد و در یک بار ورود نمی‌گنجد؛ آن را به چند "
    "فایل تقسیم کنید"
)


@pytest.fixture
def staff(member_factory: MemberFactory) -> Member:
    return member_factory(ADMIN_ID, first_name="Zahra")


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl must not see the file: parsing it is what takes minutes and gigabytes."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl was given the file")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


@pytest.fixture
def unpacked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many bytes anyone has unzipped so far."""
    total = [0]
    read = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = read(self, n)
        total[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    return total


def smaller_limits(monkeypatch: pytest.MonkeyPatch, **limits: int) -> None:
    monkeypatch.setattr(sheets, "LIMITS", sheets.Limits(**limits))


# A workbook as small as openpyxl reads: the package, the workbook, and one sheet.
_NS = 'xmlns="http://schemas.openxmlformats.org/'
_PARTS = {
    "[Content_Types].xml": f'<Types {_NS}package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>",
    "_rels/.rels": f'<Relationships {_NS}package/2006/relationships"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook {_NS}spreadsheetml/2006/main" xmlns:r="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships {_NS}package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}


def workbook(rows: Iterable[bytes], **more_parts: Iterable[bytes]) -> bytes:
    """An .xlsx whose sheet holds these rows (XML), each part compressed as it is written: a
    hostile file is a few pieces repeated, which unpack to far more than the file's size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        sheet = [f'<worksheet {_NS}spreadsheetml/2006/main"><sheetData>'.encode(), *rows]
        for name, pieces in {"xl/worksheets/sheet1.xml": sheet, **more_parts}.items():
            with archive.open(name, "w") as part:
                for piece in pieces:
                    part.write(piece)
                if name.endswith("sheet1.xml"):
                    part.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def text_row(line: int, *texts: str) -> bytes:
    cells = "".join(f'<c t="inlineStr"><is><t>{text}</t></is></c>' for text in texts)
    return f'<row r="{line}">{cells}</row>'.encode()


COOPERATIVES_HEADER = text_row(1, *coop())


# --- workbooks ---------------------------------------------------------------------------------


async def test_a_workbook_of_millions_of_tiny_rows_is_refused_before_openpyxl_reads_it(
    staff: Member, no_openpyxl: None, unpacked: list[int]
) -> None:
    rows = [COOPERATIVES_HEADER, b"<row><c><v>1</v></c></row>" * 1_000_000]
    data = workbook(rows)
    await staff.send_document("coops.xlsx", data, caption="تعاونی‌ها")
    assert [(call.method, call.chat_id) for call in staff.messages] == [
        ("sendMessage", ADMIN_ID),
        ("sendMessage", ADMIN_ID),
    ]
    assert staff.texts == [CHECKING_FA, TOO_MANY_ROWS_FA]
    assert unpacked[0] < 26_000_000 / 2  # it stopped at row 200,002 of a million


async def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_as_it_unpacks(
    staff: Member, no_openpyxl: None, unpacked: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    smaller_limits(monkeypatch, megabytes=1)
    data = workbook([COOPERATIVES_HEADER, b"<x/>" * 1_000_000])  # 4 MB in a few kilobytes
    assert len(data) < 100_000
    await staff.send_document("coops.xlsx", data, caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: این فایل اکسل پس از باز شدن بیش از ۱ مگابایت است و در یک بار ورود "
        "نمی‌گنجد؛ آن را به چند فایل تقسیم کنید",
    ]
    assert unpacked[0] <= 2 * 1024 * 1024  # one chunk past the limit, not the 4 MB


@pytest.fixture(scope="session")
def picture_of_zeros() -> bytes:
    """A 1 MB workbook with a 300 MB "picture" in it: every part counts, not only the sheet."""
    zeros = bytes(1024 * 1024)
    return workbook([COOPERATIVES_HEADER], **{"xl/media/image1.png": [zeros] * 300})


async def test_a_workbook_beyond_the_real_unpacked_limit_is_refused(
    staff: Member, no_openpyxl: None, picture_of_zeros: bytes
) -> None:
    await staff.send_document("coops.xlsx", picture_of_zeros, caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: این فایل اکسل پس از باز شدن بیش از ۲۵۶ مگابایت است و در یک بار ورود "
        "نمی‌گنجد؛ آن را به چند فایل تقسیم کنید",
    ]


async def test_a_workbook_with_a_huge_cell_is_refused_within_its_first_megabytes(
    staff: Member, no_openpyxl: None, unpacked: list[int]
) -> None:
    huge = [b'<row r="2"><c t="inlineStr"><is><t>', b"a" * 1024 * 1024 * 100, b"</t></is></c></row>"]
    await staff.send_document("coops.xlsx", workbook([COOPERATIVES_HEADER, *huge]), caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: در این فایل اکسل خانه‌ای با بیش از ۸٬۰۰۰ نویسه هست؛ آیا فایل درست را "
        "فرستاده‌اید؟",
    ]
    assert unpacked[0] < 4 * 1024 * 1024  # of the 100 MB cell


async def test_a_long_cell_that_passes_the_scan_is_refused_naming_its_line(
    staff: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    smaller_limits(monkeypatch, cell_chars=100)
    # Rich text: a cell in runs of 90 characters, each shorter than the limit, 180 in all.
    runs = "".join(f"<r><t>{'ب' * 90}</t></r>" for _ in range(2))
    long = f'<row r="3"><c t="inlineStr"><is>{runs}</is></c></row>'.encode()
    await staff.send_document(
        "coops.xlsx", workbook([COOPERATIVES_HEADER, text_row(2, "x"), long]), caption="تعاونی‌ها"
    )
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: ردیف ۳ خانه‌ای با بیش از ۱۰۰ نویسه دارد؛ آیا فایل درست را فرستاده‌اید؟",
    ]


async def test_a_row_numbered_far_beyond_the_rest_is_refused(staff: Member) -> None:
    far = text_row(3_000_000, *coop().values())
    await staff.send_document("coops.xlsx", workbook([COOPERATIVES_HEADER, far]), caption="تعاونی‌ها")
    assert staff.texts == [CHECKING_FA, TOO_MANY_ROWS_FA]


async def test_a_row_with_too_many_cells_is_refused(staff: Member) -> None:
    wide = b'<row r="2"><c r="ZZ2"><v>1</v></c></row>'  # column 702
    await staff.send_document("coops.xlsx", workbook([COOPERATIVES_HEADER, wide]), caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: ردیف ۲ بیش از ۱۰۰ خانه دارد؛ آیا فایل درست را فرستاده‌اید؟",
    ]


# --- CSV files ---------------------------------------------------------------------------------


async def test_a_csv_of_too_many_rows_is_refused(staff: Member, engine: AsyncEngine) -> None:
    data = table_of(coop()) + b"x\r\n" * 200_000
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [CHECKING_FA, TOO_MANY_ROWS_FA]
    assert await count(engine, cooperatives) == 0


async def test_a_csv_with_a_huge_cell_is_refused_naming_its_line(staff: Member) -> None:
    data = table_of(coop(), coop("10100000002", address="ب" * 8_001))
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: ردیف ۳ خانه‌ای با بیش از ۸٬۰۰۰ نویسه دارد؛ آیا فایل درست را فرستاده‌اید؟",
    ]


async def test_a_csv_line_too_long_is_refused_before_it_is_read_whole(
    staff: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    smaller_limits(monkeypatch, line_chars=1000)
    data = table_of(coop()) + b"," * 5000 + b"\n"
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: ردیف ۳ بیش از ۱٬۰۰۰ نویسه دارد؛ آیا فایل درست را فرستاده‌اید؟",
    ]


async def test_a_csv_row_with_too_many_cells_is_refused(staff: Member) -> None:
    data = table_of(coop()) + b"," * 100 + b"\n"
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [
        CHECKING_FA,
        "فایل وارد نشد: ردیف ۳ بیش از ۱۰۰ خانه دارد؛ آیا فایل درست را فرستاده‌اید؟",
    ]


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),  # what Excel's "Unicode text" writes
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ],
    ids=["utf-16-le", "utf-16-be"],
)
async def test_a_utf16_csv_with_its_byte_order_mark_is_imported(
    staff: Member, engine: AsyncEngine, encode: object
) -> None:
    text = table_of(coop()).decode()
    await staff.send_document("coops.csv", encode(text), caption="تعاونی‌ها")  # type: ignore[operator]
    assert staff.texts == [
        CHECKING_FA,
        "ورود تعاونی‌ها انجام شد: ۱ ردیف؛ ۱ تازه، ۰ به‌روزشده، ۰ بدون تغییر.",
    ]
    assert await count(engine, cooperatives) == 1


async def test_a_latin1_csv_is_refused_not_imported_as_nonsense(
    staff: Member, engine: AsyncEngine
) -> None:
    data = "code,name_fa,name_en\nsilk,José Müller,Straße\n".encode("latin-1")
    await staff.send_document("chains.csv", data, caption="زنجیره‌ها")
    assert staff.texts == ["⏳ در حال بررسی فایل زنجیره‌های ارزش…", ENCODINGS_FA]
    assert await count(engine, value_chains) == 6  # the migration's, untouched


async def test_a_utf16_csv_without_its_byte_order_mark_is_refused(staff: Member) -> None:
    data = table_of(coop()).decode().encode("utf-16-le")
    await staff.send_document("coops.csv", data, caption="تعاونی‌ها")
    assert staff.texts == [CHECKING_FA, ENCODINGS_FA]


async def test_a_persian_windows_1256_csv_with_a_french_name_is_imported(
    staff: Member, engine: AsyncEngine
) -> None:
    # As Persian Excel saves it: Arabic ي and ك (Windows-1256 has no Persian ی and ک).
    text = "code,name_fa,name_en\nsaffron,زعفران كشت ايراني,Café Safran\n"
    await staff.send_document("chains.csv", text.encode("cp1256"), caption="زنجیره‌ها")
    assert staff.texts == [
        "⏳ در حال بررسی فایل زنجیره‌های ارزش…",
        "ورود زنجیره‌های ارزش انجام شد: ۱ ردیف؛ ۱ تازه، ۰ به‌روزشده، ۰ بدون تغییر.",
    ]
    assert await count(engine, value_chains) == 7


# --- coopbot import ----------------------------------------------------------------------------


def test_coopbot_import_refuses_a_file_over_the_limit_without_reading_it(
    shell: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = shell / "coops.csv"
    with big.open("wb") as file:  # sparse: 3 GB that take no room on the disk
        file.truncate(3 * 1024**3)
    tracemalloc.start()
    try:
        status = main(["import", "cooperatives", "coops.csv"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "coopbot: coops.csv: the file is larger than 256 MB, more than one import takes; "
        "split it in parts\n"
    )
    assert peak < 64 * 1024 * 1024


def test_coopbot_import_refuses_a_workbook_of_too_many_rows(
    shell: Path, capsys: pytest.CaptureFixture[str], no_openpyxl: None
) -> None:
    rows = [COOPERATIVES_HEADER, b"<row><c><v>1</v></c></row>" * 200_001]
    (shell / "coops.xlsx").write_bytes(workbook(rows))
    assert main(["import", "cooperatives", "coops.xlsx"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "coopbot: coops.xlsx: the file has more than 200,000 rows, more than one import takes; "
        "split it in parts\n"
    )
