"""Choosing a place: paged province and county pickers, and matching a typed place name.

Shared by the journeys that ask where a member is (setup, nearby cooperatives). Buttons carry the
journey's name: `<journey>:prov:IR-08`, `<journey>:provs:<page>`, `<journey>:county:<id>`,
`<journey>:cpage:<province number>.<page>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Callback, cb
from bot.i18n import Translator
from bot.keyboards import paged_picker
from bot.text import search_key, sort_key
from db.reference import County, Province, Reference

Place = TypeVar("Place", Province, County)
Rows = Sequence[Sequence[InlineKeyboardButton]]


def provinces(reference: Reference, locale: str) -> list[Province]:
    return sorted(reference.provinces.values(), key=lambda p: sort_key(p.name(locale)))


def counties(reference: Reference, province: Province, locale: str) -> list[County]:
    return sorted(reference.counties_of(province.id), key=lambda c: sort_key(c.name(locale)))


def province_picker(
    t: Translator, reference: Reference, journey: str, page: int, extra_rows: Rows = ()
) -> InlineKeyboardMarkup:
    options = [
        (p.name(t.locale), cb(journey, "prov", p.id)) for p in provinces(reference, t.locale)
    ]
    return paged_picker(t, options, page, lambda n: cb(journey, "provs", n), extra_rows)


def county_picker(
    t: Translator,
    reference: Reference,
    journey: str,
    province: Province,
    page: int,
    extra_rows: Rows = (),
) -> InlineKeyboardMarkup:
    options = [
        (c.name(t.locale), cb(journey, "county", c.id))
        for c in counties(reference, province, t.locale)
    ]
    number = province.id.removeprefix("IR-")
    return paged_picker(
        t, options, page, lambda n: cb(journey, "cpage", f"{number}.{n}"), extra_rows
    )


def province_of(data: Callback | None, reference: Reference) -> Province | None:
    """The province a button names, or None for a stale or forged one."""
    return reference.provinces.get(data.arg) if data else None


def county_of(data: Callback | None, reference: Reference) -> County | None:
    """The county a button names, or None for a stale or forged one."""
    county_id = data.int_arg() if data else None
    return reference.counties.get(county_id) if county_id is not None else None


def county_page(data: Callback | None, reference: Reference) -> tuple[Province, int] | None:
    """The province and page a `cpage` button names, or None for a stale or forged one."""
    number, _, page = data.arg.partition(".") if data else ("", "", "")
    province = reference.provinces.get(f"IR-{number}")
    return (province, int(page)) if province is not None and page.isdigit() else None


def match(typed: str, places: list[Place]) -> list[Place]:
    """Places whose name is what the member typed; failing that, whose name starts with it."""
    key = search_key(typed)
    if not key:
        return []
    names = [(place, {search_key(name) for name in place.names()}) for place in places]
    exact = [place for place, keys in names if key in keys]
    if exact or len(key) < 2:
        return exact
    return [place for place, keys in names if any(k.startswith(key) for k in keys)]


def did_you_mean(
    t: Translator,
    reference: Reference,
    journey: str,
    found_provinces: list[Province],
    found_counties: list[County],
) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(p.name(t.locale), callback_data=cb(journey, "prov", p.id))]
        for p in found_provinces
    ]
    for county in found_counties:
        province = reference.provinces[county.province_id]
        label = f"{county.name(t.locale)} ({province.name(t.locale)})"
        rows.append([InlineKeyboardButton(label, callback_data=cb(journey, "county", county.id))])
    return InlineKeyboardMarkup(rows[:8])
