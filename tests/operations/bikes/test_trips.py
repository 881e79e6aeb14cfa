"""Reading trips and snapshots: Citi Bike's CSV, ours, Parquet; every bad value named."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twonets.operations.bikes import trips
from twonets.operations.bikes.trips import BikeDataError

HEADER = list(trips.TRIP_COLUMNS)
T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def trip_row(i: int = 0, **change: str) -> dict[str, str]:
    row = {
        "bike_id": f"B{i}",
        "operator": "hellobike",
        "started_at": (T0 + timedelta(minutes=i)).isoformat(),
        "start_lat": "31.2304",
        "start_lon": "121.4737",
        "ended_at": (T0 + timedelta(minutes=i + 12)).isoformat(),
        "end_lat": "31.2400",
        "end_lon": "121.4800",
    }
    row.update(change)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_citibike_month_is_read_whole(citibike: pd.DataFrame) -> None:
    assert len(citibike) == 21_186
    assert set(citibike["operator"]) == {"citibike"}
    assert citibike["bike_id"].nunique() == 458
    # New York wall-clock 2017-04-01 00:14:36 (EDT, UTC−4) is 04:14:36 UTC.
    assert citibike["started_at"].min() == pd.Timestamp("2017-04-01 04:14:36", tz="UTC")
    assert citibike.attrs["timezone"] == "America/New_York"


def test_our_csv_and_parquet_read_the_same(tmp_path: Path) -> None:
    rows = [trip_row(i) for i in range(5)]
    from_csv = trips.read_trips(write_csv(tmp_path / "t.csv", rows))
    from_csv.to_parquet(tmp_path / "t.parquet")
    from_parquet = trips.read_trips(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    assert from_csv.attrs["timezone"] == "Asia/Shanghai"
    assert from_csv["started_at"].iloc[1] == pd.Timestamp(T0 + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"start_lat": "91"}, "start_lat", "not a coordinate"),
        ({"end_lon": "east"}, "end_lon", "not a coordinate"),
        ({"started_at": "yesterday"}, "started_at", "not a time"),
        ({"ended_at": "2026-12-07T08:00:00"}, "ended_at", "needs an offset"),
        ({"ended_at": "2026-12-06T00:00:00Z"}, "ended_at", "ends before it starts"),
        ({"bike_id": ""}, "bike_id", "1 to 32 characters"),
    ],
)
def test_a_bad_value_names_file_row_and_column(
    tmp_path: Path, change: dict[str, str], column: str, words: str
) -> None:
    rows = [trip_row(0), trip_row(1), trip_row(2, **change)]
    with pytest.raises(BikeDataError) as caught:
        trips.read_trips(write_csv(tmp_path / "bad.csv", rows))
    error = caught.value
    assert (error.file, error.row, error.column) == ("bad.csv", 4, column)  # header is line 1
    assert error.detail.startswith(f"bad.csv, row 4, column {column}: ")
    assert words in error.detail
    problem = error.to_problem()
    assert problem["status"] == 422
    assert problem["type"].endswith("/bike-data")
    assert (problem["file"], problem["row"], problem["column"]) == ("bad.csv", 4, column)


def test_a_missing_column_or_file_is_named(tmp_path: Path) -> None:
    header = [c for c in HEADER if c != "end_lat"]
    rows = [{k: v for k, v in trip_row().items() if k != "end_lat"}]
    with pytest.raises(BikeDataError, match=r"short\.csv, column end_lat: missing column"):
        trips.read_trips(write_csv(tmp_path / "short.csv", rows, header))
    with pytest.raises(BikeDataError, match=r"none\.csv: no such file"):
        trips.read_trips(tmp_path / "none.csv")


def test_snapshots_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "snap.csv"
    path.write_text(
        "bike_id,operator,seen_at,lat,lon\n"
        "B1,hellobike,2026-12-07T08:00:00+08:00,31.23,121.47\n"
        "B2,hellobike,2026-12-07T08:00:00+08:00,31.23,200\n",
        encoding="utf-8",
    )
    with pytest.raises(BikeDataError, match="row 3, column lon"):
        trips.read_snapshots(path)
    path.write_text(path.read_text().replace(",200\n", ",121.48\n"), encoding="utf-8")
    parked = trips.read_snapshots(path)
    assert parked["seen_at"].iloc[0] == pd.Timestamp("2026-12-07T00:00:00Z")


coordinates = st.tuples(
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)
good_trip = st.builds(
    lambda bike, start, minutes, a, b: {
        "bike_id": bike,
        "operator": "op",
        "started_at": start.isoformat(),
        "start_lat": repr(a[0]),
        "start_lon": repr(a[1]),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
        "end_lat": repr(b[0]),
        "end_lon": repr(b[1]),
    },
    st.text("ABC0123456789", min_size=1, max_size=12),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(0, 600),
    coordinates,
    coordinates,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(good_trip, min_size=1, max_size=20))
def test_any_good_file_reads_back_exactly(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    read = trips.read_trips(write_csv(tmp_path / "good.csv", rows))
    assert len(read) == len(rows)
    for row, got in zip(rows, read.itertuples(index=False), strict=True):
        assert got.bike_id == row["bike_id"]
        assert got.started_at == pd.Timestamp(row["started_at"])
        assert got.start_lat == float(row["start_lat"])
        assert got.end_lon == float(row["end_lon"])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(good_trip, min_size=1, max_size=10),
    data=st.data(),
    column=st.sampled_from(["start_lat", "start_lon", "end_lat", "end_lon", "started_at"]),
    junk=st.sampled_from(["", "NaN", "inf", "999", "-181", "x", "1e400"]),
)
def test_one_bad_cell_anywhere_is_found_at_its_row(
    tmp_path: Path, rows: list[dict[str, str]], data: st.DataObject, column: str, junk: str
) -> None:
    at = data.draw(st.integers(0, len(rows) - 1))
    rows[at] = {**rows[at], column: junk}
    with pytest.raises(BikeDataError) as caught:
        trips.read_trips(write_csv(tmp_path / "junk.csv", rows))
    assert caught.value.row == at + 2
    assert caught.value.column == column
