"""Position history: fixes from device intake's location events, kept, purged, read as tracks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import NotFound
from twonets.core.geo import locate_district
from twonets.operations.trucks.checks import Fix
from twonets.operations.trucks.models import (
    Truck,
    TruckCompany,
    TruckPosition,
)
from twonets.operations.trucks.service.authority import track_scope

log = logging.getLogger(__name__)


def positions_from_events(
    session: Session, payloads: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for ``truck_position`` from ``ops.device.location`` payloads of registered trucks
    (by terminal phone number, else by plate); others are left out."""
    items = list(payloads)
    phones = {str(p.get("terminal")) for p in items}
    plates = {str(p.get("plate")) for p in items}
    by_phone: dict[str, int] = {}
    by_plate: dict[str, int] = {}
    for truck_id, phone, plate in session.execute(
        select(Truck.id, Truck.terminal_phone, Truck.plate).where(
            or_(Truck.terminal_phone.in_(phones), Truck.plate.in_(plates))
        )
    ):
        if phone:
            by_phone[phone] = truck_id
        by_plate[plate] = truck_id
    rows = []
    seen: set[tuple[int, datetime]] = set()
    for payload in items:
        found = by_phone.get(str(payload.get("terminal"))) or by_plate.get(
            str(payload.get("plate"))
        )
        if found is None:
            continue
        try:
            when = datetime.fromisoformat(str(payload["time"]))
            lon = float(payload["wgs84"]["lon"])
            lat = float(payload["wgs84"]["lat"])
            speed = float(payload.get("speed_kmh", 0.0))
        except (KeyError, TypeError, ValueError):
            log.warning("location event without a usable position: %r", payload)
            continue
        if when.tzinfo is None or (found, when) in seen:
            continue
        seen.add((found, when))
        rows.append({"truck_id": found, "time": when, "lon": lon, "lat": lat, "speed_kmh": speed})
    return rows


def record_positions(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Write a batch of position rows in one statement (an executemany)."""
    if not rows:
        return 0
    session.execute(insert(TruckPosition), [dict(r) for r in rows])
    return len(rows)


def purge_positions(session: Session, *, now: datetime, retention_days: int) -> int:
    """Delete positions older than the retention; the number deleted."""
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(delete(TruckPosition).where(TruckPosition.time < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def track(
    session: Session, caller: Principal, plate: str, *, since: datetime, until: datetime
) -> list[Fix]:
    """A truck's fixes between two moments, as far as ``caller`` may see them."""
    district = track_scope(session, caller)
    truck_id = session.scalar(select(Truck.id).where(Truck.plate == plate.strip().upper()))
    if truck_id is None:
        raise NotFound(f"no truck {plate} is registered")
    fixes = [
        Fix(plate.strip().upper(), t, lon, lat, speed)
        for t, lon, lat, speed in session.execute(
            select(
                TruckPosition.time, TruckPosition.lon, TruckPosition.lat, TruckPosition.speed_kmh
            )
            .where(
                TruckPosition.truck_id == truck_id,
                TruckPosition.time >= since,
                TruckPosition.time < until,
            )
            .order_by(TruckPosition.time)
        )
    ]
    if district is None:
        return fixes
    return [f for f in fixes if locate_district(f.lon, f.lat) == district]


@dataclass(frozen=True)
class LivePosition:
    """A truck's newest fix, as the map shows it."""

    plate: str
    company: str
    time: datetime
    lon: float
    lat: float
    speed_kmh: float


def live_positions(
    session: Session, caller: Principal, *, now: datetime, within: timedelta = timedelta(hours=24)
) -> list[LivePosition]:
    """Each truck's newest fix of the last ``within`` (a district's staff: the trucks whose
    newest fix lies in their district)."""
    district = track_scope(session, caller)
    newest = (
        select(TruckPosition.truck_id, func.max(TruckPosition.time).label("time"))
        .where(TruckPosition.time >= now - within, TruckPosition.time <= now)
        .group_by(TruckPosition.truck_id)
        .subquery()
    )
    out = []
    for plate, company, t, lon, lat, speed in session.execute(
        select(
            Truck.plate,
            TruckCompany.name,
            TruckPosition.time,
            TruckPosition.lon,
            TruckPosition.lat,
            TruckPosition.speed_kmh,
        )
        .join(
            newest,
            (newest.c.truck_id == TruckPosition.truck_id) & (newest.c.time == TruckPosition.time),
        )
        .join(Truck, Truck.id == TruckPosition.truck_id)
        .join(TruckCompany, TruckCompany.id == Truck.company_id)
        .order_by(Truck.plate)
    ):
        if district is not None and locate_district(lon, lat) != district:
            continue
        out.append(LivePosition(plate, company, t, lon, lat, speed))
    return out
