"""Cooperatives: the nearest ones in a value chain, and those of a county.

Nearest-first search has to be fast with 150,000 rows and must run, indexed, on SQLite and PostgreSQL
alike, so it uses no spatial extension: a bounding box on the (chain, active, lat, lon) index that
widens until it holds K cooperatives within its inscribed circle (then those K are provably the
nearest), with exact great-circle distances computed for the few candidates in Python.

Inside the box the database itself ranks the points by a flat-map distance that never exceeds the
great-circle one, and returns only the first few: a dense box costs index entries, not rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, Row, Select, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Cooperative, Nearby
from db.schema import cooperatives

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_KM / 180
# Wide enough that one query settles most look-ups: a wider box costs index entries, a second
# query a round trip (bench/nearby.py measures both).
FIRST_RADIUS_KM = 50.0
MAX_RADIUS_KM = 300.0
# Rows fetched beyond k, so that one query nearly always settles the answer (see _unseen_km).
SPARE_CANDIDATES = 8
ROLES = ("input_supply", "production", "processing", "logistics", "marketing")

_COLUMNS = [c for c in cooperatives.c if c.name not in ("name_key", "updated_at")]

Ranked = list[tuple[float, Row[Any]]]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


async def nearest(
    engine: AsyncEngine,
    lat: float,
    lon: float,
    chain: str,
    k: int = 10,
    role: str | None = None,
    max_km: float = MAX_RADIUS_KM,
) -> list[Nearby]:
    """The `k` active cooperatives of `chain` (and `role`) nearest to the point, within `max_km`."""
    if k < 1:
        return []
    radius, limit = min(FIRST_RADIUS_KM, max_km), k + SPARE_CANDIDATES
    async with engine.connect() as connection:
        while True:
            parameters = _parameters(lat, lon, radius, chain, role, limit)
            rows = (await connection.execute(_CANDIDATES[role is not None], parameters)).all()
            ranked = sorted(
                ((distance_km(lat, lon, row.lat, row.lon), row) for row in rows),
                key=lambda pair: pair[0],
            )
            unseen_km = math.inf if len(rows) < limit else _unseen_km(rows)
            # Every cooperative nearer than `known_km` is among the rows.
            known_km = min(radius, unseen_km)
            inside = [pair for pair in ranked if pair[0] <= known_km]
            if len(inside) >= k or (radius >= max_km and known_km == radius):
                return [_nearby(km, row) for km, row in inside[:k]]
            if unseen_km < radius:
                limit *= 4  # the box holds more than was fetched: fetch more before widening
            else:
                radius = min(_next_radius(radius, ranked, k), max_km)


def _candidates_query(with_role: bool) -> Select[Any]:
    """The `limit` cooperatives of the box around the circle that come first on a flat map.

    The inner query reads only the (chain, active, lat, lon) index (SQLite keeps the id in it);
    the outer one fetches whole rows for the few it keeps. Built once: constructing a statement
    costs as much as SQLite takes to run it.
    """
    # A squared distance in degrees on a flat map squeezed east-west (see _parameters).
    north = cooperatives.c.lat - bindparam("lat", type_=Float)
    east = cooperatives.c.lon - bindparam("lon", type_=Float)
    bound = north * north + east * east * bindparam("squeeze", type_=Float)
    where = [
        cooperatives.c.value_chain == bindparam("chain", type_=String),
        cooperatives.c.active.is_(True),
        cooperatives.c.lat.between(
            bindparam("south", type_=Float), bindparam("north", type_=Float)
        ),
        cooperatives.c.lon.between(bindparam("west", type_=Float), bindparam("east", type_=Float)),
    ]
    if with_role:
        where.append(cooperatives.c.role == bindparam("role", type_=String))
    first = (
        select(cooperatives.c.id, bound.label("bound"))
        .where(*where)
        .order_by(bound)
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return select(*_COLUMNS, first.c.bound).join_from(
        first, cooperatives, cooperatives.c.id == first.c.id
    )


_CANDIDATES = {with_role: _candidates_query(with_role) for with_role in (False, True)}


def _parameters(
    lat: float, lon: float, radius: float, chain: str, role: str | None, limit: int
) -> dict[str, Any]:
    """The box around the circle, and the squeeze that keeps the flat bound below the distance.

    A path between the centre and a point of the circle never goes further poleward than the
    box's edge, where a degree of longitude is shortest; squeezed to that, the flat-map distance
    never exceeds the great-circle one.
    """
    dlat, dlon = _half_widths(lat, radius)
    squeeze = math.cos(math.radians(min(abs(lat) + dlat, 90.0))) ** 2
    parameters = {
        "lat": lat,
        "lon": lon,
        "squeeze": squeeze,
        "chain": chain,
        "south": lat - dlat,
        "north": lat + dlat,
        "west": lon - dlon,
        "east": lon + dlon,
        "limit": limit,
    }
    return parameters if role is None else {**parameters, "role": role}


def _half_widths(lat: float, radius: float) -> tuple[float, float]:
    """Degrees of latitude and longitude the circle spans either side of its centre.

    The widest longitude is reached poleward of the centre, where meridians are closer, so it is
    asin(sin(r/R) / cos(lat)), a little more than (r/R) / cos(lat); the smaller figure would miss
    points near the circle's edge.
    """
    angle = radius / EARTH_RADIUS_KM
    dlat = math.degrees(angle)
    ratio = math.sin(angle) / max(math.cos(math.radians(lat)), 1e-12)
    dlon = 180.0 if ratio >= 1 or abs(lat) + dlat >= 90 else math.degrees(math.asin(ratio))
    return dlat, dlon


def _unseen_km(rows: Sequence[Row[Any]]) -> float:
    """A distance that no unfetched cooperative of the circle comes closer than.

    Each unfetched one has a flat bound at least the largest fetched, and a distance, if it is
    inside the circle, at least its flat bound (see _parameters); the tiny margin covers rounding.
    """
    largest = max(row.bound for row in rows)
    return math.radians(math.sqrt(largest)) * EARTH_RADIUS_KM * (1 - 1e-9)


def _next_radius(radius: float, ranked: Ranked, k: int) -> float:
    """How far to look next: out to the k-th cooperative already seen, else where k should be."""
    if len(ranked) >= k:
        # The circle through the k-th one holds k; the margin absorbs rounding at its edge.
        return ranked[k - 1][0] * 1.001
    # Fewer than k in the whole box: an area holding k takes about sqrt(k / found) the radius.
    return radius * max(2.0, 1.5 * math.sqrt(k / max(len(ranked), 1)))


def _nearby(km: float, row: Row[Any]) -> Nearby:
    return Nearby(cooperative=Cooperative.model_validate(row._mapping), distance_km=km)


async def of_county(
    engine: AsyncEngine,
    county_id: int,
    chain: str | None = None,
    role: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[Cooperative], int]:
    """One page of a county's active cooperatives (largest first), and how many there are."""
    where = [cooperatives.c.county_id == county_id, cooperatives.c.active.is_(True)]
    if chain is not None:
        where.append(cooperatives.c.value_chain == chain)
    if role is not None:
        where.append(cooperatives.c.role == role)
    page = (
        select(*_COLUMNS)
        .where(*where)
        .order_by(cooperatives.c.members.desc().nulls_last(), cooperatives.c.name)
        .limit(limit)
        .offset(offset)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(page)).all()
        total = (
            await connection.execute(select(func.count()).select_from(cooperatives).where(*where))
        ).scalar_one()
    return [Cooperative.model_validate(row._mapping) for row in rows], total


_ONE = select(*_COLUMNS).where(cooperatives.c.id == bindparam("id"))


async def get(engine: AsyncEngine, cooperative_id: int) -> Cooperative | None:
    async with engine.connect() as connection:
        row = (await connection.execute(_ONE, {"id": cooperative_id})).one_or_none()
    return None if row is None else Cooperative.model_validate(row._mapping)
