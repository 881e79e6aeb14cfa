"""Kept monthly figures: a new month computed alone gives the cold path's features exactly."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from twonets.operations.rentals import detection, engine, monthly, synthetic


def _city() -> tuple[pa.Table, pa.Table]:
    city = synthetic.generate(seed=5, households=240)
    readings = list(city.readings)
    # Hourly figures missing here and there, as from meters that do not send them.
    readings[3] = readings[3].__class__(**{**readings[3].__dict__, "night_share": None})
    readings[40] = readings[40].__class__(**{**readings[40].__dict__, "peak_valley": None})
    return engine.households_arrow(city.households), engine.readings_arrow(readings)


def _months(readings: pa.Table) -> list[str]:
    return sorted(set(readings.column("month").to_pylist()))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


def _differing(one: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    assert len(one) == len(other) > 200
    return [
        (row["household_id"], key, row[key], theirs[key])
        for row, theirs in zip(one, other, strict=True)
        for key in engine.FEATURE_COLUMNS
        if not _same(row[key], theirs[key])
    ]


def _month_by_month(households: pa.Table, readings: pa.Table) -> pa.Table:
    """Each month's figures computed as its readings arrive, alone."""
    return pa.concat_tables(
        monthly.duckdb_month_figures(households, readings, [m]) for m in _months(readings)
    )


def test_features_from_kept_months_equal_the_cold_features() -> None:
    households, readings = _city()
    cold = engine.duckdb_features(households, readings).to_pylist()
    kept = _month_by_month(households, readings)
    assert kept.num_rows == readings.num_rows  # every household residential: a row a reading
    assert _differing(cold, monthly.duckdb_features_from_kept(households, kept).to_pylist()) == []


def test_a_month_figures_do_not_change_when_later_months_arrive() -> None:
    households, readings = _city()
    first = _months(readings)[:4]
    alone = monthly.duckdb_month_figures(households, readings, first).sort_by(
        [("household_id", "ascending"), ("idx", "ascending")]
    )
    together = monthly.duckdb_month_figures(households, readings)
    together = together.filter(pc.is_in(together.column("month"), pa.array(first))).sort_by(
        [("household_id", "ascending"), ("idx", "ascending")]
    )
    assert alone.num_rows == together.num_rows > 0
    for name in monthly.KEPT_COLUMNS:
        assert all(
            _same(a, b)
            for a, b in zip(
                alone.column(name).to_pylist(), together.column(name).to_pylist(), strict=True
            )
        ), name


def test_a_commercial_month_beyond_the_residential_ones_counts_as_the_cold_path_does() -> None:
    households, readings = _city()
    shop = pa.table(
        {
            "household_id": ["S1"],
            "building_id": ["B00001"],
            "district": ["310115"],
            "area_m2": [80.0],
            "rooms": [2],
            "registered_occupants": [0],
            "use": ["commercial"],
        },
        schema=engine.HOUSEHOLD_SCHEMA,
    )
    households = pa.concat_tables([households, shop])
    later = pa.table(
        {
            "household_id": ["S1"],
            "month": ["2027-01"],
            "water_m3": [9.0],
            "electricity_kwh": [900.0],
            "gas_m3": [3.0],
            "night_share": [None],
            "weekend_share": [None],
            "peak_valley": [None],
        },
        schema=engine.READING_SCHEMA,
    )
    readings = pa.concat_tables([readings, later])
    cold = engine.duckdb_features(households, readings).to_pylist()
    kept = _month_by_month(households, readings)
    bounds = (_months(readings)[0], _months(readings)[-1])
    given = monthly.duckdb_features_from_kept(households, kept, bounds).to_pylist()
    assert _differing(cold, given) == []
    # Without the bounds the year would end in December: the recent months would differ.
    assert _differing(cold, monthly.duckdb_features_from_kept(households, kept).to_pylist())


def test_a_flat_day_with_agreement_is_a_reason_and_a_car_charged_at_night_stays_out() -> None:
    city = synthetic.generate(seed=11, households=1200)
    table = engine.duckdb_features(
        engine.households_arrow(city.households), engine.readings_arrow(city.readings)
    )
    ratio = dict(
        zip(
            table.column("household_id").to_pylist(),
            table.column("peak_valley_ratio").to_pylist(),
            strict=True,
        )
    )
    cars = [h for h, kind in city.kinds.items() if kind == "ev"]
    assert cars
    assert all(ratio[h] < detection.FLAT for h in cars)
    leads = detection.rank(table)
    assert not {lead.household_id for lead in leads} & set(cars)
    flat = [lead for lead in leads if any(t == detection.REASON_FLAT for t, _ in lead.parts)]
    assert flat
    assert all(city.kinds[lead.household_id] == "rental" for lead in flat)
    assert "a flat day: peak–valley difference 0." in flat[0].reasons


def test_readings_without_the_peak_valley_column_have_none() -> None:
    households, readings = _city()
    table = engine.duckdb_features(households, readings.drop_columns(["peak_valley"]))
    assert set(table.column("peak_valley_ratio").to_pylist()) == {None}


def test_kept_months_on_postgresql_give_duckdb_s_cold_features(ibis_postgres: Any) -> None:
    households, readings = _city()
    on_duckdb = engine.duckdb_features(households, readings).to_pylist()
    con = ibis_postgres
    h = con.create_table("households", households)
    r = con.create_table("readings", readings)
    months = _months(readings)
    con.create_table("kept", monthly.month_figures(h, r, months[:1]))
    for month in months[1:]:  # each month as its readings arrive
        con.insert("kept", monthly.month_figures(h, r, [month]))
    expr = monthly.features_from_kept(h, con.table("kept"))
    on_postgres = expr.order_by("household_id").select(*engine.FEATURE_COLUMNS)
    rows = on_postgres.to_pyarrow().to_pylist()
    assert _differing(on_duckdb, rows) == []


@pytest.mark.parametrize("unique", [False, True])  # checked, or promised by the source
def test_months_kept_one_by_one_with_their_totals_give_the_cold_features(unique: bool) -> None:
    households, readings = _city()
    months = _months(readings)
    store = monthly.KeptMonths()
    for month in months:  # each month as its readings arrive: its totals added to the kept
        store.add(households, readings, [month], unique=unique)
        store.features(households, (months[0], month))  # as detection that month did
    cold = engine.duckdb_features(households, readings)
    given = store.features(households, (months[0], months[-1]))
    assert given.schema == cold.schema
    assert _differing(cold.to_pylist(), given.to_pylist()) == []


@pytest.mark.parametrize("changed_month", [0, 4])  # an early month (kept means) and a later one
def test_a_month_kept_again_with_changed_readings_gives_the_cold_features_of_the_new_ones(
    changed_month: int,
) -> None:
    households, readings = _city()
    months = _months(readings)
    store = monthly.KeptMonths()
    store.add(households, readings, months)
    # One household's month replaced: a crowded home then (six times the water).
    home = readings.column("household_id")[0].as_py()
    fifth = pc.and_(
        pc.equal(readings.column("household_id"), home),
        pc.equal(readings.column("month"), months[changed_month]),
    )
    water = pc.if_else(fifth, pc.multiply(readings.column("water_m3"), 6.0), readings["water_m3"])
    changed = readings.set_column(readings.schema.get_field_index("water_m3"), "water_m3", water)
    before = store.features(households, (months[0], months[-1]))
    store.add(households, changed, [months[changed_month]])
    cold = engine.duckdb_features(households, changed).to_pylist()
    after = store.features(households, (months[0], months[-1])).to_pylist()
    assert _differing(cold, after) == []
    assert _differing(before.to_pylist(), after)  # the change reached the features


def test_totals_kept_month_by_month_on_postgresql_give_duckdb_s_cold_features(
    ibis_postgres: Any,
) -> None:
    """Each month's totals added to the kept ones (no GROUP BY: one row per household),
    the early means kept once, all on PostgreSQL: DuckDB's cold features."""
    households, readings = _city()
    on_duckdb = engine.duckdb_features(households, readings).to_pylist()
    con = ibis_postgres
    h = con.create_table("households", households)
    r = con.create_table("readings", readings)
    months = _months(readings)
    bounds = (months[0], months[-1])
    con.create_table("kept", monthly.month_figures(h, r, months[:1]))
    totals = con.create_table("totals", monthly.totals(con.table("kept")))
    for i, month in enumerate(months[1:]):  # each month as its readings arrive
        new = con.create_table(f"month{i}", monthly.month_figures(h, r, [month]))
        con.insert("kept", new)
        added = monthly.add_totals(totals, monthly.row_totals(new))
        totals = con.create_table(f"totals{i}", added)  # kept in the database
    early = con.create_table("early", monthly.early_means(con.table("kept"), bounds))
    expr = monthly.features_from_totals(h, totals, con.table("kept"), bounds, early)
    rows = expr.order_by("household_id").select(*engine.FEATURE_COLUMNS).to_pyarrow()
    assert _differing(on_duckdb, rows.to_pylist()) == []
