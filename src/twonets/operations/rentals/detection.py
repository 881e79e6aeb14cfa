"""Features and the rule baseline that ranks households as group-rental leads (pure).

For each household, over the months given:

- **per registered occupant**, each utility's monthly consumption against the median of the
  same building's residential households in the same month (the district's when the building
  has fewer than :data:`MIN_PEERS` of them), and against the district's;
- **per m²**, the same against the district;
- **people the consumption implies**: each utility's consumption divided by the district's
  median use per registered occupant that month; the median over the utilities is the
  estimate, so one utility alone (electric heating, an electric car, a kiln) cannot make it;
- the **water/electricity ratio** against the district's, and the **night share** of
  electricity where hourly data exists.

The baseline is Shanghai's rule for rented homes: at most 2 people per room and at least
5 m² of living area per person. A household is a lead when the people its consumption implies
exceed what its rooms and area allow, exceed the registered occupants by half, and at least
:data:`AGREEMENT` utilities are each at least :data:`HIGH`× their peers per occupant in at
least :data:`MIN_MONTHS` months. Commercial premises are not scored (their use is declared).
The score lies in [0, 1): the share of utilities that agree times ``1 - capacity/estimate``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from twonets.operations.rentals import engine, model
from twonets.operations.rentals.data import HouseholdRow, ReadingRow

UTILITIES = ("water", "electricity", "gas")
UNITS = {"water": "m³", "electricity": "kWh", "gas": "m³"}
MIN_PEERS = 5
HIGH = 2.0
AGREEMENT = 2
MIN_MONTHS = 2
OVER_REGISTERED = 1.5
PEOPLE_PER_ROOM = 2
M2_PER_PERSON = 5.0
# Months that say how a home is used now (people implied by consumption).
RECENT = 3


def _value(reading: ReadingRow, utility: str) -> float:
    if utility == "water":
        return reading.water_m3
    if utility == "electricity":
        return reading.electricity_kwh
    return reading.gas_m3


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _recent(values: Sequence[float]) -> float:
    """The mean of the last RECENT values (all, if fewer): a group rental that began
    mid-year is judged by how the home is used now, not by the year's average."""
    return statistics.fmean(values[-RECENT:])


def _ratio(value: float, median: float) -> float:
    return value / median if median > 0 else 0.0


@dataclass(frozen=True)
class Features:
    """What detection knows about one household over the months scored."""

    household_id: str
    building_id: str
    district: str
    months: int
    rooms: int
    area_m2: float
    registered_occupants: int
    # Median over the months of the ratio to the peers' median, per registered occupant.
    building_ratio: dict[str, float]
    district_ratio: dict[str, float]
    per_m2_ratio: dict[str, float]
    # Months in which the utility was at least HIGH× its peers per registered occupant.
    high_months: dict[str, int]
    # People each utility's consumption implies (mean over the months).
    implied_people: dict[str, float]
    water_electricity_ratio: float
    night_share_ratio: float | None
    last_month: str
    # The last months' mean ratio to the peers over the first months' (0 when unknown).
    step: dict[str, float] = field(default_factory=dict)
    # The peak-valley difference over the district's, where hourly data exists: a flat day.
    peak_valley_ratio: float | None = None

    @property
    def estimated_people(self) -> float:
        """The median of the utilities' implied people: no single utility decides it."""
        return _median(list(self.implied_people.values()))

    @property
    def capacity(self) -> int:
        """The most people Shanghai's rule allows: 2 per room and 5 m² each."""
        return max(1, min(PEOPLE_PER_ROOM * self.rooms, int(self.area_m2 // M2_PER_PERSON)))


@dataclass(frozen=True)
class Lead:
    """A household ranked by the baseline, with reasons a person can read."""

    household_id: str
    district: str
    score: float
    reasons: str
    period: str
    parts: tuple[ReasonPart, ...] = ()


def features(households: Iterable[HouseholdRow], readings: Iterable[ReadingRow]) -> list[Features]:
    """The features of every residential household that has readings."""
    homes = {h.household_id: h for h in households}
    by_home: dict[str, list[ReadingRow]] = defaultdict(list)
    for r in readings:
        if r.household_id in homes:
            by_home[r.household_id].append(r)
    residential = {k for k, h in homes.items() if h.use == "residential"}

    # Medians per (building | district, month, utility) over residential homes with occupants.
    per_person_building: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    per_person_district: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    per_m2_district: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    night_district: dict[str, list[float]] = defaultdict(list)
    we_district: dict[str, list[float]] = defaultdict(list)
    for key in residential:
        home = homes[key]
        for r in by_home.get(key, []):
            if r.night_share is not None:
                night_district[home.district].append(r.night_share)
            for u in UTILITIES:
                v = _value(r, u)
                per_m2_district[(home.district, r.month, u)].append(v / home.area_m2)
                if home.registered_occupants > 0:
                    pp = v / home.registered_occupants
                    per_person_building[(home.building_id, r.month, u)].append(pp)
                    per_person_district[(home.district, r.month, u)].append(pp)
            if r.electricity_kwh > 0:
                we_district[home.district].append(r.water_m3 / r.electricity_kwh)
    med_b = {k: _median(v) for k, v in per_person_building.items() if len(v) >= MIN_PEERS}
    med_d = {k: _median(v) for k, v in per_person_district.items()}
    med_m2 = {k: _median(v) for k, v in per_m2_district.items()}
    med_night = {k: _median(v) for k, v in night_district.items()}
    med_we = {k: _median(v) for k, v in we_district.items()}

    out: list[Features] = []
    for key in sorted(residential):
        rows = sorted(by_home.get(key, []), key=lambda r: r.month)
        if not rows:
            continue
        home = homes[key]
        occupants = max(home.registered_occupants, 1)
        b_ratio: dict[str, float] = {}
        d_ratio: dict[str, float] = {}
        m2_ratio: dict[str, float] = {}
        high: dict[str, int] = {}
        implied: dict[str, float] = {}
        for u in UTILITIES:
            bs, ds, ms, people = [], [], [], []
            for r in rows:
                v = _value(r, u)
                district_med = med_d.get((home.district, r.month, u), 0.0)
                peer = med_b.get((home.building_id, r.month, u), district_med)
                bs.append(_ratio(v / occupants, peer))
                ds.append(_ratio(v / occupants, district_med))
                ms.append(_ratio(v / home.area_m2, med_m2.get((home.district, r.month, u), 0.0)))
                people.append(_ratio(v, district_med))
            b_ratio[u] = _median(bs)
            d_ratio[u] = _median(ds)
            m2_ratio[u] = _median(ms)
            high[u] = sum(1 for x in bs if x >= HIGH)
            implied[u] = _recent(people)
        water = sum(r.water_m3 for r in rows)
        power = sum(r.electricity_kwh for r in rows)
        we = _ratio(water / power, med_we.get(home.district, 0.0)) if power > 0 else 0.0
        nights = [r.night_share for r in rows if r.night_share is not None]
        night = (
            _ratio(statistics.fmean(nights), med_night.get(home.district, 0.0)) if nights else None
        )
        out.append(
            Features(
                household_id=key,
                building_id=home.building_id,
                district=home.district,
                months=len(rows),
                rooms=home.rooms,
                area_m2=home.area_m2,
                registered_occupants=home.registered_occupants,
                building_ratio=b_ratio,
                district_ratio=d_ratio,
                per_m2_ratio=m2_ratio,
                high_months=high,
                implied_people=implied,
                water_electricity_ratio=we,
                night_share_ratio=night,
                last_month=rows[-1].month,
            )
        )
    return out


def agreeing(f: Features) -> list[str]:
    """The utilities at least HIGH× their peers per occupant in at least MIN_MONTHS months."""
    return [u for u in UTILITIES if f.high_months[u] >= MIN_MONTHS and f.building_ratio[u] >= 1]


def score(f: Features) -> float:
    """The baseline's score in [0, 1): 0 unless every rule holds."""
    people = f.estimated_people
    agree = agreeing(f)
    if (
        len(agree) < AGREEMENT
        or people <= f.capacity
        or people < OVER_REGISTERED * max(f.registered_occupants, 1)
    ):
        return 0.0
    return round(len(agree) / len(UTILITIES) * (1 - f.capacity / people), 4)


# The reasons' wording, as templates with named values: the pages translate each part
# (web/operations/rentals.py lists the same texts for the catalogue).
REASON_FIRST = (
    "%(utility)s %(ratio)s× the building median per registered occupant for %(months)s months"
)
REASON_MORE = "%(utility)s %(ratio)s×"
REASON_PEOPLE = (
    "use of about %(people)s people (registered %(registered)s); "
    "%(rooms)s rooms, %(area)s m² allow at most %(capacity)s"
)
# The same for a home of one room and a utility high in one month (English needs the singular).
REASON_PEOPLE_ONE_ROOM = (
    "use of about %(people)s people (registered %(registered)s); "
    "1 room, %(area)s m² allow at most %(capacity)s"
)
REASON_FIRST_ONE_MONTH = (
    "%(utility)s %(ratio)s× the building median per registered occupant for 1 month"
)
REASON_NIGHT = "night electricity %(ratio)s× the district's share"
REASON_FLAT = "a flat day: peak–valley difference %(ratio)s× the district's"
# A peak-valley difference at most this share of the district's is worth a reason.
FLAT = 0.7
ReasonPart = tuple[str, dict[str, str]]


REASON_STEP = "%(utility)s rose %(ratio)s× against the first months"


def reason_parts(f: Features, agree: Sequence[str] | None = None) -> list[ReasonPart]:
    """Why the household ranks where it does: each part a template and its values."""
    agree = agreeing(f) if agree is None else list(agree)
    parts: list[ReasonPart] = []
    for i, u in enumerate(sorted(agree, key=lambda u: -f.building_ratio[u])):
        values = {"utility": u, "ratio": f"{f.building_ratio[u]:.1f}"}
        if i == 0:
            months = f.high_months[u]
            first = REASON_FIRST_ONE_MONTH if months == 1 else REASON_FIRST
            parts.append((first, {**values, "months": str(months)}))
        else:
            parts.append((REASON_MORE, values))
    parts.append(
        (
            REASON_PEOPLE_ONE_ROOM if f.rooms == 1 else REASON_PEOPLE,
            {
                "people": f"{f.estimated_people:.0f}",
                "registered": str(f.registered_occupants),
                "rooms": str(f.rooms),
                "area": f"{f.area_m2:g}",
                "capacity": str(f.capacity),
            },
        )
    )
    risen = [u for u in agree if f.step.get(u, 0.0) >= HIGH]
    if risen:
        u = max(risen, key=lambda u: f.step[u])
        parts.append((REASON_STEP, {"utility": u, "ratio": f"{f.step[u]:.1f}"}))
    if f.night_share_ratio is not None and f.night_share_ratio >= 1.3:
        parts.append((REASON_NIGHT, {"ratio": f"{f.night_share_ratio:.1f}"}))
    if f.peak_valley_ratio is not None and f.peak_valley_ratio <= FLAT:
        parts.append((REASON_FLAT, {"ratio": f"{f.peak_valley_ratio:.1f}"}))
    return parts


def worded(parts: Sequence[ReasonPart]) -> str:
    """The reasons in one line of English (the command's and the API's ``reasons``)."""
    return "; ".join(template % values for template, values in parts)


def reasons(f: Features) -> str:
    """Why the household ranks where it does, in words a person can check."""
    return worded(reason_parts(f))


def detect_baseline(
    households: Iterable[HouseholdRow],
    readings: Iterable[ReadingRow],
    *,
    top: int | None = None,
) -> list[Lead]:
    """The rule baseline alone (pure Python): households that break its rules, best first."""
    scored = [(f, s) for f in features(households, readings) if (s := score(f)) > 0]
    found = []
    for f, s in scored:
        parts = reason_parts(f)
        found.append(Lead(f.household_id, f.district, s, worded(parts), f.last_month, tuple(parts)))
    found.sort(key=lambda lead: (-lead.score, lead.household_id))
    return found if top is None else found[:top]


REASON_COLUMNS = (
    "household_id",
    "building_id",
    "district",
    "months",
    "rooms",
    "area_m2",
    "registered_occupants",
    "we_ratio",
    "night_ratio",
    "peak_valley_ratio",
    "last_month",
    *(f"{u}_{name}" for u in UTILITIES for name in ("ratio", "district_ratio", "m2_ratio")),
    *(f"{u}_{name}" for u in UTILITIES for name in ("high", "people", "step")),
)


def _features_of(row: dict[str, Any]) -> Features:
    """A feature-table row (engine.feature_table) as :class:`Features`, for the reasons."""

    def per(name: str) -> dict[str, float]:
        return {u: float(row[f"{u}_{name}"] or 0.0) for u in UTILITIES}

    night = row["night_ratio"]
    flat = row["peak_valley_ratio"]
    return Features(
        household_id=row["household_id"],
        building_id=row["building_id"],
        district=row["district"],
        months=int(row["months"]),
        rooms=int(row["rooms"]),
        area_m2=float(row["area_m2"]),
        registered_occupants=int(row["registered_occupants"]),
        building_ratio=per("ratio"),
        district_ratio=per("district_ratio"),
        per_m2_ratio=per("m2_ratio"),
        high_months={u: int(row[f"{u}_high"] or 0) for u in UTILITIES},
        implied_people=per("people"),
        water_electricity_ratio=float(row["we_ratio"] or 0.0),
        night_share_ratio=None if night is None else float(night),
        last_month=row["last_month"],
        step=per("step"),
        peak_valley_ratio=None if flat is None else float(flat),
    )


def ranked(scores: npt.NDArray[np.float64], household_id: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """The rows with a score above 0, best first (ties by household id), sorted by Arrow."""
    found = np.flatnonzero(scores > 0)
    keys = pa.table({"score": scores[found], "household_id": household_id.take(found)})
    order = pc.sort_indices(keys, [("score", "descending"), ("household_id", "ascending")])
    return np.asarray(found[order.to_numpy()], dtype=np.int64)


def lead_ids(table: model.FeatureTable, thresholds: model.Thresholds = model.DEFAULT) -> set[str]:
    """The households that are leads under these thresholds, without wording reasons.

    Hand a :class:`model.Columns` to try several thresholds on one table: its columns are
    converted and its forest fitted once.
    """
    s = model.score(table, thresholds)
    return set(pc.filter(s.household_id, pa.array(s.score > 0)).to_pylist())


def rank(
    table: pa.Table, *, top: int | None = None, thresholds: model.Thresholds = model.DEFAULT
) -> list[Lead]:
    """Leads from a feature table (engine.feature_table's columns), best first, with reasons.

    Scoring is numpy over whole columns; only the leads returned (``top``) are turned into
    Python objects and worded.
    """
    cols = model.Columns(table)
    s = model.score(cols, thresholds)
    order = ranked(s.score, s.household_id)
    if top is not None:
        order = order[:top]
    chosen = table.select(list(REASON_COLUMNS)).take(pa.array(order, type=pa.int64()))
    agree_by = model.agreeing(cols.subset(order), thresholds)
    leads = []
    for j, (i, row) in enumerate(zip(order.tolist(), chosen.to_pylist(), strict=True)):
        f = _features_of(row)
        parts = reason_parts(f, [u for u in UTILITIES if agree_by[u][j]])
        leads.append(
            Lead(
                f.household_id,
                f.district,
                float(s.score[i]),
                worded(parts),
                f.last_month,
                tuple(parts),
            )
        )
    return leads


def detect(
    households: Iterable[HouseholdRow],
    readings: Iterable[ReadingRow],
    *,
    top: int | None = None,
    thresholds: model.Thresholds = model.DEFAULT,
) -> list[Lead]:
    """Leads: features by Ibis on DuckDB, the rules and the IsolationForest; best first."""
    homes, rows = list(households), list(readings)
    if not homes or not rows:
        return []
    table = engine.duckdb_features(engine.households_arrow(homes), engine.readings_arrow(rows))
    return rank(table, top=top, thresholds=thresholds)
