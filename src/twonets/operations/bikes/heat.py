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
    converted = np.array(
        [h3.latlng_to_cell(p.real, p.imag, resolution) for p in unique.tolist()], dtype=object
    )
    out: np.ndarray = converted[np.asarray(inverse)]
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
    order = np.lexsort((trips["started_at"].to_numpy(), bike))
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
    # Count on integer keys (cell code × hour number): a bike-hour per row is many rows.
    codes, names = pd.factorize(ordered["end_cell"])
    base = first.astype(np.int64)
    origin = int(base.min())
    span = int((last.astype(np.int64) - origin).max()) + 1
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    keys = np.repeat(codes.astype(np.int64) * span + (base - origin), count) + offsets
    unique, counted = np.unique(keys, return_counts=True)
    hours = (unique % span + origin).astype("datetime64[h]")
    return pd.DataFrame(
        {
            "cell": np.asarray(names, dtype=object)[unique // span],
            "hour": pd.to_datetime(hours).tz_localize("UTC").astype("datetime64[us, UTC]"),
            "supply": counted.astype(np.int64),
        }
    )


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
    starts = placed.groupby(["start_cell", "start_hour"]).size().rename("starts")
    starts.index.names = ["cell", "hour"]
    arrivals = placed.groupby(["end_cell", "end_hour"]).size().rename("arrivals")
    arrivals.index.names = ["cell", "hour"]
    if snapshots is not None and not snapshots.empty:
        supply_frame = supply_from_snapshots(snapshots, resolution)
    else:
        supply_frame = supply_from_trips(placed)
    supply = supply_frame.set_index(["cell", "hour"])["supply"]
    table = pd.concat([starts, arrivals, supply], axis=1).fillna(0).astype(np.int64)
    for column in ("starts", "arrivals", "supply"):
        if column not in table:
            table[column] = 0
    table = table.reset_index().sort_values(["hour", "cell"], kind="stable")
    table["net"] = table["arrivals"] - table["starts"]
    total = table["supply"] + table["starts"]
    table["imbalance"] = np.where(
        total > 0, (table["supply"] - table["starts"]) / total.where(total > 0, 1), 0.0
    ).round(4)
    return table.reset_index(drop=True)[[*HEAT_COLUMNS, "imbalance"]]


def to_csv(table: pd.DataFrame) -> str:
    """The contract's CSV: ``cell,hour,starts,arrivals,supply,net``, hours as ISO 8601 UTC."""
    out = table[list(HEAT_COLUMNS)].copy()
    out["hour"] = out["hour"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(out.to_csv(index=False, lineterminator="\n"))


def boundary(cell: str) -> list[list[float]]:
    """The cell's outline as ``[lat, lon]`` pairs rounded to about 10 cm, for a map."""
    return [[round(lat, 6), round(lon, 6)] for lat, lon in h3.cell_to_boundary(cell)]
