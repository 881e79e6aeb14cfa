"""A labelled synthetic city for measuring detection (pure, reproducible from a seed).

Buildings of residential households with seasonal consumption per person (water flat,
electricity peaking in summer and winter, gas in winter), lognormal noise per month, and
planted cases, each with its kind:

- ``rental``: a group rental, 2 to 2 + 2×rooms people more than the rule allows, three in five
  starting in April, July or October (the months before look ordinary);
- look-alikes that must stay out of the top: ``business`` (a home business: electricity 3×,
  water a little up, gas as usual), ``heating`` (electric heating: electricity 3× in winter,
  little gas), ``ev`` (an electric car charged at night: +350 kWh, night share 0.7),
  ``family`` (a large registered family living as registered), ``vacant`` (almost nothing);
- ``normal``: everyone else.

Each month also has its **peak–valley** figure (1 − mean hourly electricity 22:00–06:00 over
06:00–22:00): about 0.35–0.55 for a family's day, flatter (0.12–0.3) for a crowded home's
shifts, and low too for an electric car charged at night (0.05–0.2) or a vacant flat's
refrigerator (0–0.15), look-alikes. It is drawn
from a generator of its own, so every other figure of a seed is as before.

The same seed gives the same city on every machine (``random.Random``, no global state).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from twonets.core.geo import random_point_in_district
from twonets.operations.rentals.data import HouseholdRow, ReadingRow

DEFAULT_SEED = 20261207
DISTRICTS = ("310115", "310104", "310112")  # Pudong, Xuhui, Minhang
KINDS = ("rental", "business", "heating", "ev", "family", "vacant")
# Share of households planted as each kind (the rest are normal).
PLANTED = {
    "rental": 0.03,
    "business": 0.01,
    "heating": 0.01,
    "ev": 0.01,
    "family": 0.01,
    "vacant": 0.01,
}


@dataclass(frozen=True)
class City:
    """Households, their readings and the truth about each household."""

    households: list[HouseholdRow]
    readings: list[ReadingRow]
    kinds: dict[str, str]  # household_id -> kind
    # household_id -> the month a planted group rental began (1: before the data)
    starts: dict[str, int] = field(default_factory=dict)


def _season(month: int, utility: str) -> float:
    """Seasonal factor: electricity peaks in July-August and January, gas in winter."""
    if utility == "electricity":
        return 1.0 + 0.35 * math.cos((month - 7.5) * math.pi / 3) ** 2
    if utility == "gas":
        return 1.0 + 0.6 * math.cos((month - 1) * math.pi / 12) ** 2
    return 1.0 + 0.08 * math.sin((month - 4) * math.pi / 6)


def generate(
    *,
    seed: int = DEFAULT_SEED,
    households: int = 3000,
    year: int = 2026,
    months: int = 12,
    per_building: int = 24,
) -> City:
    """A city of about ``households`` households over ``months`` months of ``year``."""
    rng = random.Random(seed)
    # The buildings' points from a generator of their own: the households stay those of
    # the seed whether or not they are placed.
    places = random.Random(f"{seed}:places")
    # The peak-valley figures from one of their own too: the other figures stay the seed's.
    hours = random.Random(f"{seed}:hours")
    points: dict[int, tuple[float, float]] = {}
    homes: list[HouseholdRow] = []
    readings: list[ReadingRow] = []
    kinds: dict[str, str] = {}
    starts: dict[str, int] = {}
    for n in range(households):
        building = n // per_building
        district = DISTRICTS[building % len(DISTRICTS)]
        rooms = rng.choice((1, 2, 2, 3, 3, 4))
        area = round(rng.uniform(22, 32) * rooms + rng.uniform(0, 15), 1)
        registered = max(1, min(rooms + 1, round(rng.gauss(rooms * 0.9 + 0.5, 0.8))))
        draw = rng.random()
        kind = "normal"
        for k, share in PLANTED.items():
            if draw < share:
                kind = k
                break
            draw -= share
        if kind == "family":
            registered = rooms * 2 + rng.randint(1, 2)
        household_id = f"H{n + 1:06d}"
        kinds[household_id] = kind
        if building not in points:
            lon, lat = random_point_in_district(district, places)
            points[building] = (round(lon, 6), round(lat, 6))
        homes.append(
            HouseholdRow(
                household_id=household_id,
                building_id=f"B{building + 1:05d}",
                district=district,
                area_m2=area,
                rooms=rooms,
                registered_occupants=registered,
                use="residential",
                lon=points[building][0],
                lat=points[building][1],
                # Ten buildings to a street, each street with its own inspection team.
                street=f"{district}{building // (10 * len(DISTRICTS)) + 1:03d}",
            )
        )
        people = float(registered)
        start = 1
        if kind == "rental":
            people = float(2 * rooms + rng.randint(2, 2 + 2 * rooms))
            start = rng.choice((1, 1, 4, 7, 10))
            starts[household_id] = start
        taste = {u: rng.lognormvariate(0, 0.15) for u in ("water", "electricity", "gas")}
        for m in range(1, months + 1):
            here = people if m >= start else float(registered)
            if kind == "vacant":
                here = 0.05
            use = {
                u: taste[u] * _season(m, u) * rng.lognormvariate(0, 0.12)
                for u in ("water", "electricity", "gas")
            }
            water = use["water"] * (3.2 * here + 0.5)
            power = use["electricity"] * (75 * here + 40)
            gas = use["gas"] * (5.0 * here + 2.0)
            night = rng.uniform(0.25, 0.35)
            if kind == "ev":
                peak_valley = hours.uniform(0.05, 0.2)
            elif kind == "vacant":  # a refrigerator's day and night are alike
                peak_valley = hours.uniform(0.0, 0.15)
            elif here > registered:
                peak_valley = hours.uniform(0.12, 0.3)
            elif kind == "business":
                peak_valley = hours.uniform(0.55, 0.75)
            else:
                peak_valley = hours.uniform(0.35, 0.55)
            if kind == "business":
                power *= 3.0
                water *= 1.3
            elif kind == "heating" and m in (1, 2, 3, 11, 12):
                power *= 3.0
                gas *= 0.3
            elif kind == "ev":
                power += 350
                night = 0.7
            readings.append(
                ReadingRow(
                    household_id=household_id,
                    month=f"{year:04d}-{m:02d}",
                    water_m3=round(water, 2),
                    electricity_kwh=round(power, 1),
                    gas_m3=round(gas, 2),
                    night_share=round(night, 3),
                    weekend_share=round(rng.uniform(0.25, 0.33), 3),
                    peak_valley=round(peak_valley, 3),
                )
            )
    return City(homes, readings, kinds, starts)


@dataclass(frozen=True)
class Evaluation:
    """How the ranked leads fare against the planted truth."""

    planted: int
    leads: int
    top: int
    precision_at_top: float
    recall: float
    look_alikes_in_top: dict[str, int]
    look_alikes_planted: dict[str, int]
    # Planted rentals that began after the first month: found among the leads, and planted.
    mid_year_found: int = 0
    mid_year_planted: int = 0


def evaluate(
    kinds: dict[str, str],
    ranked: list[str],
    *,
    top: int | None = None,
    starts: dict[str, int] | None = None,
) -> Evaluation:
    """Precision in the first ``top`` of ``ranked`` (default: as many as planted), recall."""
    planted = sum(1 for k in kinds.values() if k == "rental")
    k = top if top is not None else planted
    head = ranked[:k]
    hits = sum(1 for h in head if kinds.get(h) == "rental")
    found = sum(1 for h in ranked if kinds.get(h) == "rental")
    look = [k_ for k_ in KINDS if k_ != "rental"]
    late = {h for h, m in (starts or {}).items() if m > 1}
    leads = set(ranked)
    return Evaluation(
        planted=planted,
        leads=len(ranked),
        top=len(head),
        precision_at_top=hits / len(head) if head else 0.0,
        recall=found / planted if planted else 0.0,
        look_alikes_in_top={k_: sum(1 for h in head if kinds.get(h) == k_) for k_ in look},
        look_alikes_planted={k_: sum(1 for v in kinds.values() if v == k_) for k_ in look},
        mid_year_found=len(late & leads),
        mid_year_planted=len(late),
    )
