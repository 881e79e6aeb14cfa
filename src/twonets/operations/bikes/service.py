"""Shared bikes' rules: who imports trips and snapshots, who sees the cells, and how.

- **Import** (operators of the city's operations centre, ``Role.OPERATOR`` in a department
  whose function is ``operations``): a file is read and checked whole before anything is
  written, then written in the caller's unit of work, so a bad row leaves nothing behind.
  Each trip keeps, beside its exact points and times (whereabouts: sensitive), its H3 cells
  and hours at ``bikes_h3_resolution``.
- **Seeing** the heat map, forecasts and plans (staff of an ``operations`` or ``transport``
  department): only counts per cell and hour, computed in SQL from the coarse columns. The
  exact points and times leave the tables only through governance (dataset ``bike_trips``,
  ``governance.service.read`` under a declared purpose), never through this module.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import distinct, func, insert, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Forbidden, NotFound
from twonets.core.models import Account, Role
from twonets.governance.sealing import Keyring
from twonets.operations.bikes import heat
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip
from twonets.operations.cases import service as cases
from twonets.operations.cases.schemas import IntakeReport, SourceKind

TRIPS_DATASET = "bike_trips"
# 非机动车乱停放 (events, street order): handled by the district's urban management.
OVERSUPPLY_CATEGORY = "E0506"
IMPORTING_FUNCTIONS = frozenset({"operations"})
SEEING_FUNCTIONS = frozenset({"operations", "transport"})
SEEING_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.STAFF)


@dataclass(frozen=True)
class Imported:
    """What one import wrote."""

    batch: str
    rows: int
    resolution: int


def acting_staff(session: Session, username: str) -> Principal:
    """The staff account a command acts as (``--as``), for the same checks as the API."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: a staff login
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    return principal_of(account)


def check_may_import(caller: Principal) -> None:
    """Operators of the operations centre import operators' data; ``Forbidden`` otherwise."""
    caller.require(Role.OPERATOR)
    if caller.department_function not in IMPORTING_FUNCTIONS:
        raise Forbidden(
            "shared-bike data is imported by the operations centre's operators",
            extra={"rule": "bikes-import"},
        )


def check_may_see(caller: Principal) -> None:
    """Staff of operations or transport see the cells; ``Forbidden`` otherwise."""
    caller.require(*SEEING_ROLES)
    if caller.department_function not in SEEING_FUNCTIONS:
        raise Forbidden(
            "the shared-bike heat map is for operations and transport departments",
            extra={"rule": "bikes-see"},
        )


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


@dataclass(frozen=True)
class ParkingZone:
    """A place where bikes must not pile up: ``capacity`` 0 where parking is banned, else the
    bikes it holds (a metro exit's racks)."""

    name: str
    lat: float
    lon: float
    capacity: int


@dataclass(frozen=True)
class Oversupply:
    """A zone whose cell held more parked bikes than the zone allows, and the case it became."""

    zone: ParkingZone
    cell: str
    parked: int
    case_number: str


def oversupply_cases(
    session: Session,
    caller: Principal,
    zones: Sequence[ParkingZone],
    *,
    hour: datetime,
    resolution: int,
    now: datetime,
) -> list[Oversupply]:
    """Open an operations case (``E0506``, found by data) for each zone whose H3 cell held more
    parked bikes in ``hour`` (snapshots) than the zone's capacity.

    The count is the whole cell's (about 0.74 km² at resolution 8), a coarse stand-in for the
    zone itself. A repeat for the same zone and hour is merged by case intake like any
    duplicate. Operators of the operations centre run it.
    """
    check_may_import(caller)
    table = heat_cells(
        session, caller, since=hour, until=hour + timedelta(hours=1), resolution=resolution
    )
    supply = dict(zip(table["cell"], table["supply"], strict=True))
    opened: list[Oversupply] = []
    for zone in zones:
        cell = str(heat.cells(np.array([zone.lat]), np.array([zone.lon]), resolution)[0])
        parked = int(supply.get(cell, 0))
        if parked <= zone.capacity:
            continue
        limit = "禁停区" if zone.capacity == 0 else f"容量{zone.capacity}辆"
        report = IntakeReport(
            source_kind=SourceKind.DETECTOR,
            source_ref=f"bikes:{zone.name}:{hour:%Y%m%dT%H}"[:128],
            category=OVERSUPPLY_CATEGORY,
            description=f"{zone.name}共享单车堆积：所在网格停放{parked}辆（{limit}）",
            lon=zone.lon,
            lat=zone.lat,
            crs="wgs84",
            reported_at=min(hour, now),
        )
        with session.begin_nested():
            case = cases.intake(session, report, now=now)
        opened.append(Oversupply(zone, cell, parked, case.number))
    return opened
