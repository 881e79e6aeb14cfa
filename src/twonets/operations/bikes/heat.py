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

From trips alone (the command, the benchmark), everything after the conversion is integer
arithmetic on numpy arrays (:func:`_trips_on_grid`): cells as codes in the order of their
names, hours as numbers, bikes as codes, starts, arrivals and parked bikes counted by
``np.bincount`` on one grid of cells × hours; no string is touched per trip, and names are
given to the distinct cells only.
"""

from __future__ import annotations

import itertools

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
    numbers = _convert(unique, resolution)
    codes, distinct = pd.factorize(numbers)
    names = np.array([h3.int_to_str(int(n)) for n in distinct], dtype=object)
    out: np.ndarray = names[np.asarray(codes)][np.asarray(inverse)]
    return out


def _convert(points: np.ndarray, resolution: int) -> np.ndarray:
    """Each point (``lat + 1j × lon``) as its H3 cell number: H3's integer API (about 1.7
    times as fast as its string one) mapped over the points, straight into a numpy array."""
    out: np.ndarray = np.fromiter(
        map(
            h3_int.latlng_to_cell,
            points.real.tolist(),
            points.imag.tolist(),
            itertools.repeat(resolution, len(points)),
        ),
        dtype=np.uint64,
        count=len(points),
    )
    return out


# Points looked at to judge whether they repeat, and the share of distinct ones beyond which
# converting every point is cheaper than finding the distinct ones first.
SAMPLE_POINTS = 4_096
MOSTLY_DISTINCT = 0.9


def _mostly_distinct(points: np.ndarray) -> bool:
    """Whether the points hardly repeat, judged from the first :data:`SAMPLE_POINTS`."""
    if len(points) <= SAMPLE_POINTS:
        return False
    return len(pd.unique(points[:SAMPLE_POINTS])) > MOSTLY_DISTINCT * SAMPLE_POINTS


def cell_codes(lat: np.ndarray, lon: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's cell as a code, and the distinct cells (H3 numbers) the codes index.

    The cells are in ascending order of their numbers, which is the order of their names (an
    H3 cell's name is its number in hexadecimal, always 15 digits).
    """
    check_resolution(resolution)
    points = np.asarray(lat, dtype=float) + 1j * np.asarray(lon, dtype=float)
    if _mostly_distinct(points):
        # Dockless: hardly a point repeats, so finding the distinct ones would cost more
        # than it saves; every point is converted.
        inverse, unique = np.arange(len(points)), points
    else:
        inverse, unique = pd.factorize(points)
    # Distinct cells by hashing, then only those few sorted.
    codes, found = pd.factorize(_convert(np.asarray(unique), resolution))
    found = np.asarray(found, dtype=np.uint64)
    order = np.argsort(found)
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    out: np.ndarray = position[np.asarray(codes)][np.asarray(inverse)]
    return out, found[order]


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
    from_snapshots = snapshots is not None and not snapshots.empty
    table = None if from_snapshots else _trips_on_grid(trips, resolution)
    if table is None:
        placed = with_cells(trips, resolution)
        if snapshots is not None and from_snapshots:
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


HOUR_NS = 3_600_000_000_000


def _nanoseconds(times: pd.Series) -> np.ndarray:
    """Instants as int64 nanoseconds since the epoch (UTC)."""
    index = pd.DatetimeIndex(times)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    out: np.ndarray = index.as_unit("ns").asi8
    return out


def _by_bike_then_time(bike: np.ndarray, started: np.ndarray) -> np.ndarray:
    """The order of the trips by bike, then start (ties in their order): one stable sort of a
    combined key where it fits in 63 bits, else ``np.lexsort``."""
    offset = started - started.min()
    width = int(offset.max()) + 1
    if (int(bike.max()) + 1) * width < 2**62:
        out: np.ndarray = np.argsort(bike * width + offset, kind="stable")
        return out
    return np.lexsort((started, bike))


def _trips_on_grid(trips: pd.DataFrame, resolution: int) -> pd.DataFrame | None:
    """Starts, arrivals and supply inferred from the trips, all in integers on one grid of
    cells × hours, in hour then cell order; ``None`` when empty or larger than DENSE_LIMIT.

    The same counts as :func:`supply_from_trips` and :func:`_counted_on_grid` (a test
    compares them), without the strings: start and end points are converted together, bikes
    are (operator, bike) codes, times are nanoseconds.
    """
    n = len(trips)
    if n == 0:
        return None
    code, numbers = cell_codes(
        np.concatenate([trips["start_lat"].to_numpy(float), trips["end_lat"].to_numpy(float)]),
        np.concatenate([trips["start_lon"].to_numpy(float), trips["end_lon"].to_numpy(float)]),
        resolution,
    )
    started, ended = _nanoseconds(trips["started_at"]), _nanoseconds(trips["ended_at"])
    start_hour, end_hour = started // HOUR_NS, ended // HOUR_NS
    origin = int(min(start_hour.min(), end_hour.min()))
    span = int(max(start_hour.max(), end_hour.max())) - origin + 1
    cells, width = len(numbers), span + 1  # one hour more: where the last stays end
    if cells * width > DENSE_LIMIT:
        return None
    size = cells * width
    starts = np.bincount(code[:n] * width + (start_hour - origin), minlength=size)
    arrivals = np.bincount(code[n:] * width + (end_hour - origin), minlength=size)

    # Supply: each bike stands in its trip's end cell from the trip's end until its next
    # start (or the end of the hour of the data's last start), counted at each full hour.
    operator, _ = pd.factorize(trips["operator"])
    bike_id, bikes = pd.factorize(trips["bike_id"])
    bike = operator.astype(np.int64) * (len(bikes) + 1) + bike_id
    order = _by_bike_then_time(bike, started)
    has_next = np.append(bike[order][1:] == bike[order][:-1], False)
    horizon = (int(started.max()) // HOUR_NS + 1) * HOUR_NS
    parked_from = ended[order]
    parked_until = np.minimum(
        np.where(has_next, np.append(started[order][1:], 0), horizon), horizon
    )
    first = -(-parked_from // HOUR_NS)  # the first full hour parked
    last = -(-parked_until // HOUR_NS) - 1  # the last
    stays = last >= first
    where = code[n:][order][stays] * width - origin
    change = np.bincount(where + first[stays], minlength=size) - np.bincount(
        where + last[stays] + 1, minlength=size
    )
    parked = np.cumsum(change.reshape(cells, width), axis=1)

    present = ((starts > 0) | (arrivals > 0)).reshape(cells, width) | (parked > 0)
    present[:, span] = False
    hour_index, cell_index = np.nonzero(present.T)
    flat = cell_index * width + hour_index
    names = pd.array([h3.int_to_str(int(x)) for x in numbers], dtype="str")
    stamps = (hour_index + origin).astype("datetime64[h]").astype("datetime64[us]")
    return pd.DataFrame(
        {
            "cell": names.take(cell_index),
            "hour": pd.DatetimeIndex(stamps).tz_localize("UTC"),
            "starts": starts[flat].astype(np.int64),
            "arrivals": arrivals[flat].astype(np.int64),
            "supply": parked.reshape(-1)[flat].astype(np.int64),
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
