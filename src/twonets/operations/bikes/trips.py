"""Reading trips and parked-bike snapshots from CSV (ours or Citi Bike's) and Parquet.

Our trip columns are ``bike_id,operator,started_at,start_lat,start_lon,ended_at,end_lat,
end_lon`` and our snapshot columns ``bike_id,operator,seen_at,lat,lon``; times are ISO 8601
with an offset (``2026-12-07T08:00:00+08:00`` or ``...Z``). Citi Bike's trip files
(``tripduration,starttime,stoptime,...,bikeid,...``) are recognised by their header; their
times are New York wall-clock times and the operator is ``citibike``.

Every frame comes back with times in UTC, coordinates as floats, and nothing dropped: the
first bad value stops the read with ``BikeDataError`` naming the file, the row (the line of a
CSV, counting the header as line 1; the 1-based row of a Parquet file) and the column.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twonets.core.errors import FieldProblem, Invalid

TRIP_COLUMNS = (
    "bike_id",
    "operator",
    "started_at",
    "start_lat",
    "start_lon",
    "ended_at",
    "end_lat",
    "end_lon",
)
SNAPSHOT_COLUMNS = ("bike_id", "operator", "seen_at", "lat", "lon")
CITIBIKE_COLUMNS = {
    "bikeid": "bike_id",
    "starttime": "started_at",
    "start station latitude": "start_lat",
    "start station longitude": "start_lon",
    "stoptime": "ended_at",
    "end station latitude": "end_lat",
    "end station longitude": "end_lon",
}
CITIBIKE_OPERATOR = "citibike"
CITIBIKE_TIMEZONE = "America/New_York"
CITY_TIMEZONE = "Asia/Shanghai"  # the local clock of our own files' calendar features
MAX_TEXT = 32  # bike ids and operator names, as the tables keep them


class BikeDataError(Invalid):
    """A value of a trip or snapshot file that cannot be read; names file, row and column."""

    slug = "bike-data"
    title = "Unreadable bike data"

    def __init__(self, file: str, row: int | None, column: str | None, problem: str) -> None:
        where = file if row is None else f"{file}, row {row}"
        if column is not None:
            where += f", column {column}"
        super().__init__(
            f"{where}: {problem}",
            errors=[FieldProblem(column or "file", "bike-data", problem)],
            extra={"file": file, "row": row, "column": column},
        )
        self.file = file
        self.row = row
        self.column = column


def read_trips(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Trips of a CSV (ours or Citi Bike's) or Parquet file, checked; errors name the file
    ``name`` (an upload's own name) or the path's."""
    name = name or path.name
    raw, first_row = _read_raw(path, name)
    citibike = "bikeid" in raw.columns and "starttime" in raw.columns
    if citibike:
        raw = raw.rename(columns=CITIBIKE_COLUMNS)
        raw["operator"] = CITIBIKE_OPERATOR
    trips = check_trips(raw, file=name, first_row=first_row, citibike=citibike)
    trips.attrs["timezone"] = CITIBIKE_TIMEZONE if citibike else CITY_TIMEZONE
    return trips


def read_snapshots(path: Path, *, name: str | None = None) -> pd.DataFrame:
    """Parked-bike snapshots of a CSV or Parquet file, checked."""
    name = name or path.name
    raw, first_row = _read_raw(path, name)
    return check_snapshots(raw, file=name, first_row=first_row)


def check_trips(
    raw: pd.DataFrame, *, file: str, first_row: int = 2, citibike: bool = False
) -> pd.DataFrame:
    """Our trip columns of ``raw``, typed and checked (``first_row`` numbers its first row)."""
    _require(raw, TRIP_COLUMNS, file)
    tz = CITIBIKE_TIMEZONE if citibike else None
    out = pd.DataFrame(index=raw.index)
    out["bike_id"] = _text(raw, "bike_id", file, first_row)
    out["operator"] = _text(raw, "operator", file, first_row)
    out["started_at"] = _times(raw, "started_at", file, first_row, tz)
    out["start_lat"] = _coordinates(raw, "start_lat", file, first_row, 90.0)
    out["start_lon"] = _coordinates(raw, "start_lon", file, first_row, 180.0)
    out["ended_at"] = _times(raw, "ended_at", file, first_row, tz)
    out["end_lat"] = _coordinates(raw, "end_lat", file, first_row, 90.0)
    out["end_lon"] = _coordinates(raw, "end_lon", file, first_row, 180.0)
    backwards = np.flatnonzero((out["ended_at"] < out["started_at"]).to_numpy())
    if backwards.size:
        raise BikeDataError(
            file, first_row + int(backwards[0]), "ended_at", "the trip ends before it starts"
        )
    return out.reset_index(drop=True)


def check_snapshots(raw: pd.DataFrame, *, file: str, first_row: int = 2) -> pd.DataFrame:
    """Our snapshot columns of ``raw``, typed and checked."""
    _require(raw, SNAPSHOT_COLUMNS, file)
    out = pd.DataFrame(index=raw.index)
    out["bike_id"] = _text(raw, "bike_id", file, first_row)
    out["operator"] = _text(raw, "operator", file, first_row)
    out["seen_at"] = _times(raw, "seen_at", file, first_row, None)
    out["lat"] = _coordinates(raw, "lat", file, first_row, 90.0)
    out["lon"] = _coordinates(raw, "lon", file, first_row, 180.0)
    return out.reset_index(drop=True)


def _read_raw(path: Path, name: str) -> tuple[pd.DataFrame, int]:
    """The file's cells as text (CSV) or its own types (Parquet), and its first row's number."""
    if not path.is_file():
        raise BikeDataError(name, None, None, "no such file")
    if name.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(path), 1
        except Exception as exc:  # pyarrow raises many kinds; each means "not Parquet we read"
            raise BikeDataError(name, None, None, f"not a readable Parquet file ({exc})") from None
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise BikeDataError(name, None, None, f"not a readable CSV file ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, 2


def _require(raw: pd.DataFrame, columns: tuple[str, ...], file: str) -> None:
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise BikeDataError(file, None, missing[0], "missing column")


def _first_bad(mask: Any) -> int | None:
    bad = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(bad[0]) if bad.size else None


def _text(raw: pd.DataFrame, column: str, file: str, first_row: int) -> pd.Series:
    values = raw[column].astype(str).str.strip()
    values = values.where(~raw[column].isna(), "")
    bad = _first_bad((values == "") | (values.str.len() > MAX_TEXT))
    if bad is not None:
        raise BikeDataError(file, first_row + bad, column, f"should be 1 to {MAX_TEXT} characters")
    return values


def _times(raw: pd.DataFrame, column: str, file: str, first_row: int, tz: str | None) -> pd.Series:
    source = raw[column]
    if isinstance(source.dtype, pd.DatetimeTZDtype):
        parsed = source.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(source.dtype):
        if tz is None:
            raise BikeDataError(file, first_row, column, "a time needs an offset or Z")
        parsed = source.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    else:
        text = source.astype(str).str.strip()
        if tz is None:
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
            naive = ~text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
            bad = _first_bad(naive & parsed.notna())
            if bad is not None:
                raise BikeDataError(file, first_row + bad, column, "a time needs an offset or Z")
        else:
            local = pd.to_datetime(text, errors="coerce", format="ISO8601")
            parsed = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
                "UTC"
            )
    bad = _first_bad(parsed.isna())
    if bad is not None:
        shown = str(source.iloc[bad])[:40]
        raise BikeDataError(file, first_row + bad, column, f"{shown!r} is not a time (ISO 8601)")
    return parsed.astype("datetime64[us, UTC]")


def _coordinates(
    raw: pd.DataFrame, column: str, file: str, first_row: int, limit: float
) -> pd.Series:
    source = raw[column]
    values = pd.to_numeric(source, errors="coerce").astype(float)
    bad = _first_bad(~np.isfinite(values.to_numpy()) | (values.abs() > limit).to_numpy())
    if bad is not None:
        shown = str(source.iloc[bad])[:40]
        raise BikeDataError(
            file,
            first_row + bad,
            column,
            f"{shown!r} is not a coordinate between -{limit:g} and {limit:g}",
        )
    return values
