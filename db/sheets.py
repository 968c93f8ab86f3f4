"""Reading a staff spreadsheet (.csv or .xlsx) into a header and rows of cleaned cells.

What the cells mean is db/importers.py's business; this module only gets them out of the file the way
import-formats.md says: any column order, cells cleaned, blank rows skipped, line numbers kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from persiantools import characters

from db.text import to_ascii_digits

SUFFIXES = (".csv", ".xlsx")

Cell = str | dt.date


def N_(message: str) -> str:
    """Marks a message for extraction; the bot translates it where it is shown (db/ imports no bot/)."""
    return message


def render(
    message_id: str,
    params: dict[str, object],
    translate: Callable[[str], str] = lambda s: s,
    number: Callable[[int], str] = str,
) -> str:
    """A message in the reader's language: whole numbers through `number` (Persian digits in fa)."""
    shown = {
        name: number(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in params.items()
    }
    return translate(message_id).format(**shown)


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message names what to fix, in one line."""

    def __init__(self, message_id: str, **params: object) -> None:
        self.message_id, self.params = message_id, params
        super().__init__(render(message_id, params))

    def text(
        self, translate: Callable[[str], str] = lambda s: s, number: Callable[[int], str] = str
    ) -> str:
        return render(self.message_id, self.params, translate, number)


@dataclass
class Sheet:
    """The header (column names trimmed and lower-cased) and the non-blank rows under it, each
    with its line number in the file (the header is line 1 in a file that starts with it)."""

    header: list[str]
    is_csv: bool
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)


# Marks that arrive with pasted text and make "12345678901" differ from itself; ZWNJ is kept,
# it is part of Persian spelling.
_INVISIBLE = re.compile("[\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")


def clean_cell(text: str) -> str:
    """import-formats.md: spaces trimmed, Arabic ي/ك made Persian, Persian/Arabic digits read as digits."""
    if text.isascii():  # most cells: codes, numbers, dates; skip the slower Persian path
        return text.strip()
    text = unicodedata.normalize("NFC", text)
    text = characters.ar_to_fa(to_ascii_digits(text))
    return _INVISIBLE.sub("", text).replace("\u00a0", " ").strip()


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The first sheet of an .xlsx workbook, or a CSV file, cleaned; raises ImportFileError."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in SUFFIXES:
        raise ImportFileError(
            N_("the file must be .csv or .xlsx, not {suffix}"), suffix=suffix or filename
        )
    raw_rows = _xlsx_rows(data) if suffix == ".xlsx" else _csv_rows(data)
    return _sheet(raw_rows, is_csv=suffix == ".csv")


def _sheet(raw_rows: Iterator[tuple[int, list[Cell]]], *, is_csv: bool) -> Sheet:
    rows = [(line, cells) for line, cells in raw_rows if any(cells)]
    if not rows:
        raise ImportFileError(N_("the file is empty"))
    header = [str(name).casefold() for name in rows[0][1]]
    while header and not header[-1]:
        header.pop()  # Excel often leaves empty columns after the last named one
    for number, name in enumerate(header, start=1):
        if not name:
            raise ImportFileError(N_("column {number} of the first row has no name"), number=number)
    return Sheet(header, is_csv, rows[1:])


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    text = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Excel in some regional settings separates with ";" or a tab; a header holds no such cell.
    delimiter = "," if "," in first_line else "\t" if "\t" in first_line else ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, [clean_cell(cell) for cell in cells]
            start = reader.line_num + 1  # a quoted cell may span lines: name the row's first
    except csv.Error:
        raise ImportFileError(
            N_("line {line} is not valid CSV; check its quotes"), line=reader.line_num
        ) from None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1256, what Persian Excel saves."""
    if b"\x00" in data:  # UTF-16 "Unicode text", or not text at all
        raise ImportFileError(N_("cannot read the file as text; save it as CSV UTF-8 or .xlsx"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1256")  # every byte is a character in Windows-1256


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    from openpyxl import load_workbook  # only when a workbook arrives: it is slow to import

    # A damaged workbook fails in many ways (zip, XML, missing parts), on opening or while its
    # rows are read; to staff they all mean the same thing.
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ImportFileError(N_("cannot open the file as an .xlsx workbook")) from None
    try:
        sheet = workbook.worksheets[0]
        # Some programs write a wrong "used range"; read what is there, not what it claims.
        sheet.reset_dimensions()
        rows = [
            [_xlsx_cell(value) for value in values] for values in sheet.iter_rows(values_only=True)
        ]
    except Exception:
        raise ImportFileError(N_("cannot open the file as an .xlsx workbook")) from None
    finally:
        workbook.close()
    yield from enumerate(rows, start=1)


def _xlsx_cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float):
        # Excel keeps every number as a float: a national id must not become "12345678901.0".
        return str(int(value)) if value.is_integer() else repr(value)
    return clean_cell(str(value))
