"""The forecast of the next 24 hours and the rebalancing plan, from the held data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.operations.bikes.models import BikeSnapshot, BikeTrip
from twonets.operations.bikes.service.authority import (
    HISTORY_DAYS,
    MAX_CAPACITY,
    MAX_TRUCKS,
    SUPPLY_MAX_AGE,
    check_may_see,
)
from twonets.operations.bikes.trips import CITY_TIMEZONE

if TYPE_CHECKING:  # OR-Tools loads only when planning
    from twonets.operations.bikes.rebalance import Move


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
    rows = session.execute(
        select(
            BikeSnapshot.operator, BikeSnapshot.bike_id, BikeSnapshot.seen_at, BikeSnapshot.cell
        ).where(
            BikeSnapshot.resolution == resolution,
            BikeSnapshot.seen_at <= now,
            BikeSnapshot.seen_at > now - SUPPLY_MAX_AGE,
        )
    ).all()
    out: dict[str, dict[str, int]] = {}
    if not rows:
        return out
    # Each bike's latest sighting, in pandas: SQLite joins a grouped subquery slowly.
    frame = pd.DataFrame(rows, columns=["operator", "bike_id", "seen_at", "cell"])
    latest = frame.sort_values("seen_at", kind="stable").groupby(["operator", "bike_id"]).tail(1)
    for (operator, cell), bikes in latest.groupby(["operator", "cell"]).size().items():
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
