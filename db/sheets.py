"""Reading a staff spreadsheet (.csv or .xlsx) into a header and rows of cleaned cells.

What the cells mean is db/importers.py's business; this module only gets them out of the file the way
import-formats.md says: any column order, cells cleaned, blank rows skipped, line numbers kept. It also
holds every file to LIMITS, and refuses one that is bigger as soon as that shows, before reading the
rest: a 1 MB workbook can unpack to gigabytes, and reading it would take minutes and all the memory.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any

from persiantools import characters

from db.text import to_ascii_digits

SUFFIXES = (".csv", ".xlsx")

Cell = str | dt.date
# (line in the file, cells), read from the file as they are asked for.
Rows = Generator[tuple[int, list[Cell]], None, None]


@dataclass(frozen=True)
class Limits:
    """The largest file an import takes (the README states them). Generous for a province's real
    files, small enough that reading one needs bounded time and memory."""

    rows: int = 200_000  # under the header; blank rows count, they are lines of the file
    columns: int = 100  # cells in a row, empty ones too: Excel writes formatted empty cells
    cell_chars: int = 8_000  # twice the longest text a column takes (import_rows.LONG_TEXT)
    line_chars: int = 1_000_000  # a line of a CSV
    # The file, and everything in an .xlsx once unpacked: a workbook of 200,000 cooperatives,
    # as openpyxl writes it (every text in its cell), unpacks to about 140 MB.
    megabytes: int = 256

    @property
    def bytes(self) -> int:
        return self.megabytes * 1024 * 1024

    @property
    def lines(self) -> int:
        return self.rows + 1  # and the header


LIMITS = Limits()
CHUNK = 1024 * 1024  # what is read, decoded or unpacked at a time


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


def _too_many_rows() -> ImportFileError:
    return ImportFileError(
        N_("the file has more than {rows} rows, more than one import takes; split it in parts"),
        rows=LIMITS.rows,
    )


def _too_many_cells(line: int) -> ImportFileError:
    return ImportFileError(
        N_("line {line} has more than {cells} cells; is this the right file?"),
        line=line,
        cells=LIMITS.columns,
    )


def _too_long_cell(line: int) -> ImportFileError:
    return ImportFileError(
        N_("line {line} has a cell longer than {chars} characters; is this the right file?"),
        line=line,
        chars=LIMITS.cell_chars,
    )


def _not_a_workbook() -> ImportFileError:
    return ImportFileError(N_("cannot open the file as an .xlsx workbook"))


@dataclass
class Sheet:
    """The header (column names trimmed and lower-cased) and the non-blank rows under it, each
    with its line number in the file (the header is line 1 in a file that starts with it).

    The rows are read from the file as they are taken, so that a large file is never all in
    memory at once; use the sheet in a `with` block, which lets go of the file."""

    header: list[str]
    is_csv: bool
    rows: Rows
    expected_rows: int  # about how many rows there are, for a progress bar

    def __enter__(self) -> Sheet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rows.close()


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


def read_sheet(source: IO[bytes], filename: str) -> Sheet:
    """The first sheet of an .xlsx workbook, or a CSV file, cleaned; raises ImportFileError.

    Reads only the header before it returns: the rows follow as the sheet's rows are taken."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in SUFFIXES:
        raise ImportFileError(
            N_("the file must be .csv or .xlsx, not {suffix}"), suffix=suffix or filename
        )
    if source.seek(0, io.SEEK_END) > LIMITS.bytes:
        raise ImportFileError(
            N_("the file is larger than {megabytes} MB, more than one import takes; split it in parts"),
            megabytes=LIMITS.megabytes,
        )
    source.seek(0)
    lines, raw_rows = _xlsx_rows(source) if suffix == ".xlsx" else _csv_rows(source)
    return _sheet(raw_rows, is_csv=suffix == ".csv", expected_rows=lines - 1)


def _sheet(raw_rows: Rows, *, is_csv: bool, expected_rows: int) -> Sheet:
    rows = _non_blank(raw_rows)
    try:
        header = _header(next(rows, None))
    except ImportFileError:
        rows.close()
        raise
    return Sheet(header, is_csv, rows, max(expected_rows, 0))


def _non_blank(raw_rows: Rows) -> Rows:
    with contextlib.closing(raw_rows):
        for line, cells in raw_rows:
            if any(cells):
                yield line, cells


def _header(first: tuple[int, list[Cell]] | None) -> list[str]:
    if first is None:
        raise ImportFileError(N_("the file is empty"))
    header = [str(name).casefold() for name in first[1]]
    while header and not header[-1]:
        header.pop()  # Excel often leaves empty columns after the last named one
    for number, name in enumerate(header, start=1):
        if not name:
            raise ImportFileError(N_("column {number} of the first row has no name"), number=number)
    return header


# --- CSV ---------------------------------------------------------------------------------------

# A byte-order mark says which encoding follows; without one a CSV is UTF-8 or Windows-1256.
_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _csv_rows(source: IO[bytes]) -> tuple[int, Rows]:
    encoding, lines = _csv_encoding(source)
    source.seek(0)
    return lines, _csv_records(io.TextIOWrapper(source, encoding=encoding, newline=""))


def _csv_encoding(source: IO[bytes]) -> tuple[str, int]:
    """The encoding the file is in and its number of lines, from a pass over it (two when it
    is neither marked nor UTF-8)."""
    start = source.read(len(codecs.BOM_UTF8))
    marked = [encoding for mark, encoding in _MARKS if start.startswith(mark)]
    for encoding in marked[:1] or ["utf-8", "cp1256"]:
        lines = _lines_if_text(source, encoding)
        if lines is not None:
            return encoding, lines
    raise ImportFileError(
        N_(
            "cannot read the file as text: a CSV must be in UTF-8, UTF-16 or Windows-1256 "
            "(Arabic); save it as “CSV UTF-8” or as .xlsx"
        )
    )


def _lines_if_text(source: IO[bytes], encoding: str) -> int | None:
    """How many lines the file has if it is text in this encoding (and, read as Windows-1256,
    looks like Persian); else None. Refuses a file with too many lines before reading the rest."""
    source.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    script = _Script() if encoding == "cp1256" else None
    newlines = returns = 0
    while True:
        chunk = source.read(CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return None
        if "\x00" in text:
            return None  # UTF-16 without its mark, or not text at all
        newlines, returns = newlines + text.count("\n"), returns + text.count("\r")
        if max(newlines, returns) > LIMITS.lines:
            raise _too_many_rows()
        if script is not None:
            script.read(text)
        if not chunk:
            break
    if script is not None and not script.persian:
        return None
    return max(newlines, returns)


# Letters (and, for Arabic, the vowel marks written on them) that Windows-1256 can give.
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_ARABIC = "\u0610-\u061a\u0620-\u065f\u066e-\u06d3\u06d5"
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5]")
_ACCENTED_LATIN = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
_MIXED_WORD = re.compile(f"[{_LATIN}][{_ARABIC}]|[{_ARABIC}][{_LATIN}]")


class _Script:
    """Whether text decoded as Windows-1256 is Persian, as Persian Excel saves it, or another
    encoding misread. Windows-1256 gives a character for every byte, so decoding never fails and
    a Latin-1 file would be imported as nonsense. But the letters tell: Persian gives Arabic
    letters in words of their own; a Latin-1 or Windows-1252 file ("José Müller, Straße") gives
    accented Latin letters, and Arabic letters inside Latin words ("Straكe"). Counting is enough
    for this yes-or-no; no dependency of ours guesses encodings (chardet and charset-normalizer,
    which weigh dozens of them, are not among them)."""

    def __init__(self) -> None:
        self.arabic = self.latin = 0
        self.mixed = False
        self._last = ""  # a word may run over two chunks

    def read(self, text: str) -> None:
        self.mixed = self.mixed or _MIXED_WORD.search(self._last + text) is not None
        self.arabic += len(text) - len(_ARABIC_LETTER.sub("", text))
        self.latin += len(text) - len(_ACCENTED_LATIN.sub("", text))
        self._last = text[-1:]

    @property
    def persian(self) -> bool:
        # Overwhelmingly Arabic letters (nine in ten at least): a Persian file may hold a name like
        # "Café", a few of them.
        return not self.mixed and self.latin * 9 <= self.arabic


def _csv_records(text: IO[str]) -> Rows:
    lines = _bounded_lines(text)
    read = []  # the lines up to the header, read again by csv so that line numbers hold
    for line in lines:
        read.append(line)
        if line.strip():
            break
    # Excel in some regional settings separates with ";" or a tab; a header holds no such cell.
    first_line = read[-1] if read else ""
    delimiter = "," if "," in first_line else "\t" if "\t" in first_line else ";"
    reader = csv.reader(itertools.chain(read, lines), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, _csv_cells(start, cells)
            start = reader.line_num + 1  # a quoted cell may span lines: name the row's first
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # csv's own bound, above ours
            raise _too_long_cell(start) from None
        raise ImportFileError(
            N_("line {line} is not valid CSV; check its quotes"), line=reader.line_num
        ) from None


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines, refusing one line too many or too long before reading it whole."""
    for number in itertools.count(1):
        line = text.readline(LIMITS.line_chars + 2)  # room for "\r\n"
        if not line:
            return
        if number > LIMITS.lines:
            raise _too_many_rows()
        if len(line.rstrip("\r\n")) > LIMITS.line_chars:
            raise ImportFileError(
                N_("line {line} is longer than {chars} characters; is this the right file?"),
                line=number,
                chars=LIMITS.line_chars,
            )
        yield line


def _csv_cells(line: int, cells: list[str]) -> list[Cell]:
    if len(cells) > LIMITS.columns:
        raise _too_many_cells(line)
    if max(map(len, cells), default=0) > LIMITS.cell_chars:
        raise _too_long_cell(line)
    return [clean_cell(cell) for cell in cells]


# --- .xlsx -------------------------------------------------------------------------------------


def _xlsx_rows(source: IO[bytes]) -> tuple[int, Rows]:
    lines = _check_workbook(source)
    source.seek(0)
    from openpyxl import load_workbook  # only when a workbook arrives: it is slow to import

    # A damaged workbook fails in many ways (zip, XML, missing parts), on opening or while its
    # rows are read; to staff they all mean the same thing.
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception:
        raise _not_a_workbook() from None
    return lines, _workbook_rows(workbook)


def _check_workbook(source: IO[bytes]) -> int:
    """Unpack every part of the workbook once, counting the bytes as they come, before openpyxl
    reads any of it: the sizes a zip declares can be forged. Returns the rows of its longest sheet."""
    unpacked = lines = 0
    try:
        with zipfile.ZipFile(source) as archive:
            for part in archive.infolist():
                scan = _XmlScan.of(part.filename)
                with archive.open(part) as data:
                    while chunk := data.read(CHUNK):
                        unpacked += len(chunk)
                        if unpacked > LIMITS.bytes:
                            raise ImportFileError(
                                N_(
                                    "the workbook unpacks to more than {megabytes} MB, more than "
                                    "one import takes; split it in parts"
                                ),
                                megabytes=LIMITS.megabytes,
                            )
                        if scan is not None:
                            scan.read(chunk)
                if scan is not None:
                    lines = max(lines, scan.rows)
    except ImportFileError:
        raise
    except Exception:  # not a zip, a damaged or an encrypted one
        raise _not_a_workbook() from None
    return lines


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")


class _XmlScan:
    """A sheet's or the shared strings' XML, chunk by chunk, without parsing it: the sheet's rows,
    and any text too long to be a cell's. XML writes "<" in text as "&lt;", so a cell's text is
    what lies between two "<"; no character takes more than 10 bytes (&#x10FFFF;), and the tag
    before the text fewer than 100, so a longer stretch holds a cell of more than cell_chars."""

    def __init__(self, is_sheet: bool) -> None:
        self.is_sheet = is_sheet
        self.rows = 0
        self._longest = LIMITS.cell_chars * 10 + 100
        self._too_long = re.compile(rb"<[^<]{%d}" % self._longest)
        self._tail = b""  # from the last "<" on: a tag or a text not yet whole

    @classmethod
    def of(cls, name: str) -> _XmlScan | None:
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            return cls(is_sheet=True)
        if name.endswith("sharedStrings.xml"):
            return cls(is_sheet=False)
        return None

    def read(self, chunk: bytes) -> None:
        data = self._tail + chunk
        cut = data.rfind(b"<")
        whole, self._tail = (data[:cut], data[cut:]) if cut > 0 else (b"", data)
        if len(self._tail) > self._longest or self._too_long.search(whole):
            raise ImportFileError(
                N_("the workbook has a cell longer than {chars} characters; is this the right file?"),
                chars=LIMITS.cell_chars,
            )
        if self.is_sheet:
            self.rows += len(_ROW_TAG.findall(whole))
            if self.rows > LIMITS.lines:
                raise _too_many_rows()


def _workbook_rows(workbook: Any) -> Rows:
    try:
        sheet = workbook.worksheets[0]
        # Some programs write a wrong "used range"; read what is there, not what it claims.
        sheet.reset_dimensions()
        # openpyxl makes up an empty row for each number a sheet skips: without max_row, a row
        # numbered 1,000,000,000 would have it make up a billion first.
        rows = sheet.iter_rows(values_only=True, max_row=LIMITS.lines + 1)
        for line, values in enumerate(rows, start=1):
            yield line, _xlsx_cells(line, values)
    except ImportFileError:
        raise
    except Exception:
        raise _not_a_workbook() from None
    finally:
        workbook.close()


def _xlsx_cells(line: int, values: tuple[object, ...]) -> list[Cell]:
    if line > LIMITS.lines:
        raise _too_many_rows()
    if len(values) > LIMITS.columns:
        raise _too_many_cells(line)
    cells = [_xlsx_cell(value) for value in values]
    if max((len(cell) for cell in cells if isinstance(cell, str)), default=0) > LIMITS.cell_chars:
        raise _too_long_cell(line)
    return cells


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
