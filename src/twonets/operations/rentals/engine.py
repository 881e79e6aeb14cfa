"""The features of group-rental detection as one Ibis expression (DuckDB, PostgreSQL, ...).

:func:`feature_table` takes two Ibis tables — households and monthly readings, with the
columns of :mod:`twonets.operations.rentals.data` — and returns an expression with one row
per residential household. It is written once and runs on whatever engine holds the tables:
DuckDB in memory by default (:func:`duckdb_features`), PostgreSQL where the readings are
stored, Spark or Trino for a city of ten million households (docs/rentals.md says how).

Per household and month, for each utility (water, electricity, gas):

- consumption **per registered occupant** over the median of the same building's residential
  households that month (the district's when fewer than :data:`MIN_PEERS` are there), and
  over the district's median; consumption **per m²** over the district's median;
- a **robust z-score**: the log of the ratio to the building's median over 1.4826 × the
  median absolute deviation of that log ratio in the district that month (median/MAD, so a
  few extreme homes do not widen the scale); clipped to ±:data:`Z_CLIP`;
- **people implied**: consumption over the district's median per registered occupant.

Per household, over the months: the median ratio, the months at least :data:`HIGH`× the
peers, the mean ratio and z over the last :data:`RECENT` months of the data (how the home is
used now), the **step change** (the last months' mean ratio over the first months'), people
implied now, the water/electricity ratio against the district's, and the night and weekend
shares of electricity against the district's where hourly data exists.

Medians are aggregates joined back, never window medians: PostgreSQL has no ordered-set
aggregate over a window, and the same expression must run on every engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from twonets.operations.rentals.data import HouseholdRow, ReadingRow

UTILITIES = ("water", "electricity", "gas")
COLUMN = {"water": "water_m3", "electricity": "electricity_kwh", "gas": "gas_m3"}
MIN_PEERS = 5
HIGH = 2.0
RECENT = 3
Z_CLIP = 10.0
MAD_SCALE = 1.4826
EPSILON = 1e-9
# Electricity's shares of the month from hourly readings, and their columns (null: unknown).
SHARES = ("night", "weekend", "peak_valley")
SHARE = {"night": "night_share", "weekend": "weekend_share", "peak_valley": "peak_valley"}

HOUSEHOLD_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("building_id", pa.string()),
        ("district", pa.string()),
        ("area_m2", pa.float64()),
        ("rooms", pa.int64()),
        ("registered_occupants", pa.int64()),
        ("use", pa.string()),
    ]
)
READING_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("month", pa.string()),
        ("water_m3", pa.float64()),
        ("electricity_kwh", pa.float64()),
        ("gas_m3", pa.float64()),
        ("night_share", pa.float64()),
        ("weekend_share", pa.float64()),
        ("peak_valley", pa.float64()),
    ]
)


def households_arrow(homes: Sequence[HouseholdRow]) -> pa.Table:
    """Households as an Arrow table of :data:`HOUSEHOLD_SCHEMA`."""
    return pa.table(
        {
            "household_id": [h.household_id for h in homes],
            "building_id": [h.building_id for h in homes],
            "district": [h.district for h in homes],
            "area_m2": [float(h.area_m2) for h in homes],
            "rooms": [h.rooms for h in homes],
            "registered_occupants": [h.registered_occupants for h in homes],
            "use": [h.use for h in homes],
        },
        schema=HOUSEHOLD_SCHEMA,
    )


def readings_arrow(readings: Sequence[ReadingRow]) -> pa.Table:
    """Readings as an Arrow table of :data:`READING_SCHEMA`."""
    return pa.table(
        {
            "household_id": [r.household_id for r in readings],
            "month": [r.month for r in readings],
            "water_m3": [float(r.water_m3) for r in readings],
            "electricity_kwh": [float(r.electricity_kwh) for r in readings],
            "gas_m3": [float(r.gas_m3) for r in readings],
            "night_share": [r.night_share for r in readings],
            "weekend_share": [r.weekend_share for r in readings],
            "peak_valley": [r.peak_valley for r in readings],
        },
        schema=READING_SCHEMA,
    )


def div(a: ir.NumericValue, b: ir.NumericValue) -> ir.FloatingValue:
    """``a / b``, 0 where ``b`` is not positive (no division by zero on any engine)."""
    return ibis.ifelse(b > 0, a / b, 0.0)


def _building_ratio(x: ir.Table, u: str) -> ir.FloatingValue:
    """Use per registered occupant over the peers' (building's, or district's if too few)."""
    occupants = ibis.greatest(x.registered_occupants, 1).cast("float64")
    return div(x[COLUMN[u]] / occupants, x[f"{u}_peer"])


def _log_ratio(x: ir.Table, u: str) -> ir.FloatingValue:
    """The log of :func:`_building_ratio`, whose spread the robust z-score measures."""
    return (_building_ratio(x, u) + EPSILON).ln()


def _peak_valley(readings: ir.Table) -> ir.FloatingValue:
    """The readings' peak–valley figure, null where the readings have no such column."""
    if "peak_valley" in readings.columns:
        return readings.peak_valley.cast("float64")
    return ibis.null("float64")


def narrow(
    households: ir.Table, readings: ir.Table, months: Sequence[str] | None = None
) -> tuple[ir.Table, ir.Table, ir.Table]:
    """Residential households, the readings with their month index, and the two joined.

    ``months`` (``YYYY-MM``) keeps only those months' readings (the kept monthly figures).
    """
    h = households.filter(households.use == "residential").select(
        "household_id",
        "building_id",
        "district",
        "area_m2",
        "rooms",
        "registered_occupants",
    )
    if months is not None:
        readings = readings.filter(readings.month.isin(list(months)))
    r = readings.select(
        "household_id",
        "month",
        *COLUMN.values(),
        "night_share",
        "weekend_share",
        peak_valley=_peak_valley(readings),
        idx=readings.month.substr(0, 4).cast("int64") * 12
        + readings.month.substr(5, 2).cast("int64"),
    )
    # Narrow on purpose: this is the table every later step reads (and an engine may
    # materialise it once), so what can be computed from it later is not stored in it.
    hm = r.join(h.drop("rooms"), "household_id")
    # A column of its own, so that the engines keep this join as one relation (joined
    # once) instead of flattening it into the joins below.
    hm = hm.mutate(registered=hm.registered_occupants.nullif(0).cast("float64"))
    return h, r, hm


def peers_of(hm: ir.Table) -> ir.Table:
    """What each reading is compared with, per building and month."""
    registered = hm.registered
    # Peers per building and month: the median per registered occupant (homes with somebody
    # registered), the mean per m², shares and water/electricity. The district's reference is
    # the median over its buildings' figures that month: exact medians over a whole district
    # (a third of a million homes) cost more than everything else together.
    building = hm.group_by(["building_id", "idx", "district"]).aggregate(
        peers=registered.count(),
        **{f"{u}_b": (hm[COLUMN[u]] / registered).median() for u in UTILITIES},
        **{f"{u}_m2b": (hm[COLUMN[u]] / hm.area_m2).mean() for u in UTILITIES},
        **{f"{s}_b": hm[SHARE[s]].mean() for s in SHARES},
        we_b=div(hm.water_m3, hm.electricity_kwh).mean(),
    )
    district = building.group_by(["district", "idx"]).aggregate(
        **{f"{u}_d": building[f"{u}_b"].median() for u in UTILITIES},
        **{f"{u}_m2d": building[f"{u}_m2b"].median() for u in UTILITIES},
        **{f"{s}_d": building[f"{s}_b"].median() for s in SHARES},
        we_d=building.we_b.median(),
    )
    # Each building's month beside its district's: the readings are joined once, on two keys.
    peers = building.select(
        "building_id", "idx", "district", "peers", *(f"{u}_b" for u in UTILITIES)
    )
    peers = peers.join(district, ["district", "idx"]).drop("district")
    # What each reading is compared with, settled once per building and month (50,000 rows
    # per 100,000 households) rather than once per reading: the peers' median (the
    # district's where the building has too few), and the district's references (0 unknown).
    enough = peers.peers.fill_null(0) >= MIN_PEERS
    return peers.select(
        "building_id",
        "idx",
        "we_d",
        **{
            f"{u}_peer": ibis.ifelse(
                enough, peers[f"{u}_b"].fill_null(0.0), peers[f"{u}_d"].fill_null(0.0)
            )
            for u in UTILITIES
        },
        **{f"{u}_d": peers[f"{u}_d"].fill_null(0.0) for u in UTILITIES},
        **{f"{u}_m2d": peers[f"{u}_m2d"].fill_null(0.0) for u in UTILITIES},
        **{f"{s}_d": peers[f"{s}_d"].fill_null(0.0) for s in SHARES},
    )


def month_scale(rows: ir.Table, peers: ir.Table) -> ir.Table:
    """The median absolute deviation of the log ratio, per district and month of ``rows``."""
    now = rows.join(peers, ["building_id", "idx"])
    now = now.select("district", "idx", **{f"{u}_log": _log_ratio(now, u) for u in UTILITIES})
    return now.group_by(["district", "idx"]).aggregate(
        **{f"{u}_mad": now[f"{u}_log"].abs().median() for u in UTILITIES}
    )


def figures(x: ir.Table, **keep: ir.Value) -> ir.Table:
    """Per reading: the ratios, z-scores and shares the per-household features aggregate.

    ``x`` is the readings beside their peers and their district's MAD; ``keep`` adds more
    columns (named expressions over ``x``). A share's ratio is null where the reading has no share.
    """
    occupants = ibis.greatest(x.registered_occupants, 1).cast("float64")
    ratios = {}
    for u in UTILITIES:
        ratios[f"{u}_rb"] = _building_ratio(x, u)
        ratios[f"{u}_rd"] = div(x[COLUMN[u]] / occupants, x[f"{u}_d"])
        ratios[f"{u}_rm2"] = div(x[COLUMN[u]] / x.area_m2, x[f"{u}_m2d"])
        ratios[f"{u}_people"] = div(x[COLUMN[u]], x[f"{u}_d"])
    x = x.select(
        "household_id",
        "month",
        "water_m3",
        "electricity_kwh",
        "we_d",
        *(f"{u}_mad" for u in UTILITIES),
        **keep,
        **{
            f"{s}_r": ibis.ifelse(
                x[SHARE[s]].notnull(), div(x[SHARE[s]], x[f"{s}_d"]), ibis.null("float64")
            )
            for s in SHARES
        },
        **ratios,
    )
    # The z-scores from the ratios just computed (each expression evaluated once per row).
    return x.mutate(
        **{
            f"{u}_z": ibis.greatest(
                ibis.least(
                    div((x[f"{u}_rb"] + EPSILON).ln(), MAD_SCALE * x[f"{u}_mad"].fill_null(0.0)),
                    Z_CLIP,
                ),
                -Z_CLIP,
            )
            for u in UTILITIES
        }
    ).drop(*(f"{u}_mad" for u in UTILITIES))


def per_household(x: ir.Table, h: ir.Table) -> ir.Table:
    """The features: per household, sums, counts and means over its months' figures.

    ``x`` holds one row per household and month with the figures of :data:`KEPT_COLUMNS`
    and the flags ``recent`` and ``early``; ``h`` the residential households.
    """
    recent, early = x.recent, x.early
    per_utility: dict[str, Any] = {}
    for u in UTILITIES:
        rb = x[f"{u}_rb"]
        per_utility[f"{u}_ratio"] = rb.mean()
        per_utility[f"{u}_district_ratio"] = x[f"{u}_rd"].mean()
        per_utility[f"{u}_m2_ratio"] = x[f"{u}_rm2"].mean()
        per_utility[f"{u}_high"] = ibis.ifelse(rb >= HIGH, 1, 0).sum()
        per_utility[f"{u}_recent"] = rb.mean(where=recent)
        per_utility[f"{u}_early"] = rb.mean(where=early)
        per_utility[f"{u}_z"] = x[f"{u}_z"].mean(where=recent)
        per_utility[f"{u}_people"] = x[f"{u}_people"].mean(where=recent)
    out = x.group_by("household_id").aggregate(
        months=x.month.count(),
        last_month=x.month.max(),
        water=x.water_m3.sum(),
        power=x.electricity_kwh.sum(),
        we_d=x.we_d.mean(),
        **{f"{s}_ratio": x[f"{s}_r"].mean() for s in SHARES},
        **per_utility,
    )
    out = out.join(h, "household_id")
    return out.mutate(
        we_ratio=div(div(out.water, out.power), out.we_d.fill_null(0.0)),
        **{
            f"{u}_step": div(out[f"{u}_recent"].fill_null(0.0), out[f"{u}_early"].fill_null(0.0))
            for u in UTILITIES
        },
    ).drop("water", "power", "we_d", *(f"{u}_early" for u in UTILITIES))


def feature_table(households: ir.Table, readings: ir.Table) -> ir.Table:
    """One row per residential household with readings: the features of detection."""
    h, r, hm = narrow(households, readings)
    peers = peers_of(hm)
    # The data's first and last months: "now" and "before" are the same for every household.
    bounds = r.aggregate(first_idx=r.idx.min(), last_idx=r.idx.max())

    # The robust scale: the median absolute deviation of the log ratio, per district and
    # month. Only the recent months' z-scores are used, so only their scales are computed,
    # from the recent rows alone (a pass of its own: the wide rows below are never stored).
    now = hm.cross_join(bounds)
    mad = month_scale(now.filter(now.idx > now.last_idx - RECENT), peers)

    x = (
        hm.join(peers, ["building_id", "idx"])
        .cross_join(bounds)
        .left_join(mad, ["district", "idx"])
        .drop("district_right", "idx_right")
    )
    x = figures(x, recent=x.idx > x.last_idx - RECENT, early=x.idx < x.first_idx + RECENT)
    return per_household(x, h)


FEATURE_COLUMNS = (
    "household_id",
    "building_id",
    "district",
    "area_m2",
    "rooms",
    "registered_occupants",
    "months",
    "last_month",
    "night_ratio",
    "weekend_ratio",
    "peak_valley_ratio",
    "we_ratio",
    *(
        f"{u}_{name}"
        for u in UTILITIES
        for name in (
            "ratio",
            "district_ratio",
            "m2_ratio",
            "high",
            "recent",
            "z",
            "people",
            "step",
        )
    ),
)


def duckdb_features(households: pa.Table, readings: pa.Table) -> pa.Table:
    """The features computed by DuckDB in memory, ordered by household id."""
    con = ibis.duckdb.connect()
    try:
        # Registered as views over the Arrow data: nothing is copied.
        con.con.register("households", households)
        con.con.register("readings", readings)
        h, r = con.table("households"), con.table("readings")
        # Sorted by Arrow, not by the query: DuckDB's ORDER BY moves every column of every
        # row (about 1 s of CPU at a million households), Arrow sorts the ids and takes.
        return feature_table(h, r).select(*FEATURE_COLUMNS).to_pyarrow().sort_by("household_id")
    finally:
        con.disconnect()
