"""Operators' GBFS feeds (General Bikeshare Feed Specification, v2.x) as parked-bike snapshots.

- ``free_bike_status.json`` (dockless): each bike not reserved and not disabled, where it
  stands, at the feed's ``last_updated``;
- ``station_information.json`` with ``station_status.json`` (docked): each station's
  ``num_bikes_available`` bikes at the station's point, named ``<station>#<n>`` (a station
  feed does not name its bikes).

Only parsing lives here: the documents come from wherever the deployment fetches them. A bad
entry is a ``BikeDataError`` naming the feed, the entry (1-based) and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from twonets.operations.bikes.trips import BikeDataError, check_snapshots


def _updated(feed: str, document: Mapping[str, Any]) -> datetime:
    value = document.get("last_updated")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BikeDataError(feed, None, "last_updated", "should be seconds since 1970")
    return datetime.fromtimestamp(value, tz=UTC)


def _entries(feed: str, document: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    data = document.get("data")
    entries = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise BikeDataError(feed, None, f"data.{key}", "should be a list")
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise BikeDataError(feed, i, None, "should be an object")
    return entries


def _field(feed: str, i: int, entry: Mapping[str, Any], name: str) -> Any:
    if name not in entry:
        raise BikeDataError(feed, i, name, "missing")
    return entry[name]


def _snapshots(feed: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["bike_id", "operator", "seen_at", "lat", "lon"])
    frame["seen_at"] = pd.to_datetime(frame["seen_at"], utc=True)
    return check_snapshots(frame, file=feed, first_row=1)


def free_bikes(document: Mapping[str, Any], operator: str) -> pd.DataFrame:
    """Snapshots of a ``free_bike_status`` document."""
    feed = "free_bike_status"
    seen = _updated(feed, document)
    rows: list[dict[str, Any]] = []
    for i, bike in enumerate(_entries(feed, document, "bikes"), start=1):
        if bike.get("is_reserved") or bike.get("is_disabled"):
            continue
        rows.append(
            {
                "bike_id": str(_field(feed, i, bike, "bike_id")),
                "operator": operator,
                "seen_at": seen,
                "lat": _field(feed, i, bike, "lat"),
                "lon": _field(feed, i, bike, "lon"),
            }
        )
    return _snapshots(feed, rows)


def station_bikes(
    information: Mapping[str, Any], status: Mapping[str, Any], operator: str
) -> pd.DataFrame:
    """Snapshots of docked bikes: ``station_information`` places, ``station_status`` counts."""
    where: dict[str, tuple[Any, Any]] = {}
    for i, station in enumerate(_entries("station_information", information, "stations"), 1):
        sid = str(_field("station_information", i, station, "station_id"))
        where[sid] = (
            _field("station_information", i, station, "lat"),
            _field("station_information", i, station, "lon"),
        )
    feed = "station_status"
    seen = _updated(feed, status)
    rows: list[dict[str, Any]] = []
    for i, station in enumerate(_entries(feed, status, "stations"), start=1):
        sid = str(_field(feed, i, station, "station_id"))
        if sid not in where:
            raise BikeDataError(feed, i, "station_id", f"{sid!r} is not in station_information")
        available = _field(feed, i, station, "num_bikes_available")
        if isinstance(available, bool) or not isinstance(available, int) or available < 0:
            raise BikeDataError(feed, i, "num_bikes_available", "should be a count")
        lat, lon = where[sid]
        rows.extend(
            {"bike_id": f"{sid}#{n}", "operator": operator, "seen_at": seen, "lat": lat, "lon": lon}
            for n in range(1, available + 1)
        )
    return _snapshots(feed, rows)
