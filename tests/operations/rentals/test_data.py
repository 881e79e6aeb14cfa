"""Reading households and readings: every problem names the file, the row and the column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.operations.rentals import data
from twonets.operations.rentals.data import FileProblem

HOUSEHOLDS = (
    "household_id,building_id,district,area_m2,rooms,registered_occupants,use\n"
    "H1,B1,310115,60,2,2,residential\n"
    "H2,B1,310115,85.5,3,4,commercial\n"
)
READINGS = (
    "household_id,month,water_m3,electricity_kwh,gas_m3\n"
    "H1,2026-01,7.5,210,12\n"
    "H2,2026-01,9,400,20\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _problem(path: Path, text: str, known: set[str] | None = None) -> FileProblem:
    _write(path, text)
    if known is None:
        with pytest.raises(FileProblem) as caught:
            data.read_households(path)
    else:
        with pytest.raises(FileProblem) as caught:
            data.read_readings(path, known)
    return caught.value


def test_reads_households_and_readings(tmp_path: Path) -> None:
    homes = data.read_households(_write(tmp_path / "h.csv", HOUSEHOLDS))
    assert [h.household_id for h in homes] == ["H1", "H2"]
    assert (homes[1].area_m2, homes[1].use, homes[1].rooms) == (85.5, "commercial", 3)
    rows = data.read_readings(_write(tmp_path / "r.csv", READINGS), {"H1", "H2"})
    assert rows[0] == data.ReadingRow("H1", "2026-01", 7.5, 210.0, 12.0)


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    path = tmp_path / "h.parquet"
    with (tmp_path / "h.csv").open("w") as f:
        f.write(HOUSEHOLDS)
    records = list(csv.DictReader(HOUSEHOLDS.splitlines()))
    pq.write_table(pa.Table.from_pylist(records), path)
    assert data.read_households(path) == data.read_households(tmp_path / "h.csv")
    bad = [dict(records[0]), {**records[1], "rooms": "-1"}]
    pq.write_table(pa.Table.from_pylist(bad), path)
    with pytest.raises(FileProblem) as caught:
        data.read_households(path)
    assert (caught.value.row, caught.value.column) == (3, "rooms")


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        ("household_id,building_id,district\nH1,B1,310115\n", 1, "area_m2", "missing column"),
        (HOUSEHOLDS.replace("60,2,2", "60,0,2"), 2, "rooms", "at least 1"),
        (HOUSEHOLDS.replace("85.5", "big"), 3, "area_m2", "not a number"),
        (HOUSEHOLDS.replace("310115,60", "3101,60"), 2, "district", "six-digit"),
        (HOUSEHOLDS.replace("commercial", "shop"), 3, "use", "residential or commercial"),
        (HOUSEHOLDS.replace("H2,", "H1,"), 3, "household_id", "repeats row 2"),
        (
            HOUSEHOLDS.replace("2,2,residential", "2,2.5,residential"),
            2,
            "registered_occupants",
            "whole",
        ),
    ],
)
def test_household_problems_name_file_row_and_column(
    tmp_path: Path, text: str, row: int, column: str, words: str
) -> None:
    path = tmp_path / "households.csv"
    problem = _problem(path, text)
    assert (problem.file, problem.row, problem.column) == (str(path), row, column)
    for part in (words, str(path), f"row {row}", f"column {column}"):
        assert part in problem.detail
    assert (problem.status, problem.extra["column"]) == (422, column)


@pytest.mark.parametrize(
    ("text", "row", "column", "words"),
    [
        (READINGS.replace("gas_m3", "gas"), 1, "gas_m3", "missing column"),
        (READINGS.replace("7.5,", "-7.5,"), 2, "water_m3", "negative"),
        (READINGS.replace("H2,", "H9,"), 3, "household_id", "unknown household"),
        (READINGS.replace("2026-01,9", "2026-13,9"), 3, "month", "YYYY-MM"),
        (READINGS.replace("H2,2026-01", "H1,2026-01"), 3, "month", "repeats row 2"),
        (READINGS.replace(",400,", ",,"), 3, "electricity_kwh", "empty"),
    ],
)
def test_reading_problems_name_file_row_and_column(
    tmp_path: Path, text: str, row: int, column: str, words: str
) -> None:
    problem = _problem(tmp_path / "readings.csv", text, known={"H1", "H2"})
    assert (problem.row, problem.column) == (row, column)
    assert words in problem.detail


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match=r"nowhere\.csv: no such file"):
        data.read_households(tmp_path / "nowhere.csv")


_numbers = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3))
_reading = st.tuples(
    st.sampled_from(["H1", "H2", "H3"]),
    st.integers(2000, 2099),
    st.integers(1, 12),
    _numbers,
    _numbers,
    _numbers,
)


@given(st.lists(_reading, max_size=30, unique_by=lambda t: (t[0], t[1], t[2])))
def test_well_formed_readings_round_trip(
    rows: list[tuple[str, int, int, float, float, float]],
) -> None:
    records = [
        (
            i + 2,
            {
                "household_id": h,
                "month": f"{y}-{m:02d}",
                "water_m3": str(w),
                "electricity_kwh": str(e),
                "gas_m3": str(g),
            },
        )
        for i, (h, y, m, w, e, g) in enumerate(rows)
    ]
    parsed = data.parse_readings(
        data.READING_COLUMNS, records, file="r.csv", known={"H1", "H2", "H3"}
    )
    assert [(r.household_id, r.month, r.water_m3, r.electricity_kwh, r.gas_m3) for r in parsed] == [
        (h, f"{y}-{m:02d}", w, e, g) for h, y, m, w, e, g in rows
    ]


@given(
    st.integers(0, 9),
    st.sampled_from(data.READING_COLUMNS[2:]),
    st.one_of(
        st.floats(max_value=-0.001, min_value=-1e6),
        st.text(alphabet="abcxyz-", min_size=1, max_size=5),
        st.just(""),
    ),
)
def test_one_broken_cell_is_found_where_it_is(index: int, column: str, value: object) -> None:
    records = [
        (
            i + 2,
            {
                "household_id": "H1",
                "month": f"2025-{i + 1:02d}",
                "water_m3": "1",
                "electricity_kwh": "2",
                "gas_m3": "3",
            },
        )
        for i in range(10)
    ]
    records[index][1][column] = str(value)
    with pytest.raises(FileProblem) as caught:
        data.parse_readings(data.READING_COLUMNS, records, file="r.csv", known={"H1"})
    assert (caught.value.file, caught.value.row, caught.value.column) == (
        "r.csv",
        index + 2,
        column,
    )


SHARES = (
    "household_id,month,water_m3,electricity_kwh,gas_m3,night_share,weekend_share,peak_valley\n"
    "H1,2026-01,7.5,210,12,0.3,0.28,0.55\n"
    "H2,2026-01,9,400,20,,,\n"
)


def test_peak_valley_is_read_like_the_shares(tmp_path: Path) -> None:
    rows = data.read_readings(_write(tmp_path / "r.csv", SHARES), {"H1", "H2"})
    assert [(r.night_share, r.weekend_share, r.peak_valley) for r in rows] == [
        (0.3, 0.28, 0.55),
        (None, None, None),
    ]
    assert (
        data.read_readings(_write(tmp_path / "r.csv", READINGS), {"H1", "H2"})[0].peak_valley
        is None
    )


@pytest.mark.parametrize(
    ("cell", "words"),
    [("1.5", "between 0 and 1"), ("-0.1", "between 0 and 1"), ("high", "not a number")],
)
def test_a_broken_peak_valley_names_file_row_and_column(
    tmp_path: Path, cell: str, words: str
) -> None:
    path = tmp_path / "readings.csv"
    problem = _problem(path, SHARES.replace(",0.55", f",{cell}"), known={"H1", "H2"})
    assert (problem.file, problem.row, problem.column) == (str(path), 2, "peak_valley")
    assert words in problem.detail
    assert f"{path}: row 2, column peak_valley" in problem.detail


_share_cell = st.one_of(st.none(), st.floats(0, 1).map(lambda x: round(x, 4)))


@given(
    st.lists(
        st.tuples(st.integers(1, 12), _share_cell, _share_cell),
        max_size=12,
        unique_by=lambda t: t[0],
    )
)
def test_shares_and_peak_valley_round_trip(
    rows: list[tuple[int, float | None, float | None]],
) -> None:
    records = [
        (
            i + 2,
            {
                "household_id": "H1",
                "month": f"2026-{m:02d}",
                "water_m3": "1",
                "electricity_kwh": "2",
                "gas_m3": "3",
                "night_share": "" if night is None else str(night),
                "peak_valley": "" if pv is None else str(pv),
            },
        )
        for i, (m, night, pv) in enumerate(rows)
    ]
    columns = (*data.READING_COLUMNS, "night_share", "peak_valley")
    parsed = data.parse_readings(columns, records, file="r.csv", known={"H1"})
    assert [(r.night_share, r.weekend_share, r.peak_valley) for r in parsed] == [
        (night, None, pv) for _, night, pv in rows
    ]


@given(
    st.integers(0, 9),
    st.one_of(
        st.floats(min_value=1.0001, max_value=1e6),
        st.floats(max_value=-0.0001, min_value=-1e6),
        st.text(alphabet="abcxyz-", min_size=1, max_size=5),
    ),
)
def test_one_broken_peak_valley_is_found_where_it_is(index: int, value: object) -> None:
    records = [
        (
            i + 2,
            {
                "household_id": "H1",
                "month": f"2025-{i + 1:02d}",
                "water_m3": "1",
                "electricity_kwh": "2",
                "gas_m3": "3",
                "peak_valley": "0.5",
            },
        )
        for i in range(10)
    ]
    records[index][1]["peak_valley"] = str(value)
    columns = (*data.READING_COLUMNS, "peak_valley")
    with pytest.raises(FileProblem) as caught:
        data.parse_readings(columns, records, file="r.csv", known={"H1"})
    assert (caught.value.file, caught.value.row, caught.value.column) == (
        "r.csv",
        index + 2,
        "peak_valley",
    )
