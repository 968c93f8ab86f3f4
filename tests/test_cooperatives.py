"""The cooperatives repository: nearest-first search, a county's list, one cooperative."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db import cooperatives as repo
from db.cooperatives import EARTH_RADIUS_KM, distance_km
from db.reference import reference
from db.schema import cooperatives
from db.text import search_key
from tests.conftest import BACKENDS

pytestmark = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)

RAFSANJAN = reference().counties[184]
KERMAN = reference().counties[194]
HERE = (RAFSANJAN.lat, RAFSANJAN.lon)
_NATIONAL_IDS = itertools.count(10_000_000_001)


def cooperative(lat: float, lon: float, **fields: Any) -> dict[str, Any]:
    """A row for db.schema.cooperatives, in Rafsanjan's beekeeping chain unless told otherwise."""
    name = fields.pop("name", f"Coop {lat:.4f} {lon:.4f}")
    return {
        "national_id": str(next(_NATIONAL_IDS)),
        "name": name,
        "name_key": search_key(name),
        "value_chain": "beekeeping",
        "role": "production",
        "province_id": RAFSANJAN.province_id,
        "county_id": RAFSANJAN.id,
        "lat": lat,
        "lon": lon,
        "members": 10,
        "active": True,
        "updated_at": dt.datetime.now(dt.UTC),
        **fields,
    }


def north_of(lat: float, lon: float, km: float) -> tuple[float, float]:
    return lat + math.degrees(km / EARTH_RADIUS_KM), lon


async def add(engine: AsyncEngine, *rows: dict[str, Any]) -> list[int]:
    """Insert the rows; their ids, in order."""
    async with engine.begin() as connection:
        for row in rows:
            await connection.execute(insert(cooperatives), row)
        found = await connection.execute(
            select(cooperatives.c.national_id, cooperatives.c.id).where(
                cooperatives.c.national_id.in_([row["national_id"] for row in rows])
            )
        )
        ids = {row.national_id: row.id for row in found}
    return [ids[row["national_id"]] for row in rows]


async def ids_nearest(engine: AsyncEngine, **kwargs: Any) -> list[int]:
    lat, lon = kwargs.pop("at", HERE)
    found = await repo.nearest(engine, lat, lon, kwargs.pop("chain", "beekeeping"), **kwargs)
    return [n.cooperative.id for n in found]


# --- nearest --------------------------------------------------------------------------------

# Points within about 330 km of Kerman, so that the 300 km cut-off matters.
_offsets = st.tuples(st.floats(-3, 3), st.floats(-3, 3))
_cooperatives = st.lists(
    st.tuples(
        _offsets,
        st.sampled_from(["beekeeping", "poultry"]),
        st.sampled_from(["production", "marketing"]),
        st.booleans(),
    ),
    max_size=25,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=_cooperatives,
    point=_offsets,
    k=st.integers(1, 12),
    role=st.sampled_from([None, "marketing"]),
    max_km=st.sampled_from([300.0, 120.0, 20.0]),
)
async def test_nearest_equals_a_brute_force_sort_by_distance(
    engine: AsyncEngine,
    rows: list[tuple[tuple[float, float], str, str, bool]],
    point: tuple[float, float],
    k: int,
    role: str | None,
    max_km: float,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(delete(cooperatives))
    lat, lon = KERMAN.lat + point[0], KERMAN.lon + point[1]
    made = [
        cooperative(KERMAN.lat + dlat, KERMAN.lon + dlon, value_chain=c, role=r, active=a)
        for (dlat, dlon), c, r, a in rows
    ]
    if made:
        await add(engine, *made)
    expected = sorted(
        distance_km(lat, lon, row["lat"], row["lon"])
        for row in made
        if row["value_chain"] == "beekeeping"
        and row["active"]
        and role in (None, row["role"])
        and distance_km(lat, lon, row["lat"], row["lon"]) <= max_km
    )[:k]

    found = await repo.nearest(engine, lat, lon, "beekeeping", k=k, role=role, max_km=max_km)

    # Distances, not ids: two cooperatives on one spot may come in either order.
    assert [n.distance_km for n in found] == expected
    for n in found:
        c = n.cooperative
        assert (c.value_chain, c.active) == ("beekeeping", True)
        assert role in (None, c.role)
        assert n.distance_km == distance_km(lat, lon, c.lat, c.lon)


async def test_nearest_comes_nearest_first_with_distances(engine: AsyncEngine) -> None:
    _, near, middle = await add(
        engine,
        cooperative(*north_of(*HERE, 40)),
        cooperative(*north_of(*HERE, 2)),
        cooperative(*north_of(*HERE, 15)),
    )
    found = await repo.nearest(engine, *HERE, "beekeeping", k=2)
    assert [n.cooperative.id for n in found] == [near, middle]
    assert [round(n.distance_km, 3) for n in found] == [2.0, 15.0]


async def test_nearest_keeps_to_the_role_asked_for(engine: AsyncEngine) -> None:
    _, marketer = await add(
        engine,
        cooperative(*north_of(*HERE, 1), role="production"),
        cooperative(*north_of(*HERE, 30), role="marketing"),
    )
    assert await ids_nearest(engine, role="marketing") == [marketer]


async def test_nearest_never_shows_an_inactive_cooperative(engine: AsyncEngine) -> None:
    _, active = await add(
        engine,
        cooperative(*north_of(*HERE, 1), active=False),
        cooperative(*north_of(*HERE, 5)),
    )
    assert await ids_nearest(engine) == [active]


async def test_nearest_keeps_to_the_chain_asked_for(engine: AsyncEngine) -> None:
    _, poultry = await add(
        engine,
        cooperative(*north_of(*HERE, 1)),
        cooperative(*north_of(*HERE, 2), value_chain="poultry"),
    )
    assert await ids_nearest(engine, chain="poultry") == [poultry]
    assert await ids_nearest(engine, chain="apparel") == []


async def test_nothing_within_300_km_gives_nothing(engine: AsyncEngine) -> None:
    (far,) = await add(engine, cooperative(*north_of(*HERE, 320)))
    assert await ids_nearest(engine) == []
    assert await ids_nearest(engine, max_km=400) == [far]


async def test_max_km_cuts_off_the_farther_ones(engine: AsyncEngine) -> None:
    near, _ = await add(
        engine, cooperative(*north_of(*HERE, 10)), cooperative(*north_of(*HERE, 60))
    )
    assert await ids_nearest(engine, max_km=50) == [near]


async def test_k_larger_than_there_are_gives_all_of_them(engine: AsyncEngine) -> None:
    ids = await add(engine, *(cooperative(*north_of(*HERE, 100 * i + 5)) for i in range(3)))
    assert await ids_nearest(engine, k=10) == ids


async def test_a_crowd_on_one_spot_larger_than_one_fetch_is_still_answered(
    engine: AsyncEngine,
) -> None:
    # Due north the flat bound equals the distance, so the first fetch cannot settle it.
    spot = north_of(*HERE, 3)
    crowd = await add(engine, *(cooperative(*spot) for _ in range(repo.SPARE_CANDIDATES + 20)))
    found = await ids_nearest(engine, k=10)
    assert len(found) == 10 and set(found) <= set(crowd)


async def test_a_nearer_one_the_flat_ranking_puts_later_is_still_found(
    engine: AsyncEngine,
) -> None:
    # East-west the database's flat ranking underestimates (see db.cooperatives._parameters):
    # a crowd due east fills the first fetch, yet one due north is nearer.
    lat, lon = HERE
    east = lon + math.degrees(10 / (EARTH_RADIUS_KM * math.cos(math.radians(lat))))
    await add(engine, *(cooperative(lat, east) for _ in range(1 + repo.SPARE_CANDIDATES)))
    (north,) = await add(engine, cooperative(*north_of(lat, lon, 9.99)))
    assert distance_km(lat, lon, lat, east) > 9.999
    assert await ids_nearest(engine, k=1) == [north]


async def test_the_circles_edge_poleward_of_due_east_is_searched(engine: AsyncEngine) -> None:
    # The circle's widest longitude lies north of its centre, outside a box of r / cos(lat).
    angle = 299.99 / EARTH_RADIUS_KM
    lat0 = math.radians(HERE[0])
    lat = math.degrees(math.asin(math.sin(lat0) / math.cos(angle)))
    lon = HERE[1] + math.degrees(math.asin(math.sin(angle) / math.cos(lat0)))
    assert distance_km(*HERE, lat, lon) == pytest.approx(299.99)
    (edge,) = await add(engine, cooperative(lat, lon))
    assert await ids_nearest(engine, k=1) == [edge]


# --- a county's cooperatives, one cooperative -------------------------------------------------


async def test_of_county_pages_largest_first_and_counts_them_all(engine: AsyncEngine) -> None:
    await add(
        engine,
        *(cooperative(*HERE, name=f"Coop {i:02d}", members=10 * i) for i in range(1, 12)),
        cooperative(*HERE, name="Coop unknown size", members=None),
        cooperative(*HERE, name="Closed", active=False),
        cooperative(*HERE, name="Poultry", value_chain="poultry"),
        cooperative(*HERE, name="Kerman", county_id=KERMAN.id),
    )
    pages = [
        await repo.of_county(engine, RAFSANJAN.id, chain="beekeeping", limit=5, offset=offset)
        for offset in (0, 5, 10)
    ]
    names = [[c.name for c in page] for page, _ in pages]
    assert names == [
        ["Coop 11", "Coop 10", "Coop 09", "Coop 08", "Coop 07"],
        ["Coop 06", "Coop 05", "Coop 04", "Coop 03", "Coop 02"],
        ["Coop 01", "Coop unknown size"],
    ]
    assert {total for _, total in pages} == {12}


async def test_of_county_without_a_chain_lists_every_chain(engine: AsyncEngine) -> None:
    await add(
        engine,
        cooperative(*HERE, value_chain="poultry"),
        cooperative(*HERE, value_chain="apparel", role="marketing"),
    )
    _, total = await repo.of_county(engine, RAFSANJAN.id)
    page, marketers = await repo.of_county(engine, RAFSANJAN.id, role="marketing")
    assert (total, marketers) == (2, 1)
    assert [c.value_chain for c in page] == ["apparel"]


async def test_get_returns_the_cooperative_or_none(engine: AsyncEngine) -> None:
    (made,) = await add(
        engine,
        cooperative(
            30.1,
            56.2,
            name="تعاونی زنبورداران رفسنجان",
            phone="034-34221234",
            tags=";women;",
        ),
    )
    found = await repo.get(engine, made)
    assert found is not None
    assert (found.name, found.county_id, found.lat, found.lon) == (
        "تعاونی زنبورداران رفسنجان",
        RAFSANJAN.id,
        30.1,
        56.2,
    )
    assert (found.phone, found.tags, found.demo) == ("034-34221234", ("women",), False)
    assert await repo.get(engine, made + 1) is None
