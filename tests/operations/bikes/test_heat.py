"""The heat map's counts against an independent count of the raw Citi Bike file."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import h3
import numpy as np
import pandas as pd
import pytest

from twonets.operations.bikes import heat

NEW_YORK = ZoneInfo("America/New_York")


def utc_hour(text: str) -> str:
    local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=NEW_YORK)
    return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:00:00Z")


def test_counts_equal_the_raw_trips(citibike_file: Path, citibike: pd.DataFrame) -> None:
    starts: Counter[tuple[str, str]] = Counter()
    arrivals: Counter[tuple[str, str]] = Counter()
    with citibike_file.open(newline="", encoding="utf-8") as raw:
        for row in csv.DictReader(raw):
            start = h3.latlng_to_cell(
                float(row["start station latitude"]), float(row["start station longitude"]), 8
            )
            end = h3.latlng_to_cell(
                float(row["end station latitude"]), float(row["end station longitude"]), 8
            )
            starts[start, utc_hour(row["starttime"])] += 1
            arrivals[end, utc_hour(row["stoptime"])] += 1
    table = heat.heat_table(citibike, resolution=8)
    rows = pd.read_csv(pd.io.common.StringIO(heat.to_csv(table)))
    assert list(rows.columns) == ["cell", "hour", "starts", "arrivals", "supply", "net"]
    ours_starts = {(r.cell, r.hour): r.starts for r in rows.itertuples() if r.starts}
    ours_arrivals = {(r.cell, r.hour): r.arrivals for r in rows.itertuples() if r.arrivals}
    assert ours_starts == dict(starts)
    assert ours_arrivals == dict(arrivals)
    assert rows["starts"].sum() == rows["arrivals"].sum() == 21_186
    assert (rows["net"] == rows["arrivals"] - rows["starts"]).all()
    assert table["imbalance"].between(-1, 1).all()


def test_resolution_changes_the_cells(citibike: pd.DataFrame) -> None:
    coarse = heat.heat_table(citibike.head(500), resolution=6)
    fine = heat.heat_table(citibike.head(500), resolution=9)
    assert coarse["cell"].nunique() < fine["cell"].nunique()
    assert {h3.get_resolution(c) for c in coarse["cell"]} == {6}


def trip(bike: str, start: str, end: str, a: tuple[float, float], b: tuple[float, float]) -> dict:
    return {
        "bike_id": bike,
        "operator": "op",
        "started_at": pd.Timestamp(start, tz="UTC"),
        "start_lat": a[0],
        "start_lon": a[1],
        "ended_at": pd.Timestamp(end, tz="UTC"),
        "end_lat": b[0],
        "end_lon": b[1],
    }


def test_supply_is_where_bikes_stand_between_trips() -> None:
    here, there = (31.2304, 121.4737), (31.2600, 121.5200)
    rides = pd.DataFrame(
        [
            trip("B1", "2026-12-07 08:10", "2026-12-07 08:40", here, there),
            trip("B1", "2026-12-07 11:05", "2026-12-07 11:20", there, here),
            trip("B2", "2026-12-07 09:30", "2026-12-07 09:50", here, there),
        ]
    )
    table = heat.heat_table(rides, resolution=8)
    cell_there = h3.latlng_to_cell(*there, 8)
    supply = {
        h.strftime("%H"): s
        for c, h, s in zip(table["cell"], table["hour"], table["supply"], strict=True)
        if c == cell_there
    }
    # B1 stands there from 09:00 to 11:00 (left at 11:05); B2 from 10:00 to the data's end (11:00).
    assert supply == {"08": 0, "09": 1, "10": 2, "11": 2}  # 08: the arrival, nothing parked yet
    cell_here = h3.latlng_to_cell(*here, 8)
    here_rows = table[table["cell"] == cell_here]
    assert here_rows["starts"].sum() == 2
    assert here_rows["supply"].sum() == 0  # B1 came back at 11:20, after the last hour began


def test_snapshots_give_supply_when_there_are_any() -> None:
    here = (31.2304, 121.4737)
    rides = pd.DataFrame([trip("B1", "2026-12-07 08:10", "2026-12-07 08:40", here, here)])
    seen = pd.DataFrame(
        {
            "bike_id": ["B7", "B8", "B7"],
            "operator": ["op", "op", "op"],
            "seen_at": pd.to_datetime(
                ["2026-12-07 08:00", "2026-12-07 08:30", "2026-12-07 08:45"], utc=True
            ),
            "lat": [here[0]] * 3,
            "lon": [here[1]] * 3,
        }
    )
    table = heat.heat_table(rides, seen, resolution=8)
    assert table[["starts", "arrivals", "supply"]].sum().tolist() == [1, 1, 2]


def test_cells_convert_each_distinct_point_once() -> None:
    lat = [31.2304, 31.2304, 31.26, 31.2304]
    lon = [121.4737, 121.4737, 121.52, 121.4737]
    got = heat.cells(lat, lon, 8)
    assert got.tolist() == [h3.latlng_to_cell(a, b, 8) for a, b in zip(lat, lon, strict=True)]
    assert heat.cells([], [], 8).tolist() == []


def test_the_grid_and_the_group_bys_count_the_same(
    citibike: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_grid = heat.heat_table(citibike, resolution=8)
    monkeypatch.setattr(heat, "DENSE_LIMIT", 0)  # every grid too large: the group-bys count
    by_groups = heat.heat_table(citibike, resolution=8)
    assert len(on_grid) > 1_000
    pd.testing.assert_frame_equal(on_grid, by_groups, check_dtype=False)


def dockless_trips(count: int, seed: int) -> pd.DataFrame:
    """Rides between random points (none repeats) over two days, bikes riding several times."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-12-01T00:00:00Z") + pd.to_timedelta(
        rng.integers(0, 2 * 24 * 3600, count), unit="s"
    )
    return pd.DataFrame(
        {
            "bike_id": rng.integers(0, count // 6, count).astype(str),
            "operator": rng.choice(["hello", "meituan"], count),
            "started_at": start,
            "start_lat": rng.uniform(31.15, 31.30, count),
            "start_lon": rng.uniform(121.38, 121.56, count),
            "ended_at": start + pd.to_timedelta(rng.integers(60, 3 * 3600, count), unit="s"),
            "end_lat": rng.uniform(31.15, 31.30, count),
            "end_lon": rng.uniform(121.38, 121.56, count),
        }
    )


def test_the_integer_grid_counts_as_the_group_bys_on_dockless_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trips = dockless_trips(12_000, seed=5)  # more points than the sample: none deduplicated
    assert heat._mostly_distinct(trips["start_lat"].to_numpy() + 1j * trips["start_lon"].to_numpy())
    on_grid = heat.heat_table(trips, resolution=8)
    monkeypatch.setattr(heat, "DENSE_LIMIT", 0)
    by_groups = heat.heat_table(trips, resolution=8)
    pd.testing.assert_frame_equal(on_grid, by_groups, check_dtype=False)
    assert on_grid["starts"].sum() == on_grid["arrivals"].sum() == len(trips)
    assert on_grid["supply"].sum() > 0


def test_cell_codes_name_cells_in_order() -> None:
    lat = np.array([31.26, 31.2304, 31.2304, 31.20])
    lon = np.array([121.52, 121.4737, 121.4737, 121.40])
    codes, numbers = heat.cell_codes(lat, lon, 8)
    names = [h3.int_to_str(int(n)) for n in numbers]
    assert names == sorted(names)
    assert [names[c] for c in codes] == [
        h3.latlng_to_cell(a, b, 8) for a, b in zip(lat, lon, strict=True)
    ]
