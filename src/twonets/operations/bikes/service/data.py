"""Importing trips and snapshots, and the counts per cell and hour departments see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import distinct, func, insert, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.governance.sealing import Keyring
from twonets.operations.bikes import heat
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip
from twonets.operations.bikes.service.authority import (
    MAX_SPAN,
    TRIPS_DATASET,
    check_may_import,
    check_may_see,
)


@dataclass(frozen=True)
class Imported:
    """What one import wrote."""

    batch: str
    rows: int
    resolution: int


def import_trips(
    session: Session,
    caller: Principal,
    trips: pd.DataFrame,
    *,
    keyring: Keyring,
    resolution: int,
    now: datetime,
) -> Imported:
    """Write checked trips (``trips.read_trips``) with their cells and hours; the exact points
    and times sealed with ``keyring`` (``Governance.keyring(session)``)."""
    check_may_import(caller)
    placed = heat.with_cells(trips, heat.check_resolution(resolution))
    batch = str(uuid.uuid4())

    def seal(field: str, value: object) -> str:
        return keyring.seal(TRIPS_DATASET, field, str(value))

    rows = [
        {
            "batch": batch,
            "operator": r.operator,
            "bike_id": r.bike_id,
            "started_at": seal("started_at", r.started_at.isoformat()),
            "start_lat": seal("start_lat", repr(float(r.start_lat))),
            "start_lon": seal("start_lon", repr(float(r.start_lon))),
            "ended_at": seal("ended_at", r.ended_at.isoformat()),
            "end_lat": seal("end_lat", repr(float(r.end_lat))),
            "end_lon": seal("end_lon", repr(float(r.end_lon))),
            "resolution": resolution,
            "start_cell": r.start_cell,
            "start_hour": r.start_hour.to_pydatetime(),
            "end_cell": r.end_cell,
            "end_hour": r.end_hour.to_pydatetime(),
        }
        for r in placed.itertuples(index=False)
    ]
    if rows:
        session.execute(insert(BikeTrip), rows)
    return Imported(batch, len(rows), resolution)


def import_snapshots(
    session: Session,
    caller: Principal,
    snapshots: pd.DataFrame,
    *,
    resolution: int,
    now: datetime,
) -> Imported:
    """Write checked parked-bike snapshots (``trips.read_snapshots``) with their cells."""
    check_may_import(caller)
    return write_snapshots(session, snapshots, resolution=resolution)


def write_snapshots(session: Session, snapshots: pd.DataFrame, *, resolution: int) -> Imported:
    """``import_snapshots`` without the caller's check: the server's own feed fetching."""
    cell = heat.cells(
        snapshots["lat"].to_numpy(), snapshots["lon"].to_numpy(), heat.check_resolution(resolution)
    )
    hour = snapshots["seen_at"].dt.floor("h")
    batch = str(uuid.uuid4())
    rows = [
        {
            "batch": batch,
            "operator": r.operator,
            "bike_id": r.bike_id,
            "seen_at": r.seen_at.to_pydatetime(),
            "lat": float(r.lat),
            "lon": float(r.lon),
            "resolution": resolution,
            "cell": c,
            "hour": h.to_pydatetime(),
        }
        for r, c, h in zip(snapshots.itertuples(index=False), cell, hour, strict=True)
    ]
    if rows:
        session.execute(insert(BikeSnapshot), rows)
    return Imported(batch, len(rows), resolution)


def heat_cells(
    session: Session,
    caller: Principal,
    *,
    since: datetime,
    until: datetime,
    resolution: int,
    operator: str | None = None,
) -> pd.DataFrame:
    """Starts, arrivals, supply (snapshots), net and imbalance per cell and hour in
    ``[since, until)``, counted in SQL from the coarse columns only."""
    check_may_see(caller)
    if until <= since:
        raise Invalid.field("until", "after-since", "should be later than since")
    if until - since > MAX_SPAN:
        raise Invalid.field("until", "max-span", "since and until should be at most 31 days apart")
    return counted_cells(
        session, since=since, until=until, resolution=resolution, operator=operator
    )


def counted_cells(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    resolution: int,
    operator: str | None = None,
) -> pd.DataFrame:
    """``heat_cells`` without the caller's check, for the server's own scheduled checks."""
    trip_filter = [BikeTrip.resolution == resolution]
    snap_filter = [BikeSnapshot.resolution == resolution]
    if operator is not None:
        trip_filter.append(BikeTrip.operator == operator)
        snap_filter.append(BikeSnapshot.operator == operator)
    queries = {
        "starts": select(BikeTrip.start_cell, BikeTrip.start_hour, func.count())
        .where(*trip_filter, BikeTrip.start_hour >= since, BikeTrip.start_hour < until)
        .group_by(BikeTrip.start_cell, BikeTrip.start_hour),
        "arrivals": select(BikeTrip.end_cell, BikeTrip.end_hour, func.count())
        .where(*trip_filter, BikeTrip.end_hour >= since, BikeTrip.end_hour < until)
        .group_by(BikeTrip.end_cell, BikeTrip.end_hour),
        "supply": select(
            BikeSnapshot.cell,
            BikeSnapshot.hour,
            func.count(distinct(BikeSnapshot.operator + "/" + BikeSnapshot.bike_id)),
        )
        .where(*snap_filter, BikeSnapshot.hour >= since, BikeSnapshot.hour < until)
        .group_by(BikeSnapshot.cell, BikeSnapshot.hour),
    }
    frames = []
    for name, query in queries.items():
        result = session.execute(query).all()
        frame = pd.DataFrame(result, columns=["cell", "hour", name])
        frames.append(frame.set_index(["cell", "hour"])[name])
    table = pd.concat(frames, axis=1).fillna(0).astype(np.int64).reset_index()
    table["hour"] = pd.to_datetime(table["hour"], utc=True)
    table = table.sort_values(["hour", "cell"], kind="stable").reset_index(drop=True)
    table["net"] = table["arrivals"] - table["starts"]
    total = table["supply"] + table["starts"]
    table["imbalance"] = np.where(
        total > 0, (table["supply"] - table["starts"]) / total.where(total > 0, 1), 0.0
    ).round(4)
    return table[[*heat.HEAT_COLUMNS, "imbalance"]]


def list_operators(session: Session, caller: Principal, *, resolution: int) -> list[str]:
    """The operators whose trips or parked bikes are held, by name."""
    check_may_see(caller)
    names = set(
        session.scalars(
            select(BikeTrip.operator).where(BikeTrip.resolution == resolution).distinct()
        )
    )
    names |= set(
        session.scalars(
            select(BikeSnapshot.operator).where(BikeSnapshot.resolution == resolution).distinct()
        )
    )
    return sorted(names)
