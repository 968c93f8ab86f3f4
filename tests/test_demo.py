"""`coopbot seed-demo`: labelled demo data for an empty database, and its generator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import main
from db.applications import KINDS, STATUSES
from db.cooperatives import distance_km
from db.demo import (
    AREA_CODES,
    COOPERATIVE_COLUMNS,
    DEMO_LABEL,
    PILOT_PROVINCES,
    DemoError,
    generate_cooperatives,
    sample_applications,
    seed_demo,
)
from db.import_rows import IRAN_LAT, IRAN_LON, MAX_KM_FROM_SEAT
from db.reference import reference
from db.schema import (
    application_history,
    applications,
    cooperatives,
    programs,
    value_chains,
)
from tests.conftest import BACKENDS

both = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

PROGRAMS_CSV = Path(__file__).parents[1] / "db" / "reference" / "programs.csv"


async def rows_of(engine: AsyncEngine, table: Table) -> list[Any]:
    async with engine.connect() as connection:
        query = select(table).order_by(*table.primary_key.columns)
        return [tuple(row) for row in await connection.execute(query)]


# --- seed_demo ------------------------------------------------------------------------------


@both
async def test_seed_demo_fills_an_empty_database(engine: AsyncEngine) -> None:
    summary = await seed_demo(engine, cooperatives=120)

    async with engine.connect() as connection:
        coops = (await connection.execute(select(cooperatives))).all()
        stored_programs = (await connection.execute(select(programs))).all()
        chains = (await connection.execute(select(value_chains))).all()
        apps = (await connection.execute(select(applications))).all()
    assert len(coops) == summary.cooperatives == 120
    assert all(row.demo and row.name.endswith(DEMO_LABEL) for row in coops)
    assert {row.province_id for row in coops} == set(reference().provinces)
    program_ids = [
        row["program_id"]
        for row in csv.DictReader(io.StringIO(PROGRAMS_CSV.read_text(encoding="utf-8")))
    ]
    assert sorted(row.program_id for row in stored_programs) == sorted(program_ids)
    assert not any(row.demo for row in stored_programs)  # the programs are real
    assert len(chains) == summary.chains == 6
    assert len(apps) == summary.applications == len(summary.samples) >= 8
    assert all(row.demo for row in apps)


@both
async def test_the_sample_applications_cover_every_kind_and_status(engine: AsyncEngine) -> None:
    await seed_demo(engine, cooperatives=10)
    apps = await rows_of(engine, applications)
    assert {row[1] for row in apps} == set(KINDS)
    assert {row[4] for row in apps} == set(STATUSES)


def test_sample_applications_look_real_but_cannot_be_mistaken_for_real() -> None:
    today = dt.date(2025, 3, 21)  # 1404/01/01
    samples = sample_applications(today)
    titles = PROGRAMS_CSV.read_text(encoding="utf-8")
    for sample in samples:
        assert sample["tracking_code"].startswith("DEMO")
        assert 6 <= len(sample["tracking_code"]) <= 20 and sample["tracking_code"].isalnum()
        assert sample["applicant_phone"].startswith("09120000")
        assert len(sample["applicant_phone"]) == 11
        assert "1403/11/01" <= sample["updated_on"] <= "1404/01/01"  # the last few weeks
        assert sample["note_fa"] and sample["note_en"]
        if sample["kind"] == "program_application":
            assert sample["subject"] in titles
        else:
            assert sample["subject"].endswith(DEMO_LABEL)
    assert len({s["tracking_code"] for s in samples}) == len(samples)


@both
async def test_describe_lists_every_sample_code_and_phone(engine: AsyncEngine) -> None:
    summary = await seed_demo(engine, cooperatives=10)
    text = summary.describe()
    for sample in summary.samples:
        assert sample["tracking_code"] in text
        assert sample["applicant_phone"] in text
    assert "coopbot chat" in text and f"/status {summary.samples[0]['tracking_code']}" in text


@both
async def test_seeding_twice_changes_nothing(engine: AsyncEngine) -> None:
    tables = (cooperatives, programs, value_chains, applications, application_history)
    await seed_demo(engine, cooperatives=120)
    before = [await rows_of(engine, table) for table in tables]
    again = await seed_demo(engine, cooperatives=120)
    assert [await rows_of(engine, table) for table in tables] == before
    assert again.cooperatives == 120


@both
async def test_seed_demo_refuses_a_database_with_real_cooperatives(engine: AsyncEngine) -> None:
    county = reference().counties[184]
    async with engine.begin() as connection:
        await connection.execute(
            insert(cooperatives),
            {
                "national_id": "10861234567",
                "name": "تعاونی زنبورداران رفسنجان",
                "name_key": "تعاونی زنبورداران رفسنجان",
                "value_chain": "beekeeping",
                "province_id": county.province_id,
                "county_id": county.id,
                "lat": county.lat,
                "lon": county.lon,
                "updated_at": dt.datetime.now(dt.UTC),
            },
        )
    with pytest.raises(DemoError) as refused:
        await seed_demo(engine, cooperatives=10)
    assert "cooperatives that are not demo data (1)" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert len(await rows_of(engine, cooperatives)) == 1
    assert await rows_of(engine, applications) == []


@both
async def test_seed_demo_refuses_a_database_with_real_applications(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(applications),
            {
                "tracking_code": "123456",
                "kind": "membership",
                "subject": "x",
                "applicant_phone": "09121234567",
                "status": "submitted",
                "updated_on": dt.date(2025, 1, 1),
            },
        )
    with pytest.raises(DemoError, match=r"applications that are not demo data \(1\)"):
        await seed_demo(engine, cooperatives=10)


def test_the_cli_seeds_a_database_and_prints_the_sample_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("COOPBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("COOPBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")

    assert main(["seed-demo", "--cooperatives", "50"]) == 0

    out = capsys.readouterr().out
    for sample in sample_applications():
        assert sample["tracking_code"] in out and sample["applicant_phone"] in out
    assert "50" in out


# --- generate_cooperatives ------------------------------------------------------------------


def test_the_same_seed_gives_the_same_cooperatives() -> None:
    assert generate_cooperatives(200) == generate_cooperatives(200)
    assert generate_cooperatives(200, seed=7) != generate_cooperatives(200)
    assert generate_cooperatives(300)[:200] == generate_cooperatives(200)  # more extends fewer


def test_every_cooperative_is_near_its_county_seat_inside_iran() -> None:
    counties = reference().counties
    for row in generate_cooperatives(2000):
        county = counties[int(row["county_id"])]
        lat, lon = float(row["lat"]), float(row["lon"])
        assert county.province_id == row["province_id"]
        assert IRAN_LAT[0] <= lat <= IRAN_LAT[1] and IRAN_LON[0] <= lon <= IRAN_LON[1]
        assert distance_km(lat, lon, county.lat, county.lon) <= min(16, MAX_KM_FROM_SEAT)


def test_generated_rows_are_import_rows_that_read_like_real_cooperatives() -> None:
    rows = generate_cooperatives(2000)
    assert all(list(row) == list(COOPERATIVE_COLUMNS) for row in rows)
    assert len({row["national_id"] for row in rows}) == len(rows)
    assert len({row["name"] for row in rows}) == len(rows)
    for row in rows:
        assert len(row["national_id"]) == 11 and row["national_id"].isdigit()
        assert row["name"].startswith("تعاونی") and row["name"].endswith(f" {DEMO_LABEL}")
        assert row["role"] in ("input_supply", "production", "processing", "logistics", "marketing")
        assert 7 <= int(row["members"]) <= 400
        assert row["phone"].startswith(AREA_CODES[row["province_id"]] + "-")
        assert len(row["phone"].replace("-", "")) == 11
        assert row["women_led"] in ("0", "1") and row["active"] in ("0", "1")
    women_led = sum(row["women_led"] == "1" for row in rows) / len(rows)
    assert 0.25 <= women_led <= 0.35


def test_every_province_and_chain_appears_and_the_pilot_provinces_are_denser() -> None:
    rows = generate_cooperatives(120)
    assert {row["province_id"] for row in rows} == set(reference().provinces)
    assert {row["value_chain"] for row in rows} == set(reference().chains)

    per_province = Counter(row["province_id"] for row in generate_cooperatives(5000))
    per_county = {
        province: count / len(reference().counties_of(province))
        for province, count in per_province.items()
    }
    others = max(v for p, v in per_county.items() if p not in PILOT_PROVINCES)
    assert all(per_county[pilot] > 1.5 * others for pilot in PILOT_PROVINCES)
