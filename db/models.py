"""Pydantic models the repositories return; handlers see these, never rows."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, field_validator


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def pack(items: object) -> str:
    """A list as stored: ";a;b;" (see db/schema.py), sorted so equal lists store equally."""
    values = sorted({str(item) for item in (items or ()) if str(item)})  # type: ignore[attr-defined]
    return ";" + "".join(f"{value};" for value in values)


def unpack(stored: object) -> tuple[str, ...]:
    if isinstance(stored, str):
        return tuple(part for part in stored.split(";") if part)
    return tuple(stored or ())  # type: ignore[arg-type]


class User(Model):
    platform: str
    user_id: int
    chat_id: int
    first_name: str = ""
    locale: str | None = None
    province_id: str | None = None
    county_id: int | None = None
    value_chain: str | None = None
    setup_done: bool = False
    blocked: bool = False
    staff: bool = False
    tags: tuple[str, ...] = ()
    first_seen: dt.datetime
    last_seen: dt.datetime

    _utc = field_validator("first_seen", "last_seen")(as_utc)
    _tags = field_validator("tags", mode="before")(unpack)


class ValueChainRow(Model):
    code: str
    name_fa: str
    name_en: str = ""
    priority: bool = False

    def name(self, locale: str) -> str:
        return self.name_fa if locale == "fa" or not self.name_en else self.name_en


class Cooperative(Model):
    id: int
    national_id: str
    name: str
    value_chain: str
    role: str | None = None
    province_id: str
    county_id: int
    lat: float
    lon: float
    address: str = ""
    phone: str = ""
    members: int | None = None
    tags: tuple[str, ...] = ()
    active: bool = True
    demo: bool = False

    _tags = field_validator("tags", mode="before")(unpack)


class Nearby(Model):
    """A cooperative and how far it is from where the member stands."""

    cooperative: Cooperative
    distance_km: float


class Program(Model):
    program_id: str
    title_fa: str
    title_en: str = ""
    category: str
    provider_fa: str = ""
    summary_fa: str
    summary_en: str = ""
    value_chains: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    eligibility: tuple[str, ...] = ()
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    how_to_apply_fa: str = ""
    how_to_apply_en: str = ""
    source: str = ""

    _lists = field_validator("value_chains", "provinces", "eligibility", mode="before")(unpack)

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" and self.title_en else self.title_fa

    def summary(self, locale: str) -> str:
        return self.summary_en if locale == "en" and self.summary_en else self.summary_fa

    def how_to_apply(self, locale: str) -> str:
        return (
            self.how_to_apply_en
            if locale == "en" and self.how_to_apply_en
            else self.how_to_apply_fa
        )

    def is_open(self, today: dt.date) -> bool:
        started = self.opens_on is None or self.opens_on <= today
        return started and (self.closes_on is None or today <= self.closes_on)


class StatusChange(Model):
    status: str
    changed_on: dt.date


class Application(Model):
    tracking_code: str
    kind: str
    subject: str
    applicant_phone: str
    status: str
    updated_on: dt.date
    note_fa: str = ""
    note_en: str = ""
    demo: bool = False

    def note(self, locale: str) -> str:
        return self.note_en if locale == "en" and self.note_en else self.note_fa


class Recipient(Model):
    """Someone an announcement goes to."""

    platform: str
    user_id: int
    chat_id: int


class Watcher(Model):
    """A member who asked to be told when an application's status changes."""

    tracking_code: str
    platform: str
    user_id: int
    chat_id: int
    locale: str | None = None
