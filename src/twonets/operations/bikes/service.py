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

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import distinct, func, insert, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Forbidden, Invalid, NotFound
from twonets.core.models import Account, Role
from twonets.governance.sealing import Keyring
from twonets.operations.bikes import heat
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip
from twonets.operations.bikes.trips import CITY_TIMEZONE
from twonets.operations.cases import service as cases
from twonets.operations.cases.schemas import IntakeReport, SourceKind

if TYPE_CHECKING:  # OR-Tools loads only when planning
    from twonets.operations.bikes.rebalance import Move

TRIPS_DATASET = "bike_trips"
# 非机动车乱停放 (events, street order): handled by the district's urban management.
OVERSUPPLY_CATEGORY = "E0506"
IMPORTING_FUNCTIONS = frozenset({"operations"})
SEEING_FUNCTIONS = frozenset({"operations", "transport"})
SEEING_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.STAFF)
# The forecast learns from the whole local days of the last four weeks.
HISTORY_DAYS = 28
# A parked bike counts as current supply if an operator's feed saw it in the last day.
SUPPLY_MAX_AGE = timedelta(hours=24)
MAX_TRUCKS = 500
MAX_CAPACITY = 200
MAX_SPAN = timedelta(days=31)


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
    if until <= since:
        raise Invalid.field("until", "after-since", "should be later than since")
    if until - since > MAX_SPAN:
        raise Invalid.field("until", "max-span", "since and until should be at most 31 days apart")

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


def list_operators(session: Session, caller: Principal, *, resolution: int) -> list[str]:
    """The operators whose trips or parked bikes are held, by name."""
    check_may_see(caller)
    names = set(
        session.scalars(
            select(distinct(BikeTrip.operator)).where(BikeTrip.resolution == resolution)
        )
    )
    names |= set(
        session.scalars(
            select(distinct(BikeSnapshot.operator)).where(BikeSnapshot.resolution == resolution)
        )
    )
    return sorted(names)


def _history(
    session: Session, *, resolution: int, now: datetime, operator: str | None
) -> pd.DataFrame:
    """Trip starts per operator, cell and UTC hour over the whole local days before today."""
    today = pd.Timestamp(now).tz_convert(CITY_TIMEZONE).normalize().tz_convert("UTC")
    since = (today - pd.Timedelta(days=HISTORY_DAYS)).to_pydatetime()
    query = (
        select(BikeTrip.operator, BikeTrip.start_cell, BikeTrip.start_hour, func.count())
        .where(
            BikeTrip.resolution == resolution,
            BikeTrip.start_hour >= since,
            BikeTrip.start_hour < today.to_pydatetime(),
        )
        .group_by(BikeTrip.operator, BikeTrip.start_cell, BikeTrip.start_hour)
    )
    if operator is not None:
        query = query.where(BikeTrip.operator == operator)
    frame = pd.DataFrame(
        session.execute(query).all(), columns=["operator", "cell", "hour", "starts"]
    )
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame


def _forecast(history: pd.DataFrame, now: datetime) -> pd.DataFrame:
    from twonets.operations.bikes import forecast  # scikit-learn loads only when forecasting

    if history.empty:
        return pd.DataFrame({"cell": [], "hour": [], "demand": []})
    start = pd.Timestamp(now).floor("h")
    return forecast.next_day(history, timezone=CITY_TIMEZONE, start=start)


@dataclass(frozen=True)
class Forecast:
    """Demand per cell and hour for the 24 hours from ``start``, learned from ``days`` days."""

    start: datetime
    operator: str | None
    days: int
    cells: pd.DataFrame  # cell, hour (UTC), demand

    def by_cell(self) -> dict[str, float]:
        """Forecast trip starts per cell over the 24 hours, busiest first."""
        total = self.cells.groupby("cell")["demand"].sum().sort_values(ascending=False)
        return {str(c): round(float(v), 2) for c, v in total.items()}


def forecast_demand(
    session: Session,
    caller: Principal,
    *,
    resolution: int,
    now: datetime,
    operator: str | None = None,
) -> Forecast:
    """Trip starts per cell and hour for the next 24 hours (the learned model of ``forecast``,
    fitted on the last ``HISTORY_DAYS`` whole local days, all operators or one)."""
    check_may_see(caller)
    history = _history(session, resolution=resolution, now=now, operator=operator)
    days = int(history["hour"].dt.tz_convert(CITY_TIMEZONE).dt.normalize().nunique())
    cells = _forecast(history[["cell", "hour", "starts"]], now)
    start = pd.Timestamp(now).floor("h").to_pydatetime()
    return Forecast(start=start, operator=operator, days=days, cells=cells)


def current_supply(
    session: Session, *, resolution: int, now: datetime
) -> dict[str, dict[str, int]]:
    """Parked bikes per operator and cell: each bike at its latest snapshot of the last day."""
    recent = [
        BikeSnapshot.resolution == resolution,
        BikeSnapshot.seen_at <= now,
        BikeSnapshot.seen_at > now - SUPPLY_MAX_AGE,
    ]
    latest = (
        select(
            BikeSnapshot.operator,
            BikeSnapshot.bike_id,
            func.max(BikeSnapshot.seen_at).label("seen_at"),
        )
        .where(*recent)
        .group_by(BikeSnapshot.operator, BikeSnapshot.bike_id)
        .subquery()
    )
    query = (
        select(BikeSnapshot.operator, BikeSnapshot.cell, func.count(distinct(BikeSnapshot.bike_id)))
        .join(
            latest,
            (BikeSnapshot.operator == latest.c.operator)
            & (BikeSnapshot.bike_id == latest.c.bike_id)
            & (BikeSnapshot.seen_at == latest.c.seen_at),
        )
        .where(BikeSnapshot.resolution == resolution)
        .group_by(BikeSnapshot.operator, BikeSnapshot.cell)
    )
    out: dict[str, dict[str, int]] = {}
    for operator, cell, bikes in session.execute(query):
        out.setdefault(str(operator), {})[str(cell)] = int(bikes)
    return out


@dataclass(frozen=True)
class Plan:
    """Moves of surplus bikes to deficit cells, per operator and truck."""

    start: datetime
    trucks: int
    capacity: int
    moves: list[Move]
    supply: dict[str, int] = field(default_factory=dict)  # parked bikes per operator
    need: dict[str, int] = field(default_factory=dict)  # forecast starts per operator

    @property
    def bikes_moved(self) -> int:
        """Bikes the plan moves in all."""
        return sum(m.bikes for m in self.moves)

    @property
    def bike_metres(self) -> int:
        """Bike-metres of the plan (what it minimises)."""
        return sum(m.bikes * m.metres for m in self.moves)


def check_fleet(trucks: int, capacity: int) -> None:
    """Trucks and their capacity within reason; ``Invalid`` naming the field otherwise."""
    if not 0 <= trucks <= MAX_TRUCKS:
        raise Invalid.field("trucks", "range", f"should be 0 to {MAX_TRUCKS}, got {trucks}")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise Invalid.field("capacity", "range", f"should be 0 to {MAX_CAPACITY}, got {capacity}")


def plan_rebalancing(
    session: Session,
    caller: Principal,
    *,
    resolution: int,
    trucks: int,
    capacity: int,
    now: datetime,
) -> Plan:
    """A plan for ``trucks`` of ``capacity`` bikes: per operator, each cell's need is its
    forecast starts over the next 24 hours (rounded up), its supply the bikes parked there
    now (snapshots of the last day); surplus goes to deficit at least distance
    (``rebalance.plan``)."""
    check_may_see(caller)
    check_fleet(trucks, capacity)
    from twonets.operations.bikes import rebalance  # OR-Tools loads only when planning

    supply = current_supply(session, resolution=resolution, now=now)
    history = _history(session, resolution=resolution, now=now, operator=None)
    need: dict[str, dict[str, int]] = {}
    for operator, own in history.groupby("operator"):
        ahead = _forecast(own[["cell", "hour", "starts"]], now)
        total = ahead.groupby("cell")["demand"].sum()
        need[str(operator)] = {str(c): math.ceil(v) for c, v in total.items() if v > 0}
    moves = rebalance.plan(supply, need, trucks=trucks, capacity=capacity)
    return Plan(
        start=pd.Timestamp(now).floor("h").to_pydatetime(),
        trucks=trucks,
        capacity=capacity,
        moves=moves,
        supply={o: sum(c.values()) for o, c in supply.items()},
        need={o: sum(c.values()) for o, c in need.items()},
    )
