"""Group-rental detection over a city's households against a bare DuckDB GROUP BY.

In the same run and on the same synthetic readings (``--households`` households × 12 months,
buildings of 24, three districts, seasonal consumption with lognormal noise, 3% planted group
rentals, generated with numpy so that generating is not what is measured):

- **bare**: one DuckDB ``GROUP BY household_id`` summing the three utilities over the same
  Arrow table, fetched as Arrow: the floor of any per-household pass over the readings;
- **detection**: ``engine.duckdb_features`` (the Ibis expression on DuckDB: peers' medians
  per building and district and month, MAD, robust z-scores, steps, shares) and
  ``detection.rank`` (the rules, the IsolationForest, reasons for every lead).

Aim: detection at most 3× the bare GROUP BY. Also prints the features' time alone and the
share of planted rentals found, so a fast but blind run cannot pass for a good one.

    .venv/bin/python benchmarks/rentals_detection.py [--households N] [--seed S]
"""

from __future__ import annotations

import argparse
import time

import duckdb
import numpy as np
import pyarrow as pa

from twonets.operations.rentals import detection, engine

DISTRICTS = np.array(["310115", "310104", "310112"])
MONTHS = 12


def synthetic_city(
    households: int, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table, set[str]]:
    """Households and 12 months of readings (Arrow), and the planted rentals' ids."""
    n = households
    ids = np.char.add("H", np.char.zfill(np.arange(1, n + 1).astype(str), 8))
    building = np.arange(n) // 24
    rooms = rng.choice([1, 2, 2, 3, 3, 4], n)
    area = np.round(rng.uniform(22, 32, n) * rooms + rng.uniform(0, 15, n), 1)
    registered = np.clip(np.round(rng.normal(rooms * 0.9 + 0.5, 0.8)), 1, rooms + 1).astype(int)
    rental = rng.random(n) < 0.03
    people = np.where(rental, 2 * rooms + rng.integers(2, 2 + 2 * rooms + 1), registered)
    start = np.where(rental, rng.choice([1, 1, 4, 7, 10], n), 1)
    homes = pa.table(
        {
            "household_id": ids,
            "building_id": np.char.add("B", building.astype(str)),
            "district": DISTRICTS[building % 3],
            "area_m2": area.astype(np.float64),
            "rooms": rooms.astype(np.int64),
            "registered_occupants": registered.astype(np.int64),
            "use": np.full(n, "residential"),
        },
        schema=engine.HOUSEHOLD_SCHEMA,
    )
    month = np.tile(np.arange(1, MONTHS + 1), n)
    here = np.where(month >= np.repeat(start, MONTHS), np.repeat(people, MONTHS), 0)
    here = np.where(here == 0, np.repeat(registered, MONTHS), here).astype(np.float64)
    size = n * MONTHS
    power_season = 1.0 + 0.35 * np.cos((month - 7.5) * np.pi / 3) ** 2
    gas_season = 1.0 + 0.6 * np.cos((month - 1) * np.pi / 12) ** 2
    taste = {u: np.repeat(rng.lognormal(0, 0.15, n), MONTHS) for u in ("w", "e", "g")}
    readings = pa.table(
        {
            "household_id": np.repeat(ids, MONTHS),
            "month": np.char.add("2026-", np.char.zfill(month.astype(str), 2)),
            "water_m3": np.round(taste["w"] * rng.lognormal(0, 0.12, size) * (3.2 * here + 0.5), 2),
            "electricity_kwh": np.round(
                taste["e"] * power_season * rng.lognormal(0, 0.12, size) * (75 * here + 40), 1
            ),
            "gas_m3": np.round(
                taste["g"] * gas_season * rng.lognormal(0, 0.12, size) * (5.0 * here + 2.0), 2
            ),
            "night_share": np.round(rng.uniform(0.25, 0.35, size), 3),
            "weekend_share": np.round(rng.uniform(0.25, 0.33, size), 3),
        },
        schema=engine.READING_SCHEMA,
    )
    return homes, readings, {str(x) for x in ids[rental]}


def bare_group_by(readings: pa.Table) -> pa.Table:
    """The baseline: one GROUP BY over the readings, fetched as Arrow."""
    con = duckdb.connect()
    try:
        con.register("readings", readings)
        return con.sql(
            "SELECT household_id, sum(water_m3) AS w, sum(electricity_kwh) AS e, sum(gas_m3) AS g"
            " FROM readings GROUP BY household_id"
        ).to_arrow_table()
    finally:
        con.close()


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    began = time.perf_counter()
    homes, readings, planted = synthetic_city(args.households, rng)
    print(
        f"generated {homes.num_rows:,} households, {readings.num_rows:,} readings "
        f"in {time.perf_counter() - began:.1f} s"
    )

    bare_group_by(readings)  # warm DuckDB once, as detection's first call would
    began = time.perf_counter()
    summed = bare_group_by(readings)
    bare = time.perf_counter() - began
    assert summed.num_rows == homes.num_rows

    began = time.perf_counter()
    table = engine.duckdb_features(homes, readings)
    featured = time.perf_counter() - began
    leads = detection.rank(table)
    total = time.perf_counter() - began

    hits = sum(1 for lead in leads if lead.household_id in planted)
    print(f"bare GROUP BY      {bare:7.2f} s")
    print(f"features (Ibis)    {featured:7.2f} s  ({featured / bare:.1f}x)")
    print(f"detection in all   {total:7.2f} s  ({total / bare:.1f}x; aim at most 3x)")
    print(f"leads              {len(leads):,}; planted rentals {len(planted):,}")
    print(f"precision          {hits / max(len(leads), 1):.3f}")
    print(f"recall             {hits / max(len(planted), 1):.3f}")


if __name__ == "__main__":
    main()
