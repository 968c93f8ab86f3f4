"""Iran's provinces and counties and the value chains, from the CSV files shipped in db/reference/.

Provinces and counties are fixed national reference data (OpenStreetMap, GeoNames; see SOURCE.md),
read once at start-up and shared read-only.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Province:
    id: str
    name_fa: str
    name_en: str
    lat: float
    lon: float

    def name(self, locale: str) -> str:
        return self.name_fa if locale == "fa" else self.name_en

    def names(self) -> tuple[str, ...]:
        return (self.name_fa, self.name_en)


@dataclass(frozen=True, slots=True)
class County:
    id: int
    province_id: str
    name_fa: str
    name_en: str
    lat: float
    lon: float

    def name(self, locale: str) -> str:
        return self.name_fa if locale == "fa" else self.name_en

    def names(self) -> tuple[str, ...]:
        """Every name a member may know it by (see SOURCE.md: Binalud is still Torqabeh-Shandiz)."""
        return (self.name_fa, self.name_en, *COUNTY_ALIASES.get(self.name_fa, ()))


COUNTY_ALIASES: dict[str, tuple[str, ...]] = {
    "بینالود": ("طرقبه شاندیز", "Torqabeh and Shandiz"),
}


@dataclass(frozen=True, slots=True)
class ValueChain:
    code: str
    name_fa: str
    name_en: str
    priority: bool

    def name(self, locale: str) -> str:
        return self.name_fa if locale == "fa" or not self.name_en else self.name_en


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("db.reference") / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


class Reference:
    """Lookup tables over the shipped reference data, in file order (counties: Persian alphabetical)."""

    def __init__(self) -> None:
        self.provinces: dict[str, Province] = {
            row["province_id"]: Province(
                row["province_id"],
                row["name_fa"],
                row["name_en"],
                float(row["lat"]),
                float(row["lon"]),
            )
            for row in _rows("provinces.csv")
        }
        self.counties: dict[int, County] = {
            int(row["county_id"]): County(
                int(row["county_id"]),
                row["province_id"],
                row["name_fa"],
                row["name_en"],
                float(row["lat"]),
                float(row["lon"]),
            )
            for row in _rows("counties.csv")
        }
        self.chains: dict[str, ValueChain] = {
            row["code"]: ValueChain(
                row["code"], row["name_fa"], row.get("name_en") or "", row.get("priority") == "1"
            )
            for row in _rows("value-chains.csv")
        }

    def counties_of(self, province_id: str) -> list[County]:
        return [county for county in self.counties.values() if county.province_id == province_id]


@cache
def reference() -> Reference:
    return Reference()
