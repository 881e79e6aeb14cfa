"""Supply and demand per H3 cell and hour, from trips (and parked-bike snapshots).

- **starts** (demand): trips that started in the cell during the hour;
- **arrivals**: trips that ended there during the hour;
- **supply**: bikes parked in the cell at the start of the hour. From snapshots when there are
  any (distinct bikes seen in the cell during the hour); otherwise inferred from the trips
  themselves: a bike stands where its last trip ended until its next trip starts (a bike is
  counted from its first arrival on, never before, and up to the hour of the data's last
  trip start);
- **net**: arrivals − starts;
- **imbalance**: (supply − starts) / (supply + starts), from −1 (demand and no bikes) to 1
  (bikes nobody takes); 0 where both are 0.

Points become cells in one pass over the distinct coordinates (``cells``): docked systems
have few distinct points, dockless ones many, and either way each point is converted once.
Hours are UTC.
"""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
from h3.api import basic_int as h3_int

DEFAULT_RESOLUTION = 8  # cells of about 0.74 km²: a few street blocks
HEAT_COLUMNS = ("cell", "hour", "starts", "arrivals", "supply", "net")


def check_resolution(resolution: int) -> int:
    """The resolution if H3 has it (0 to 15), else ``ValueError``."""
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution should be 0 to 15, got {resolution}")
    return resolution


def cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """The H3 cell (hex string) of each point, each distinct point converted once."""
    check_resolution(resolution)
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if len(lat) == 0:
        return np.array([], dtype=object)
    # Distinct points by hashing (a complex number holds the pair), not by sorting.
    inverse, unique = pd.factorize(lat + 1j * lon)
    unique = np.asarray(unique)
    # H3's integer API is about 1.7 times as fast as its string one; the few distinct cells
    # are named as strings once, at the end.
    convert = h3_int.latlng_to_cell
    numbers = np.fromiter(
        (
            convert(a, b, resolution)
            for a, b in zip(unique.real.tolist(), unique.imag.tolist(), strict=True)
        ),
        dtype=np.uint64,
        count=len(unique),
    )
    codes, distinct = pd.factorize(numbers)
    names = np.array([h3.int_to_str(int(n)) for n in distinct], dtype=object)
    out: np.ndarray = names[np.asarray(codes)][np.asarray(inverse)]
    return out


def with_cells(trips: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Trips with their start and end cells and hours added."""
    out = trips.copy()
    out["start_cell"] = cells(out["start_lat"].to_numpy(), out["start_lon"].to_numpy(), resolution)
    out["end_cell"] = cells(out["end_lat"].to_numpy(), out["end_lon"].to_numpy(), resolution)
    out["start_hour"] = out["started_at"].dt.floor("h")
    out["end_hour"] = out["ended_at"].dt.floor("h")
    return out


def supply_from_trips(trips: pd.DataFrame) -> pd.DataFrame:
    """Bikes parked per cell at the start of each hour, inferred from ``with_cells`` trips.

    Between trip *i*'s end and the same bike's next start the bike stands in trip *i*'s end
    cell; after its last trip it stands there until the end of the hour of the data's last trip
    start (a ride that ends later still counts as an arrival, not as supply).
    """
    if trips.empty:
        return pd.DataFrame({"cell": [], "hour": [], "supply": []})
    bike, _ = pd.factorize(trips["operator"] + "\x1f" + trips["bike_id"])
    # Naive UTC times: an aware column's to_numpy() is an array of objects, slow to sort.
    order = np.lexsort((trips["started_at"].dt.tz_localize(None).to_numpy(), bike))
    ordered = trips.iloc[order]
    same_bike = bike[order][1:] == bike[order][:-1]
    horizon = trips["started_at"].max().floor("h") + pd.Timedelta(hours=1)
    parked_from = ordered["ended_at"].dt.tz_localize(None).to_numpy()
    next_start = ordered["started_at"].dt.tz_localize(None).to_numpy()[1:]
    has_next = np.append(same_bike, False)
    parked_until = np.where(
        has_next,
        np.append(next_start, parked_from[:1]),
        horizon.tz_localize(None).to_datetime64(),
    ).astype("datetime64[us]")
    parked_until = np.minimum(parked_until, horizon.tz_localize(None).to_datetime64())
    # The hours h (on the hour) with parked_from <= h < parked_until.
    hour = np.timedelta64(1, "h")
    first = (parked_from + hour - np.timedelta64(1, "us")).astype("datetime64[h]")
    last = (parked_until - np.timedelta64(1, "us")).astype("datetime64[h]")
    count = np.maximum((last - first).astype(np.int64) + 1, 0)
    codes, names = pd.factorize(ordered["end_cell"])
    base = first.astype(np.int64)
    origin = int(base.min())
    span = int((last.astype(np.int64) - origin).max()) + 1
    start = base - origin
    if len(names) * (span + 1) <= DENSE_LIMIT:
        counts = _parked_dense(codes.astype(np.int64), start, count, len(names), span)
    else:
        counts = _parked_sparse(codes.astype(np.int64), start, count, span)
    cell_code, hour_number, parked = counts
    hours = (hour_number + origin).astype("datetime64[h]")
    return pd.DataFrame(
        {
            "cell": np.asarray(names, dtype=object)[cell_code],
            "hour": pd.to_datetime(hours).tz_localize("UTC").astype("datetime64[us, UTC]"),
            "supply": parked.astype(np.int64),
        }
    )


# Cells × hours up to which supply is counted on a dense grid (about 160 MB of int64 at most).
DENSE_LIMIT = 20_000_000


def _parked_dense(
    code: np.ndarray, start: np.ndarray, count: np.ndarray, cells: int, span: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bikes parked per (cell, hour) by a difference array: +1 where a stay begins, −1 after it
    ends, summed along the hours; one pass over the stays, none over the bike-hours."""
    width = span + 1
    stays = count > 0
    begin = code[stays] * width + start[stays]
    end = code[stays] * width + start[stays] + count[stays]
    change = np.bincount(begin, minlength=cells * width) - np.bincount(end, minlength=cells * width)
    grid = np.cumsum(change.reshape(cells, width), axis=1)[:, :span]
    cell_code, hour_number = np.nonzero(grid)
    return cell_code, hour_number, grid[cell_code, hour_number]


def _parked_sparse(
    code: np.ndarray, start: np.ndarray, count: np.ndarray, span: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same counts by expanding each stay into its bike-hours (for very long spans)."""
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    keys = np.repeat(code * span + start, count) + offsets
    unique, counted = np.unique(keys, return_counts=True)
    return unique // span, unique % span, counted


def supply_from_snapshots(snapshots: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """Distinct bikes seen parked per cell and hour."""
    frame = pd.DataFrame(
        {
            "cell": cells(snapshots["lat"].to_numpy(), snapshots["lon"].to_numpy(), resolution),
            "hour": snapshots["seen_at"].dt.floor("h"),
            "bike": snapshots["operator"] + "/" + snapshots["bike_id"],
        }
    )
    return frame.groupby(["cell", "hour"])["bike"].nunique().rename("supply").reset_index()


def heat_table(
    trips: pd.DataFrame,
    snapshots: pd.DataFrame | None = None,
    *,
    resolution: int = DEFAULT_RESOLUTION,
) -> pd.DataFrame:
    """Per cell and hour with anything in it: starts, arrivals, supply, net and imbalance."""
    check_resolution(resolution)
    placed = with_cells(trips, resolution)
    if snapshots is not None and not snapshots.empty:
        supply_frame = supply_from_snapshots(snapshots, resolution)
    else:
        supply_frame = supply_from_trips(placed)
    table = _counted_on_grid(placed, supply_frame)
    if table is None:
        table = _counted_by_groups(placed, supply_frame)
    table["net"] = table["arrivals"] - table["starts"]
    total = table["supply"] + table["starts"]
    table["imbalance"] = np.where(
        total > 0, (table["supply"] - table["starts"]) / total.where(total > 0, 1), 0.0
    ).round(4)
    return table.reset_index(drop=True)[[*HEAT_COLUMNS, "imbalance"]]


def _hour_numbers(hours: pd.Series) -> np.ndarray:
    naive = hours.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    out: np.ndarray = naive.astype("datetime64[h]").astype(np.int64)
    return out


def _counted_on_grid(placed: pd.DataFrame, supply: pd.DataFrame) -> pd.DataFrame | None:
    """Starts, arrivals and supply counted on a dense grid of cells × hours (integer codes and
    ``np.bincount``: no group-by, no index alignment), in hour then cell order; ``None`` when
    the grid would be larger than ``DENSE_LIMIT``."""
    n = len(placed)
    names_all = np.concatenate(
        [
            placed["start_cell"].to_numpy(dtype=object),
            placed["end_cell"].to_numpy(dtype=object),
            supply["cell"].to_numpy(dtype=object),
        ]
    )
    if len(names_all) == 0:
        return None
    codes, found = pd.factorize(names_all)
    # Codes in the names' sorted order, so that the grid's order is the table's.
    names = np.asarray(found, dtype=object)
    rank = np.argsort(names)
    position = np.empty_like(rank)
    position[rank] = np.arange(len(rank))
    codes, names = position[codes], names[rank]
    hours = np.concatenate(
        [
            _hour_numbers(placed["start_hour"]),
            _hour_numbers(placed["end_hour"]),
            _hour_numbers(pd.Series(pd.to_datetime(supply["hour"], utc=True))),
        ]
    )
    origin = int(hours.min())
    span = int(hours.max()) - origin + 1
    cells = len(names)
    if cells * span > DENSE_LIMIT:
        return None
    key = codes * span + (hours - origin)
    size = cells * span
    starts = np.bincount(key[:n], minlength=size)
    arrivals = np.bincount(key[n : 2 * n], minlength=size)
    parked = np.bincount(
        key[2 * n :], weights=supply["supply"].to_numpy(dtype=float), minlength=size
    ).astype(np.int64)
    present = ((starts > 0) | (arrivals > 0) | (parked > 0)).reshape(cells, span)
    hour_index, cell_index = np.nonzero(present.T)
    flat = cell_index * span + hour_index
    stamps = (hour_index + origin).astype("datetime64[h]").astype("datetime64[us]")
    return pd.DataFrame(
        {
            "cell": names[cell_index],
            "hour": pd.DatetimeIndex(stamps).tz_localize("UTC"),
            "starts": starts[flat].astype(np.int64),
            "arrivals": arrivals[flat].astype(np.int64),
            "supply": parked[flat],
        }
    )


def _counted_by_groups(placed: pd.DataFrame, supply_frame: pd.DataFrame) -> pd.DataFrame:
    """The same counts by pandas group-bys, for grids too large to hold."""
    starts = placed.groupby(["start_cell", "start_hour"]).size().rename("starts")
    starts.index.names = ["cell", "hour"]
    arrivals = placed.groupby(["end_cell", "end_hour"]).size().rename("arrivals")
    arrivals.index.names = ["cell", "hour"]
    supply = supply_frame.set_index(["cell", "hour"])["supply"]
    table = pd.concat([starts, arrivals, supply], axis=1).fillna(0).astype(np.int64)
    for column in ("starts", "arrivals", "supply"):
        if column not in table:
            table[column] = 0
    return table.reset_index().sort_values(["hour", "cell"], kind="stable")


def to_csv(table: pd.DataFrame) -> str:
    """The contract's CSV: ``cell,hour,starts,arrivals,supply,net``, hours as ISO 8601 UTC."""
    out = table[list(HEAT_COLUMNS)].copy()
    out["hour"] = out["hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(out.to_csv(index=False, lineterminator="\n"))


def boundary(cell: str) -> list[list[float]]:
    """The cell's outline as ``[lat, lon]`` pairs rounded to about 10 cm, for a map."""
    return [[round(lat, 6), round(lon, 6)] for lat, lon in h3.cell_to_boundary(cell)]
