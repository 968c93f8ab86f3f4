"""What each column of an import file must hold (import-formats.md): one pydantic model per kind.

A model validates one row of cleaned cells. Checks against the reference data in the database (chains,
provinces, counties and their seats) read it from the validation context, a `Known`, so every reason a
row is rejected comes out of one pass. A reason is a `Reason`: a message id staff see translated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, NamedTuple

import jdatetime
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationInfo,
    field_validator,
)

from db.applications import KINDS as APPLICATION_KINDS
from db.applications import STATUSES, clean_code, clean_phone, is_code
from db.cooperatives import ROLES, distance_km
from db.programs import CATEGORIES
from db.programs import TAGS as ELIGIBILITY_TAGS
from db.sheets import N_

IRAN_LAT = (25.0, 40.0)
IRAN_LON = (44.0, 64.0)
# A cooperative placed further than this from its county's seat has wrong numbers or a wrong county.
MAX_KM_FROM_SEAT = 150.0
LONG_TEXT = 4000  # fits a Telegram message with room to spare
# A year outside both ranges is a typing mistake, not a date from another century.
JALALI_YEARS = (1300, 1499)
GREGORIAN_YEARS = (1921, 2120)


class Reason(ValueError):
    """Why a cell is rejected: a message id for the translator and its parameters."""

    def __init__(self, message_id: str, column: str | None = None, **params: object) -> None:
        super().__init__(message_id)
        self.message_id, self.column, self.params = message_id, column, params


# --- cells into values -------------------------------------------------------------------------


def _text(limit: int) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = str(value)  # a date cell in a text column reads as its ISO form
        if len(text) > limit:
            raise Reason(
                N_("too long: {length} characters, at most {limit}"), length=len(text), limit=limit
            )
        return text

    return check


def _whole(value: object) -> int:
    text = str(value).replace(",", "").replace("\u066c", "")  # thousands separators
    if not text.isdigit() or not text.isascii():
        raise Reason(N_("{value} is not a whole number"), value=str(value))
    return int(text)


_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def _number(value: object) -> float:
    text = str(value).replace("\u066b", ".")  # the Persian decimal separator
    if not _DECIMAL.fullmatch(text):
        raise Reason(N_("{value} is not a number"), value=str(value))
    return float(text)


def _flag(value: object) -> bool:
    if value not in ("0", "1"):
        raise Reason(N_("{value} must be 1 or 0"), value=str(value))
    return value == "1"


def _choice(allowed: Sequence[str]) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = str(value).casefold()
        if text not in allowed:
            raise Reason(
                N_("{value} is not one of: {allowed}"), value=str(value), allowed=", ".join(allowed)
            )
        return text

    return check


# Y/M/D or Y-M-D; a spreadsheet program may add a midnight time to a date.
_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[ T]0?0:00(?::00)?)?")


def _day(value: object) -> dt.date:
    """A date cell (from .xlsx), a Jalali date (1403/07/15) or a Gregorian one (2024-10-06)."""
    if isinstance(value, dt.date):
        return value
    match = _DATE.fullmatch(str(value))
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) for part in match.groups())
        # Jalali years are around 1400, Gregorian ones around 2000: the year says which calendar.
        if JALALI_YEARS[0] <= year <= JALALI_YEARS[1]:
            return jdatetime.date(year, month, day).togregorian()
        if GREGORIAN_YEARS[0] <= year <= GREGORIAN_YEARS[1]:
            return dt.date(year, month, day)
        raise ValueError
    except ValueError:
        raise Reason(
            N_("{value} is not a date; write it as 1403/07/15 or 2024-10-06"), value=str(value)
        ) from None


def _items(value: object) -> tuple[str, ...]:
    """A list cell: items separated by ";" (or the Persian semicolon), blanks and repeats dropped."""
    items = (item.strip() for item in str(value).replace("\u061b", ";").split(";"))
    return tuple(dict.fromkeys(item for item in items if item))


_CODE = re.compile(r"[a-z0-9_-]{1,32}")


def _code(value: object) -> str:
    text = str(value).casefold()
    if not _CODE.fullmatch(text):
        raise Reason(
            N_("{value} is not a code: use Latin letters, digits, _ and -"), value=str(value)
        )
    return text


_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")
# A program's id rides on the buttons that open its card, with the list it came from
# (`prog:card:<id>.guarantee.<page>`): longer ids would not fit a button's 64 bytes.
IDENTIFIER_LIMIT = 32


def _identifier(value: object) -> str:
    text = str(value)
    if len(text) > IDENTIFIER_LIMIT:
        raise Reason(
            N_("too long: {length} characters, at most {limit}"),
            length=len(text),
            limit=IDENTIFIER_LIMIT,
        )
    if not _IDENTIFIER.fullmatch(text):
        raise Reason(N_("{value} is not an id: use Latin letters, digits, _ and -"), value=text)
    return text


def _national_id(value: object) -> str:
    text = str(value)
    if not (len(text) == 11 and text.isdigit() and text.isascii()):
        raise Reason(N_("{value} is not a national id: it must be exactly 11 digits"), value=text)
    return text


def _tracking_code(value: object) -> str:
    """As the status look-up stores and finds it (db.applications): capitals, no separators."""
    if not is_code(str(value)):
        raise Reason(
            N_("{value} is not a tracking code: it must be 6 to 20 letters and digits"),
            value=str(value),
        )
    return clean_code(str(value))


def _mobile(value: object) -> str:
    """An Iranian mobile number as 09XXXXXXXXX, however it was written (+98, 0098, spaces); a
    number cell that lost its leading zero in Excel reads right too."""
    phone = clean_phone(str(value))
    if phone is None:
        raise Reason(N_("{value} is not a mobile number like 09121234567"), value=str(value))
    return phone


# --- checks against the database ---------------------------------------------------------------


class Seat(NamedTuple):
    province_id: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Known:
    """The reference data rows are checked against, loaded once per import."""

    chains: frozenset[str]
    provinces: frozenset[str]
    counties: dict[int, Seat]


def _known(info: ValidationInfo) -> Known:
    known = info.context
    assert isinstance(known, Known), "validate rows with context=Known(...)"
    return known


def _known_chain(code: str, info: ValidationInfo) -> str:
    if code not in _known(info).chains:
        raise Reason(N_("unknown value chain {value}"), value=code)
    return code


def _known_chains(codes: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    return tuple(_known_chain(_code(code), info) for code in codes)


def _province(value: object) -> str:
    return str(value).upper()


def _known_province(code: str, info: ValidationInfo) -> str:
    if code not in _known(info).provinces:
        raise Reason(N_("unknown province {value}; write its code, e.g. IR-08"), value=code)
    return code


def _known_provinces(codes: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
    return tuple(_known_province(_province(code), info) for code in codes)


def _eligibility(tags: tuple[str, ...]) -> tuple[str, ...]:
    for tag in tags:
        if tag.casefold() not in ELIGIBILITY_TAGS:
            raise Reason(
                N_("{value} is not an eligibility tag; the tags are: {allowed}"),
                value=tag,
                allowed=", ".join(ELIGIBILITY_TAGS),
            )
    return tuple(tag.casefold() for tag in tags)


def _inside_iran(lat: float, lon: float) -> bool:
    return IRAN_LAT[0] <= lat <= IRAN_LAT[1] and IRAN_LON[0] <= lon <= IRAN_LON[1]


# --- one model per kind: the columns, and what each cell must be -------------------------------


def _t(limit: int) -> BeforeValidator:
    return BeforeValidator(_text(limit))


Whole = Annotated[int, BeforeValidator(_whole)]
Number = Annotated[float, BeforeValidator(_number)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Day = Annotated[dt.date, BeforeValidator(_day)]
ChainCode = Annotated[str, BeforeValidator(_code), AfterValidator(_known_chain)]
ProvinceCode = Annotated[str, BeforeValidator(_province), AfterValidator(_known_province)]


class Row(BaseModel):
    """A row of a file: one field a column, named as in import-formats.md; optional ones default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ValueChainRow(Row):
    code: Annotated[str, BeforeValidator(_code)]
    name_fa: Annotated[str, _t(64)]
    name_en: Annotated[str, _t(64)] = ""
    priority: Flag = False


class CooperativeRow(Row):
    # Field order matters: county_id is checked against province_id, the place against the county.
    national_id: Annotated[str, BeforeValidator(_national_id)]
    name: Annotated[str, _t(256)]
    value_chain: ChainCode
    role: Annotated[str | None, BeforeValidator(_choice(ROLES))] = None
    province_id: ProvinceCode
    county_id: Whole
    lat: Number
    lon: Number
    address: Annotated[str, _t(1000)] = ""
    phone: Annotated[str, _t(32)] = ""
    members: Annotated[int | None, BeforeValidator(_whole)] = None
    women_led: Flag = False
    active: Flag = True

    @field_validator("county_id")
    @classmethod
    def _county_in_province(cls, county_id: int, info: ValidationInfo) -> int:
        seat = _known(info).counties.get(county_id)
        province = info.data.get("province_id")
        if province is not None and (seat is None or seat.province_id != province):
            raise Reason(
                N_("county {county} is not in province {province}"),
                county=county_id,
                province=province,
            )
        if seat is None:
            raise Reason(N_("unknown county {county}"), county=county_id)
        return county_id

    @field_validator("lon")
    @classmethod
    def _near_the_county_seat(cls, lon: float, info: ValidationInfo) -> float:
        lat = info.data.get("lat")
        if lat is None:
            return lon
        place = {"lat": _degrees(lat), "lon": _degrees(lon), "column": "lat/lon"}
        if not _inside_iran(lat, lon):
            if _inside_iran(lon, lat):
                raise Reason(N_("{lat}, {lon} is outside Iran: are lat and lon swapped?"), **place)
            raise Reason(N_("{lat}, {lon} is outside Iran (lat 25 to 40, lon 44 to 64)"), **place)
        county_id = info.data.get("county_id")
        seat = _known(info).counties.get(county_id) if county_id is not None else None
        if seat is not None:
            distance = distance_km(lat, lon, seat.lat, seat.lon)
            if distance > MAX_KM_FROM_SEAT:
                raise Reason(
                    N_(
                        "{lat}, {lon} is {distance} km from the seat of county {county}: "
                        "check the numbers (swapped, or a digit wrong) and the county"
                    ),
                    distance=round(distance),
                    county=county_id,
                    **place,
                )
        return lon


def _degrees(value: float) -> str:
    """Degrees as staff wrote them ("56", "30.41"), not as floats print ("56.0")."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


class ProgramRow(Row):
    program_id: Annotated[str, BeforeValidator(_identifier)]
    title_fa: Annotated[str, _t(256)]
    title_en: Annotated[str, _t(256)] = ""
    category: Annotated[str, BeforeValidator(_choice(CATEGORIES))]
    provider_fa: Annotated[str, _t(256)] = ""
    summary_fa: Annotated[str, _t(LONG_TEXT)]
    summary_en: Annotated[str, _t(LONG_TEXT)] = ""
    value_chains: Annotated[
        tuple[str, ...], BeforeValidator(_items), AfterValidator(_known_chains)
    ] = ()
    provinces: Annotated[
        tuple[str, ...], BeforeValidator(_items), AfterValidator(_known_provinces)
    ] = ()
    eligibility: Annotated[
        tuple[str, ...], BeforeValidator(_items), AfterValidator(_eligibility)
    ] = ()
    opens_on: Annotated[dt.date | None, BeforeValidator(_day)] = None
    closes_on: Annotated[dt.date | None, BeforeValidator(_day)] = None
    how_to_apply_fa: Annotated[str, _t(LONG_TEXT)] = ""
    how_to_apply_en: Annotated[str, _t(LONG_TEXT)] = ""
    source: Annotated[str, _t(1000)] = ""

    @field_validator("closes_on")
    @classmethod
    def _closes_after_opening(cls, closes: dt.date | None, info: ValidationInfo) -> dt.date | None:
        opens = info.data.get("opens_on")
        if closes is not None and opens is not None and closes < opens:
            raise Reason(N_("closes_on is before opens_on"))
        return closes


class ApplicationRow(Row):
    tracking_code: Annotated[str, BeforeValidator(_tracking_code)]
    kind: Annotated[str, BeforeValidator(_choice(APPLICATION_KINDS))]
    subject: Annotated[str, _t(256)]
    applicant_phone: Annotated[str, BeforeValidator(_mobile)]
    status: Annotated[str, BeforeValidator(_choice(STATUSES))]
    updated_on: Day
    note_fa: Annotated[str, _t(LONG_TEXT)] = ""
    note_en: Annotated[str, _t(LONG_TEXT)] = ""
