"""Camera and drone sightings matched to the truck that was there, and joined to its trip."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.geo import haversine_m, locate_district
from twonets.operations.trucks.models import (
    Truck,
    TruckPosition,
    TruckSighting,
)
from twonets.operations.trucks.service.authority import track_scope

# Fixes further apart than this belong to different trips (the live checks' rule).
TRIP_GAP = timedelta(minutes=30)
EVENT_KINDS = frozenset({"uncovered_load", "spilled_material", "dirty_wheels"})
SOURCES = frozenset({"camera", "drone"})


@dataclass(frozen=True)
class SightingIn:
    """A camera's or a drone's event as it arrives (WGS-84, aware time)."""

    source: str
    device: str
    event_id: str
    kind: str
    time: datetime
    lon: float
    lat: float
    image_ref: str


@dataclass(frozen=True)
class Sighting:
    """The truck a camera or drone event is matched to: its fix nearest in space and time."""

    plate: str
    time: datetime
    lon: float
    lat: float
    distance_m: float
    seconds: float


def match_sighting(
    session: Session,
    *,
    lon: float,
    lat: float,
    at: datetime,
    radius_m: float = 150.0,
    window_seconds: float = 120.0,
) -> Sighting | None:
    """The truck that was at ``(lon, lat)`` (WGS-84) at ``at``: of the fixes within
    ``radius_m`` and ``window_seconds``, the one nearest when a second counts as much as a
    metre at 36 km/h (10 m). None when no truck was there."""
    dlat = radius_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    window = timedelta(seconds=window_seconds)
    best: tuple[float, Sighting] | None = None
    for plate, when, x, y in session.execute(
        select(Truck.plate, TruckPosition.time, TruckPosition.lon, TruckPosition.lat)
        .join(Truck, Truck.id == TruckPosition.truck_id)
        .where(
            TruckPosition.time.between(at - window, at + window),
            TruckPosition.lat.between(lat - dlat, lat + dlat),
            TruckPosition.lon.between(lon - dlon, lon + dlon),
        )
    ):
        metres = haversine_m(lon, lat, x, y)
        if metres > radius_m:
            continue
        seconds = abs((when - at).total_seconds())
        score = metres + 10.0 * seconds
        if best is None or score < best[0]:
            best = (score, Sighting(plate, when, x, y, round(metres, 1), seconds))
    return None if best is None else best[1]


def trip_start(session: Session, plate: str, at: datetime) -> datetime | None:
    """The first fix of the trip a truck was on at ``at``: going back from ``at`` while the
    fixes are less than ``TRIP_GAP`` apart (within half a day)."""
    times = session.scalars(
        select(TruckPosition.time)
        .join(Truck, Truck.id == TruckPosition.truck_id)
        .where(
            Truck.plate == plate,
            TruckPosition.time <= at + TRIP_GAP,
            TruckPosition.time >= at - timedelta(hours=12),
        )
        .order_by(TruckPosition.time.desc())
    ).all()
    earlier = [t for t in times if t <= at] or times[-1:]
    if not earlier:
        return None
    start = earlier[0]
    for t in earlier[1:]:
        if start - t > TRIP_GAP:
            break
        start = t
    return start


def record_sightings(
    session: Session, events: list[SightingIn], *, now: datetime
) -> list[TruckSighting]:
    """Record camera and drone events, each matched to the truck there and its trip; an
    event delivered twice (the same source, device and id) is kept once."""
    out = []
    for event in events:
        known = session.scalar(
            select(TruckSighting.id).where(
                TruckSighting.source == event.source,
                TruckSighting.device == event.device,
                TruckSighting.event_id == event.event_id,
            )
        )
        if known is not None:
            continue
        found = match_sighting(session, lon=event.lon, lat=event.lat, at=event.time)
        truck_id = (
            None
            if found is None
            else session.scalar(select(Truck.id).where(Truck.plate == found.plate))
        )
        row = TruckSighting(
            source=event.source,
            device=event.device,
            event_id=event.event_id,
            kind=event.kind,
            time=event.time,
            lon=event.lon,
            lat=event.lat,
            image_ref=event.image_ref,
            truck_id=truck_id,
            distance_m=None if found is None else found.distance_m,
            seconds=None if found is None else found.seconds,
            trip_start_at=None if found is None else trip_start(session, found.plate, found.time),
            received_at=now,
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out


@dataclass(frozen=True)
class SightingRow:
    """A sighting as the page lists it."""

    source: str
    kind: str
    time: datetime
    lon: float
    lat: float
    image_ref: str
    plate: str | None
    trip_start: datetime | None


def list_sightings(
    session: Session, caller: Principal, *, now: datetime, days: int = 7
) -> list[SightingRow]:
    """The recent camera and drone events, newest first (a district's staff: those in their
    district)."""
    district = track_scope(session, caller)
    rows = []
    for s, plate in session.execute(
        select(TruckSighting, Truck.plate)
        .outerjoin(Truck, Truck.id == TruckSighting.truck_id)
        .where(TruckSighting.time >= now - timedelta(days=days))
        .order_by(TruckSighting.time.desc())
        .limit(200)
    ):
        if district is not None and locate_district(s.lon, s.lat) != district:
            continue
        rows.append(
            SightingRow(s.source, s.kind, s.time, s.lon, s.lat, s.image_ref, plate, s.trip_start_at)
        )
    return rows
