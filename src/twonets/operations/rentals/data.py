"""Reading households and monthly readings from CSV or Parquet files (pure: no database).

The columns are the contract of ``twonets ops rentals detect`` and of the import:

- households: ``household_id, building_id, district, area_m2, rooms, registered_occupants,
  use`` (``residential`` or ``commercial``); optional ``address``, ``lon``, ``lat``,
  ``street`` (whose team inspects it);
- readings: ``household_id, month`` (``YYYY-MM``), ``water_m3, electricity_kwh, gas_m3``;
  optional ``night_share``, ``weekend_share``, ``peak_valley`` (0-1, from hourly electricity:
  ``peak_valley`` is 1 - the mean hourly use in the valley hours 22:00-06:00 over that in the
  peak hours 06:00-22:00).

Every problem is a :class:`FileProblem` naming the file, the row (the line of a CSV file,
the header being line 1; the record number plus one in a Parquet file, so both count alike)
and the column. Files are read whole before anything is returned: a caller never sees half.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twonets.core.errors import FieldProblem, Invalid

HOUSEHOLD_COLUMNS = (
    "household_id",
    "building_id",
    "district",
    "area_m2",
    "rooms",
    "registered_occupants",
    "use",
)
HOUSEHOLD_OPTIONAL = ("address", "lon", "lat", "street")
READING_COLUMNS = ("household_id", "month", "water_m3", "electricity_kwh", "gas_m3")
READING_OPTIONAL = ("night_share", "weekend_share", "peak_valley")
USES = frozenset({"residential", "commercial"})
MONTH = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})")
DISTRICT = re.compile(r"\d{6}")
ID_MAX = 64


class FileProblem(Invalid):
    """A row of an input file breaks a rule; names the file, the row and the column."""

    def __init__(self, file: str, row: int | None, column: str | None, detail: str) -> None:
        where = ", ".join(
            part
            for part in (
                f"row {row}" if row is not None else None,
                f"column {column}" if column is not None else None,
            )
            if part
        )
        message = f"{file}: {where}: {detail}" if where else f"{file}: {detail}"
        super().__init__(
            message,
            errors=[FieldProblem(column or "file", "file-content", detail)],
            extra={"file": file, "row": row, "column": column},
        )
        self.file = file
        self.row = row
        self.column = column


@dataclass(frozen=True)
class HouseholdRow:
    """One household as the file gives it."""

    household_id: str
    building_id: str
    district: str
    area_m2: float
    rooms: int
    registered_occupants: int
    use: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    street: str | None = None  # the street (township) whose team inspects it


@dataclass(frozen=True)
class ReadingRow:
    """One household's consumption in one month."""

    household_id: str
    month: str
    water_m3: float
    electricity_kwh: float
    gas_m3: float
    night_share: float | None = None
    weekend_share: float | None = None
    peak_valley: float | None = None  # 1 - valley hours' mean use over peak hours', in [0, 1]


Record = Mapping[str, Any]


def records(path: Path) -> tuple[list[str], Iterator[tuple[int, Record]]]:
    """The columns of a CSV or Parquet file and its records, each with its row number."""
    if not path.is_file():
        raise FileProblem(str(path), None, None, "no such file")
    return records_of(str(path), path.read_bytes())


def records_of(name: str, content: bytes) -> tuple[list[str], Iterator[tuple[int, Record]]]:
    """Like :func:`records`, for the bytes of a file called ``name`` (an upload)."""
    if name.lower().endswith(".parquet"):
        try:
            parquet = importlib.import_module("pyarrow.parquet")
        except ImportError:
            raise FileProblem(name, None, None, "reading Parquet needs pyarrow") from None
        try:
            table = parquet.read_table(io.BytesIO(content))
        except Exception as exc:  # pyarrow raises its own kinds for a damaged file
            raise FileProblem(name, None, None, f"not a Parquet file ({exc})") from None
        rows: list[dict[str, Any]] = table.to_pylist()
        return list(table.column_names), iter(enumerate(rows, start=2))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(name, None, None, "is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = [c.strip() for c in reader.fieldnames or []]
    except csv.Error as exc:  # e.g. a field past the csv module's size limit
        raise FileProblem(name, reader.line_num, None, f"not a readable CSV file ({exc})") from None
    reader.fieldnames = columns

    def numbered() -> Iterator[tuple[int, Record]]:
        try:
            for record in reader:
                yield reader.line_num, record
        except csv.Error as exc:
            raise FileProblem(name, reader.line_num, None, f"not readable CSV ({exc})") from None

    return columns, numbered()


def _require(file: str, columns: Collection[str], required: Iterable[str]) -> None:
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileProblem(file, 1, missing[0], f"missing column {missing[0]!r}")


def _text(file: str, row: int, record: Record, column: str, *, optional: bool = False) -> str:
    value = record.get(column)
    text = "" if value is None else str(value).strip()
    if not text and not optional:
        raise FileProblem(file, row, column, "is empty")
    if len(text) > (256 if column == "address" else ID_MAX):
        raise FileProblem(file, row, column, "is too long")
    return text


def _number(
    file: str, row: int, record: Record, column: str, *, optional: bool = False
) -> float | None:
    text = _text(file, row, record, column, optional=optional)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FileProblem(file, row, column, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise FileProblem(file, row, column, f"{text!r} is not a finite number")
    return value


def _non_negative(file: str, row: int, record: Record, column: str) -> float:
    value = _number(file, row, record, column)
    assert value is not None
    if value < 0:
        raise FileProblem(file, row, column, f"is negative ({value:g})")
    return value


def _count(file: str, row: int, record: Record, column: str, *, least: int) -> int:
    value = _number(file, row, record, column)
    assert value is not None
    if value != int(value):
        raise FileProblem(file, row, column, f"{value:g} is not a whole number")
    if value < least:
        raise FileProblem(file, row, column, f"should be at least {least}")
    return int(value)


def _share(file: str, row: int, record: Record, column: str) -> float | None:
    value = _number(file, row, record, column, optional=True)
    if value is not None and not 0 <= value <= 1:
        raise FileProblem(file, row, column, "should lie between 0 and 1")
    return value


def parse_households(
    columns: Collection[str], rows: Iterable[tuple[int, Record]], *, file: str
) -> list[HouseholdRow]:
    """Households from records; the first broken row raises a :class:`FileProblem`."""
    _require(file, columns, HOUSEHOLD_COLUMNS)
    out: list[HouseholdRow] = []
    seen: dict[str, int] = {}
    for row, record in rows:
        household_id = _text(file, row, record, "household_id")
        if household_id in seen:
            raise FileProblem(
                file, row, "household_id", f"{household_id!r} repeats row {seen[household_id]}"
            )
        seen[household_id] = row
        district = _text(file, row, record, "district")
        if not DISTRICT.fullmatch(district):
            raise FileProblem(file, row, "district", "should be a six-digit division code")
        area = _number(file, row, record, "area_m2")
        assert area is not None
        if area <= 0:
            raise FileProblem(file, row, "area_m2", "should be more than 0")
        use = _text(file, row, record, "use")
        if use not in USES:
            raise FileProblem(file, row, "use", "should be residential or commercial")
        lon = _number(file, row, record, "lon", optional=True) if "lon" in columns else None
        lat = _number(file, row, record, "lat", optional=True) if "lat" in columns else None
        if (lon is None) != (lat is None):
            raise FileProblem(file, row, "lon" if lon is None else "lat", "give both or neither")
        if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise FileProblem(file, row, "lon", "lies outside the globe")
        address = _text(file, row, record, "address", optional=True) if "address" in columns else ""
        street = _text(file, row, record, "street", optional=True) if "street" in columns else ""
        out.append(
            HouseholdRow(
                household_id=household_id,
                building_id=_text(file, row, record, "building_id"),
                district=district,
                area_m2=area,
                rooms=_count(file, row, record, "rooms", least=1),
                registered_occupants=_count(file, row, record, "registered_occupants", least=0),
                use=use,
                address=address or None,
                lon=lon,
                lat=lat,
                street=street or None,
            )
        )
    return out


def parse_readings(
    columns: Collection[str],
    rows: Iterable[tuple[int, Record]],
    *,
    file: str,
    known: Collection[str],
) -> list[ReadingRow]:
    """Monthly readings of ``known`` households; the first broken row raises."""
    _require(file, columns, READING_COLUMNS)
    out: list[ReadingRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row, record in rows:
        household_id = _text(file, row, record, "household_id")
        if household_id not in known:
            raise FileProblem(file, row, "household_id", f"unknown household {household_id!r}")
        month = _text(file, row, record, "month")
        match = MONTH.fullmatch(month)
        if match is None or not 1 <= int(match["m"]) <= 12:
            raise FileProblem(file, row, "month", f"{month!r} is not a month (YYYY-MM)")
        key = (household_id, month)
        if key in seen:
            raise FileProblem(
                file, row, "month", f"{month} of {household_id!r} repeats row {seen[key]}"
            )
        seen[key] = row
        out.append(
            ReadingRow(
                household_id=household_id,
                month=month,
                water_m3=_non_negative(file, row, record, "water_m3"),
                electricity_kwh=_non_negative(file, row, record, "electricity_kwh"),
                gas_m3=_non_negative(file, row, record, "gas_m3"),
                night_share=_share(file, row, record, "night_share")
                if "night_share" in columns
                else None,
                weekend_share=(
                    _share(file, row, record, "weekend_share")
                    if "weekend_share" in columns
                    else None
                ),
                peak_valley=(
                    _share(file, row, record, "peak_valley") if "peak_valley" in columns else None
                ),
            )
        )
    return out


def read_households(path: Path) -> list[HouseholdRow]:
    """Households from a CSV or Parquet file."""
    columns, rows = records(path)
    return parse_households(columns, rows, file=str(path))


def read_readings(path: Path, known: Collection[str]) -> list[ReadingRow]:
    """Readings from a CSV or Parquet file, of the households in ``known`` only."""
    columns, rows = records(path)
    return parse_readings(columns, rows, file=str(path), known=known)
