"""Demo data for `coopbot seed-demo`: made-up cooperatives and applications, clearly labelled.

A newcomer gets a database to talk to in one command: the real value chains and support programs
from db/reference, a few thousand cooperatives spread over Iran's real counties (every name ends with
«(نمونه)», "sample", and every row has demo=True), and a handful of applications to look up with
/status. Everything goes through the importer, so the demo also exercises what staff will use.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jdatetime
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.cooperatives import KM_PER_DEGREE_LAT
from db.import_rows import IRAN_LAT, IRAN_LON
from db.importers import ImportFileError, format_report, import_file
from db.reference import County, reference
from db.schema import applications, programs, value_chains
from db.schema import cooperatives as cooperatives_table

COOPERATIVE_COLUMNS = (
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
)
APPLICATION_COLUMNS = (
    "tracking_code",
    "kind",
    "subject",
    "applicant_phone",
    "status",
    "updated_on",
    "note_fa",
    "note_en",
)
DEMO_LABEL = "(نمونه)"
SEED = 1404

# The Kahkashan Taavon pilot provinces, Kerman and Sistan-Baluchestan (ISO 3166-2 as in
# db/reference/provinces.csv), get three times the cooperatives per county of the others.
PILOT_PROVINCES = ("IR-08", "IR-11")
PILOT_WEIGHT = 3
JITTER_KM = 15.0
ROLE_WEIGHTS = {
    "production": 45,
    "processing": 15,
    "input_supply": 15,
    "marketing": 15,
    "logistics": 10,
}
WOMEN_LED_SHARE = 0.3
INACTIVE_SHARE = 0.03

# Landline area codes by province; a local number is eight digits after them.
AREA_CODES = {
    "IR-00": "086",
    "IR-01": "013",
    "IR-02": "011",
    "IR-03": "041",
    "IR-04": "044",
    "IR-05": "083",
    "IR-06": "061",
    "IR-07": "071",
    "IR-08": "034",
    "IR-09": "051",
    "IR-10": "031",
    "IR-11": "054",
    "IR-12": "087",
    "IR-13": "081",
    "IR-14": "038",
    "IR-15": "066",
    "IR-16": "084",
    "IR-17": "074",
    "IR-18": "077",
    "IR-19": "024",
    "IR-20": "023",
    "IR-21": "035",
    "IR-22": "076",
    "IR-23": "021",
    "IR-24": "045",
    "IR-25": "025",
    "IR-26": "028",
    "IR-27": "017",
    "IR-28": "058",
    "IR-29": "056",
    "IR-30": "026",
}

# --- Persian name parts (data, not interface text) ---------------------------------------------

# What the cooperatives of each chain call themselves, by their role in the chain.
PRODUCERS = {
    "beekeeping": ("تعاونی زنبورداران", "تعاونی تولیدکنندگان عسل", "تعاونی پرورش‌دهندگان زنبور عسل"),
    "aquaculture": ("تعاونی پرورش‌دهندگان ماهی", "تعاونی آبزی‌پروران", "تعاونی شیلات"),
    "poultry": ("تعاونی مرغداران", "تعاونی مرغداران گوشتی", "تعاونی تولیدکنندگان تخم‌مرغ"),
    "apparel": ("تعاونی تولیدی پوشاک", "تعاونی خیاطان", "تعاونی تولیدکنندگان پوشاک"),
    "handicrafts": ("تعاونی صنایع‌دستی", "تعاونی هنرمندان صنایع‌دستی", "تعاونی سفالگران"),
    "handwoven_carpet": ("تعاونی فرش دستباف", "تعاونی قالیبافان", "تعاونی فرشبافان روستایی"),
}
WOMEN_PRODUCERS = {
    "beekeeping": "تعاونی زنان زنبوردار",
    "aquaculture": "تعاونی زنان آبزی‌پرور",
    "poultry": "تعاونی زنان مرغدار",
    "apparel": "تعاونی زنان خیاط",
    "handicrafts": "تعاونی زنان هنرمند",
    "handwoven_carpet": "تعاونی زنان قالیباف",
}
PROCESSORS = {
    "beekeeping": "تعاونی فرآوری و بسته‌بندی عسل",
    "aquaculture": "تعاونی فرآوری و بسته‌بندی آبزیان",
    "poultry": "تعاونی کشتار و بسته‌بندی طیور",
    "apparel": "تعاونی ریسندگی و بافندگی",
    "handicrafts": "تعاونی تکمیل و بسته‌بندی صنایع‌دستی",
    "handwoven_carpet": "تعاونی رنگرزی سنتی و شست‌وشوی فرش",
}
SUPPLIERS = {
    "beekeeping": "تعاونی تأمین نهاده‌های زنبورداری",
    "aquaculture": "تعاونی تأمین خوراک و بچه‌ماهی",
    "poultry": "تعاونی تأمین نهاده‌های طیور",
    "apparel": "تعاونی تأمین پارچه و مواد اولیه پوشاک",
    "handicrafts": "تعاونی تأمین مواد اولیه صنایع‌دستی",
    "handwoven_carpet": "تعاونی تأمین پشم و نخ فرش",
}
PRODUCTS = {
    "beekeeping": "عسل",
    "aquaculture": "آبزیان",
    "poultry": "مرغ و تخم‌مرغ",
    "apparel": "پوشاک",
    "handicrafts": "صنایع‌دستی",
    "handwoven_carpet": "فرش دستباف",
}
STREETS = (
    "خیابان امام خمینی",
    "بلوار جمهوری اسلامی",
    "خیابان شهید بهشتی",
    "خیابان طالقانی",
    "بلوار کشاورز",
    "خیابان ولیعصر",
    "شهرک صنعتی",
    "میدان آزادی",
    "خیابان انقلاب",
    "بلوار معلم",
)


# --- cooperatives ------------------------------------------------------------------------------


def generate_cooperatives(n: int, seed: int = SEED) -> list[dict[str, str]]:
    """`n` made-up cooperatives as rows of the cooperatives import format, the same for a seed.

    The first rows visit every province once, so even a small set covers the country; the rest
    fall on counties with the pilot provinces denser. Row i does not depend on n: a larger set
    extends a smaller one.
    """
    rng = random.Random(seed)
    ref = reference()
    provinces = sorted(ref.provinces)
    counties = list(ref.counties.values())
    weights = list(
        itertools.accumulate(
            PILOT_WEIGHT if c.province_id in PILOT_PROVINCES else 1 for c in counties
        )
    )
    chains = list(PRODUCERS)
    ids = _national_ids(rng)
    names: Counter[str] = Counter()
    rows = []
    for i in range(n):
        if i < len(provinces):
            county = rng.choice(ref.counties_of(provinces[i]))
        else:
            county = rng.choices(counties, cum_weights=weights)[0]
        chain = chains[i % len(chains)] if i < len(chains) else rng.choice(chains)
        rows.append(_cooperative(rng, next(ids), county, chain, names))
    return rows


def _cooperative(
    rng: random.Random, national_id: str, county: County, chain: str, names: Counter[str]
) -> dict[str, str]:
    role = rng.choices(list(ROLE_WEIGHTS), list(ROLE_WEIGHTS.values()))[0]
    women_led = rng.random() < WOMEN_LED_SHARE
    lat, lon = _near_seat(rng, county)
    # Most cooperatives are small; the law's minimum is seven members.
    members = 7 + round(393 * rng.random() ** 2.5)
    return {
        "national_id": national_id,
        "name": _name(rng, county, chain, role, women_led, names),
        "value_chain": chain,
        "role": role,
        "province_id": county.province_id,
        "county_id": str(county.id),
        "lat": f"{lat:.5f}",
        "lon": f"{lon:.5f}",
        "address": f"{county.name_fa}، {rng.choice(STREETS)}، پلاک {_fa(rng.randint(1, 240))}",
        "phone": _landline(rng, county.province_id),
        "members": str(members),
        "women_led": "1" if women_led else "0",
        "active": "0" if rng.random() < INACTIVE_SHARE else "1",
    }


def _name(
    rng: random.Random, county: County, chain: str, role: str, women_led: bool, names: Counter[str]
) -> str:
    if role == "production":
        base = WOMEN_PRODUCERS[chain] if women_led else rng.choice(PRODUCERS[chain])
    elif role == "processing":
        base = PROCESSORS[chain]
    elif role == "input_supply":
        base = SUPPLIERS[chain]
    elif role == "logistics":
        base = f"تعاونی حمل و توزیع {PRODUCTS[chain]}"
    else:
        base = f"تعاونی بازاریابی و فروش {PRODUCTS[chain]}"
    # Real registers number the namesakes of a county: «... رفسنجان ۳».
    base = f"{base} {county.name_fa}"
    names[base] += 1
    number = names[base]
    return f"{base} {_fa(number)} {DEMO_LABEL}" if number > 1 else f"{base} {DEMO_LABEL}"


def _near_seat(rng: random.Random, county: County) -> tuple[float, float]:
    """A point uniformly within JITTER_KM of the county seat, inside its province's extent."""
    box = _province_box(county.province_id)
    for _ in range(20):
        distance = JITTER_KM * math.sqrt(rng.random())
        lat, lon = offset(county.lat, county.lon, distance, rng.uniform(0, 2 * math.pi))
        if box[0] <= lat <= box[1] and box[2] <= lon <= box[3]:
            return round(lat, 5), round(lon, 5)
    return county.lat, county.lon


def offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """The point `km` away towards `bearing` (radians clockwise from north), on a local flat map:
    close enough for scattering points over tens of kilometres."""
    return (
        lat + km * math.cos(bearing) / KM_PER_DEGREE_LAT,
        lon + km * math.sin(bearing) / (KM_PER_DEGREE_LAT * math.cos(math.radians(lat))),
    )


@cache
def _province_box(province_id: str) -> tuple[float, float, float, float]:
    """The province's seats' extent, a jitter's width wider, and never outside Iran's box.

    Without province polygons this keeps a border county's points from straying far abroad.
    """
    seats = reference().counties_of(province_id)
    pad = JITTER_KM / KM_PER_DEGREE_LAT
    return (
        max(min(c.lat for c in seats) - pad, IRAN_LAT[0]),
        min(max(c.lat for c in seats) + pad, IRAN_LAT[1]),
        max(min(c.lon for c in seats) - pad, IRAN_LON[0]),
        min(max(c.lon for c in seats) + pad, IRAN_LON[1]),
    )


def _national_ids(rng: random.Random) -> Iterator[str]:
    """Distinct 11-digit ids of legal entities: "10", eight digits, and the official check digit.

    An affine step modulo 10**8 with a multiplier coprime to it visits each number once, so the
    ids are distinct without remembering them.
    """
    step = rng.randrange(10**7, 10**8) | 1
    while step % 5 == 0:
        step += 2
    start = rng.randrange(10**8)
    for i in range(10**8):
        body = f"10{(start + i * step) % 10**8:08d}"
        if body[3:9] != "000000":  # the published check rejects these
            yield body + _check_digit(body)


def _check_digit(body: str) -> str:
    # The legal-entity national id's checksum (the registry's published algorithm).
    offset = int(body[9]) + 2
    weights = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    total = sum((int(d) + offset) * w for d, w in zip(body, weights, strict=True)) % 11
    return str(0 if total == 10 else total)


def _landline(rng: random.Random, province_id: str) -> str:
    # Tehran's local numbers start with many digits; the provinces' since 2012 mostly with 3.
    first = rng.choice("2345678") if province_id == "IR-23" else "3"
    return f"{AREA_CODES[province_id]}-{first}{rng.randrange(10**7):07d}"


_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _fa(number: int) -> str:
    return str(number).translate(_PERSIAN_DIGITS)


# --- applications ------------------------------------------------------------------------------

# (kind, status, days since the last change): every kind and every status at least once.
SAMPLES = (
    ("cooperative_registration", "submitted", 2),
    ("membership", "under_review", 5),
    ("program_application", "needs_documents", 9),
    ("program_application", "approved", 14),
    ("membership_transfer", "rejected", 20),
    ("cooperative_registration", "completed", 33),
    ("membership", "approved", 3),
    ("program_application", "under_review", 1),
)
# What the applicant should do next, by status: Persian, then English.
NOTES = {
    "submitted": (
        "درخواست شما ثبت شد و در نوبت بررسی است.",
        "Your application is registered and waiting to be reviewed.",
    ),
    "under_review": (
        "پرونده در اداره تعاون شهرستان در حال بررسی است؛ نیازی به مراجعه نیست.",
        "The county cooperative office is reviewing the file; you need not visit.",
    ),
    "needs_documents": (
        "لطفاً صورت‌جلسه مجمع عمومی و تصویر کارت ملی اعضای هیئت‌مدیره را تا دو هفته دیگر به "
        "اداره تعاون شهرستان تحویل دهید.",
        "Please bring the general assembly's minutes and copies of the board members' national "
        "cards to the county cooperative office within two weeks.",
    ),
    "approved": (
        "درخواست تأیید شد. برای امضای قرارداد با بانک عامل یا تعاونی تماس بگیرید.",
        "Approved. Contact the agent bank or the cooperative to sign the contract.",
    ),
    "rejected": (
        "درخواست رد شد: سهام شما هنوز وثیقه وام است. پس از تسویه دوباره درخواست دهید.",
        "Rejected: your shares still secure a loan. Apply again once it is repaid.",
    ),
    "completed": (
        "کار انجام شد. گواهی را از اداره تعاون شهرستان دریافت کنید.",
        "Done. Collect the certificate from the county cooperative office.",
    ),
}


def sample_applications(today: dt.date | None = None) -> list[dict[str, str]]:
    """The demo applications as rows of the applications import format.

    Subjects are the first demo cooperatives' names and the real programs' titles; codes start
    with DEMO and phones are 0912 000 00 0N, so nobody mistakes them for real ones.
    """
    today = today or dt.date.today()
    cooperative_names = [row["name"] for row in generate_cooperatives(len(SAMPLES))]
    program_titles = [row["title_fa"] for row in _reference_rows("programs.csv")]
    rows = []
    for number, (kind, status, days_ago) in enumerate(SAMPLES, start=1):
        titles = program_titles if kind == "program_application" else cooperative_names
        note_fa, note_en = NOTES[status]
        updated = jdatetime.date.fromgregorian(date=today - dt.timedelta(days=days_ago))
        rows.append(
            {
                "tracking_code": f"DEMO{100000 + number}",
                "kind": kind,
                "subject": titles[number % len(titles)],
                "applicant_phone": f"0912{number:07d}",
                "status": status,
                "updated_on": updated.strftime("%Y/%m/%d"),
                "note_fa": note_fa,
                "note_en": note_en,
            }
        )
    return rows


# --- seeding -----------------------------------------------------------------------------------


class DemoError(Exception):
    """seed-demo cannot or must not run; the message is one line for the operator."""


Progress = Callable[[int, int], None]


async def seed_demo(
    engine: AsyncEngine, cooperatives: int = 2000, progress: Progress | None = None
) -> DemoSummary:
    """Load the reference chains and programs, then `cooperatives` demo cooperatives and the
    sample applications, through the importer. Running it again changes nothing."""
    await _refuse_real_data(engine)
    await _import(engine, "value-chains", _reference_bytes("value-chains.csv"))
    await _import(engine, "programs", _reference_bytes("programs.csv"))
    if cooperatives > 0:  # the importer rejects a file with no rows
        rows = generate_cooperatives(cooperatives)
        data = _csv(COOPERATIVE_COLUMNS, rows)
        await _import(engine, "cooperatives", data, demo=True, progress=progress)
    samples = sample_applications()
    await _import(engine, "applications", _csv(APPLICATION_COLUMNS, samples), demo=True)
    return await _summary(engine, samples)


async def _refuse_real_data(engine: AsyncEngine) -> None:
    """Demo rows go only beside demo rows: real cooperatives or applications mean a real database."""
    async with engine.connect() as connection:
        for table, what in ((cooperatives_table, "cooperatives"), (applications, "applications")):
            real = (
                await connection.execute(
                    select(func.count()).select_from(table).where(table.c.demo.is_(False))
                )
            ).scalar_one()
            if real:
                raise DemoError(
                    f"the database already holds {what} that are not demo data ({real:,}); "
                    "seed-demo fills only an empty database (set COOPBOT_DATABASE_URL to a new one)"
                )


async def _import(
    engine: AsyncEngine,
    kind: str,
    data: bytes,
    *,
    demo: bool = False,
    progress: Progress | None = None,
) -> None:
    try:
        report = await import_file(
            engine, kind, data, filename=f"{kind}.csv", demo=demo, progress=progress
        )
    except ImportFileError as exc:
        raise DemoError(f"the demo {kind} file was refused (a bug in coopbot): {exc}") from None
    if not report.ok:
        raise DemoError(
            f"the demo {kind} were refused (a bug in coopbot):\n{format_report(report)}"
        )


def _reference_bytes(name: str) -> bytes:
    return (resources.files("db.reference") / name).read_bytes()


def _reference_rows(name: str) -> list[dict[str, str]]:
    text = _reference_bytes(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _csv(columns: Sequence[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- what was loaded ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    chains: int
    programs: int
    cooperatives: int
    provinces: int
    applications: int
    samples: tuple[dict[str, str], ...]

    def describe(self) -> str:
        """For the operator, in English: what is in the database and what to try first."""
        lines = [
            "Demo data loaded (demo rows are marked demo; demo names end with «(نمونه)», 'sample'):",
            f"  value chains      {self.chains:>6,}",
            f"  support programs  {self.programs:>6,}  real, from db/reference/programs.csv",
            f"  cooperatives      {self.cooperatives:>6,}  demo, in {self.provinces} provinces",
            f"  applications      {self.applications:>6,}  demo, among them:",
            "",
            f"  {'tracking code':<14} {'phone':<12} {'kind':<25} status",
        ]
        lines += [
            f"  {s['tracking_code']:<14} {s['applicant_phone']:<12} {s['kind']:<25} {s['status']}"
            for s in self.samples
        ]
        code, phone = self.samples[0]["tracking_code"], self.samples[0]["applicant_phone"]
        lines += [
            "",
            f"Try it: run `coopbot chat`, send /status {code}, then /contact {phone} to see the "
            "next step;",
            "or send /nearby, choose a chain and a role, then /loc 30.28 57.08 (Kerman).",
        ]
        return "\n".join(lines)


async def _summary(engine: AsyncEngine, samples: list[dict[str, str]]) -> DemoSummary:
    demo_cooperatives = cooperatives_table.c.demo.is_(True)
    async with engine.connect() as connection:

        async def count(query: Select[Any]) -> int:
            return int((await connection.execute(query)).scalar_one())

        return DemoSummary(
            chains=await count(select(func.count()).select_from(value_chains)),
            programs=await count(
                select(func.count()).select_from(programs).where(programs.c.demo.is_(False))
            ),
            cooperatives=await count(
                select(func.count()).select_from(cooperatives_table).where(demo_cooperatives)
            ),
            provinces=await count(
                select(func.count(cooperatives_table.c.province_id.distinct())).where(
                    demo_cooperatives
                )
            ),
            applications=await count(
                select(func.count()).select_from(applications).where(applications.c.demo.is_(True))
            ),
            samples=tuple(samples),
        )
