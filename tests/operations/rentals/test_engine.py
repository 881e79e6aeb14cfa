"""The features as one Ibis expression: the same figures on DuckDB and on PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from twonets.operations.rentals import detection, engine, synthetic


def _city() -> tuple[pa.Table, pa.Table]:
    city = synthetic.generate(seed=5, households=240)
    readings = list(city.readings)
    readings[3] = readings[3].__class__(**{**readings[3].__dict__, "night_share": None})
    return engine.households_arrow(city.households), engine.readings_arrow(readings)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


def test_the_same_expression_gives_the_same_features_on_duckdb_and_postgresql(
    ibis_postgres: Any,
) -> None:
    households, readings = _city()
    on_duckdb = engine.duckdb_features(households, readings).to_pylist()
    con = ibis_postgres
    h = con.create_table("households", households)
    r = con.create_table("readings", readings)
    expr = engine.feature_table(h, r).order_by("household_id").select(*engine.FEATURE_COLUMNS)
    on_postgres = expr.to_pyarrow().to_pylist()

    assert len(on_duckdb) == len(on_postgres) > 200
    differing = [
        (row["household_id"], key, row[key], other[key])
        for row, other in zip(on_duckdb, on_postgres, strict=True)
        for key in engine.FEATURE_COLUMNS
        if not _same(row[key], other[key])
    ]
    assert differing == []


def test_features_say_what_a_person_can_check() -> None:
    homes = [
        detection.HouseholdRow(f"N{i}", "B1", "310115", 60, 2, 2, "residential") for i in range(8)
    ] + [detection.HouseholdRow("R1", "B1", "310115", 60, 2, 2, "residential")]
    readings = [
        detection.ReadingRow(h.household_id, f"2026-{m:02d}", w, e, g)
        for h in homes
        for m in range(1, 7)
        for w, e, g in [
            (35.0, 800.0, 50.0) if h.household_id == "R1" and m >= 4 else (7.0, 200.0, 12.0)
        ]
    ]
    table = engine.duckdb_features(engine.households_arrow(homes), engine.readings_arrow(readings))
    row = {r["household_id"]: r for r in table.to_pylist()}["R1"]
    # Water per registered occupant 17.5 m³, the building's median 3.5 m³: 5× since April.
    assert row["water_recent"] == 5.0
    assert row["water_high"] == 3
    assert row["water_step"] == 5.0  # the first 3 months were as the neighbours'
    assert row["water_z"] > 2
    assert row["electricity_people"] == 8.0  # 800 kWh over the median 100 per person
    assert row["months"] == 6
    assert row["last_month"] == "2026-06"
    ordinary = {r["household_id"]: r for r in table.to_pylist()}["N1"]
    assert ordinary["water_ratio"] == 1.0
    assert ordinary["water_step"] == 1.0
