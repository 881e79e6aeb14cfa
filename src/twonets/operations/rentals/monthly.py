"""Kept monthly figures: each month's peers computed once, the year's features from them.

A month's peers (the building's and the district's medians, the district's MAD) depend on
that month's readings only, so the figures of a household's month — its ratios to the peers,
its robust z-scores, its shares over the district's — never change once the month's readings
are in. :func:`month_figures` computes them for some months (one row per household and
month, :data:`KEPT_COLUMNS`); the platform keeps them and computes only a month whose
readings are new or changed. :func:`features_from_kept` turns the kept rows of every month
into exactly :func:`engine.feature_table`'s features: a GROUP BY household over narrow rows.

The z-score of a month is kept for every month (the cold path computes it for the recent
months only, the only ones used): the same figures, since a month's MAD is that month's.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from twonets.operations.rentals import engine
from twonets.operations.rentals.engine import RECENT, SHARES, UTILITIES

# One row per household and month: what the per-household features aggregate.
KEPT_COLUMNS = (
    "household_id",
    "month",
    "idx",
    "water_m3",
    "electricity_kwh",
    "we_d",
    *(f"{s}_r" for s in SHARES),
    *(f"{u}_{name}" for u in UTILITIES for name in ("rb", "rd", "rm2", "people", "z")),
)
KEPT_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("month", pa.string()),
        ("idx", pa.int64()),
        *((name, pa.float64()) for name in KEPT_COLUMNS[3:]),
    ]
)


def month_index(month: str) -> int:
    """``YYYY-MM`` as the engine's month index (year × 12 + month)."""
    return int(month[:4]) * 12 + int(month[5:7])


def month_figures(
    households: ir.Table, readings: ir.Table, months: Sequence[str] | None = None
) -> ir.Table:
    """The kept figures of ``months`` (every month of ``readings`` when not given)."""
    _, _, hm = engine.narrow(households, readings, months)
    peers = engine.peers_of(hm)
    mad = engine.month_scale(hm, peers)
    x = (
        hm.join(peers, ["building_id", "idx"])
        .left_join(mad, ["district", "idx"])
        .drop("district_right", "idx_right")
    )
    return engine.figures(x, idx=x.idx).select(*KEPT_COLUMNS)


def features_from_kept(
    households: ir.Table, kept: ir.Table, bounds: tuple[str, str] | None = None
) -> ir.Table:
    """The features (:func:`engine.feature_table`'s) from kept rows of every month.

    ``bounds`` are the data's first and last months (``YYYY-MM``); by default the kept rows'
    own. The cold path takes them from every reading, a commercial premises' too: hand them
    over where such readings may reach beyond the residential ones.
    """
    h = households.filter(households.use == "residential").select(
        "household_id",
        "building_id",
        "district",
        "area_m2",
        "rooms",
        "registered_occupants",
    )
    if bounds is None:
        span = kept.aggregate(first_idx=kept.idx.min(), last_idx=kept.idx.max())
        x = kept.cross_join(span)
        x = x.mutate(recent=x.idx > x.last_idx - RECENT, early=x.idx < x.first_idx + RECENT)
    else:
        first, last = (ibis.literal(month_index(m), "int64") for m in bounds)
        x = kept.mutate(recent=kept.idx > last - RECENT, early=kept.idx < first + RECENT)
    return engine.per_household(x, h)


def duckdb_month_figures(
    households: pa.Table, readings: pa.Table, months: Sequence[str] | None = None
) -> pa.Table:
    """The kept figures of ``months`` computed by DuckDB in memory (:data:`KEPT_SCHEMA`)."""
    con = ibis.duckdb.connect()
    try:
        con.con.register("households", households)
        con.con.register("readings", readings)
        expr = month_figures(con.table("households"), con.table("readings"), months)
        return expr.to_pyarrow().cast(KEPT_SCHEMA)
    finally:
        con.disconnect()


def duckdb_features_from_kept(
    households: pa.Table, kept: pa.Table, bounds: tuple[str, str] | None = None
) -> pa.Table:
    """The features from kept rows, by DuckDB in memory, ordered by household id."""
    con = ibis.duckdb.connect()
    try:
        con.con.register("households", households)
        con.con.register("kept", kept)
        expr = features_from_kept(con.table("households"), con.table("kept"), bounds)
        return expr.order_by("household_id").select(*engine.FEATURE_COLUMNS).to_pyarrow()
    finally:
        con.disconnect()
