"""Over-supply: bikes piling up where parking is banned or crowded become operations cases.

The register of zones (``bike_zone``) names each no-parking area (capacity 0) and metro exit
(its racks' capacity), a point and a radius. The check counts the distinct bikes seen parked
within the radius in an hour (snapshots: operators' public data, exact points) and, where
they exceed the zone's capacity, opens one operations case per **episode**: consecutive
hours over capacity are one episode (``bike_oversupply``) and one case; the episode ends at
the first checked hour the zone is back within its capacity. The server runs the check on
its schedule (``api.setup``); operators of the operations centre may run it too, and they
keep the register.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.operations.bikes import heat
from twonets.operations.bikes.models import BikeOversupply, BikeSnapshot, BikeZone
from twonets.operations.bikes.service.authority import (
    OVERSUPPLY_CATEGORY,
    check_may_import,
    check_may_see,
)
from twonets.operations.cases import service as cases
from twonets.operations.cases.schemas import IntakeReport, SourceKind

HOUR = timedelta(hours=1)
EARTH_RADIUS_M = 6_371_008.8


class ZoneKind(StrEnum):
    """What a zone is."""

    NO_PARKING = "no-parking"
    METRO_EXIT = "metro-exit"


@dataclass(frozen=True)
class ParkingZone:
    """A place where bikes must not pile up: ``capacity`` 0 where parking is banned, else the
    bikes it holds (a metro exit's racks)."""

    name: str
    lat: float
    lon: float
    capacity: int
    radius_m: int = 50

    @property
    def kind(self) -> ZoneKind:
        """No-parking where nothing may stand, else a metro exit's racks."""
        return ZoneKind.NO_PARKING if self.capacity == 0 else ZoneKind.METRO_EXIT


@dataclass(frozen=True)
class Oversupply:
    """A zone whose cell held more parked bikes than the zone allows, and the case it became."""

    zone: ParkingZone
    cell: str
    parked: int
    case_number: str


@dataclass(frozen=True)
class ZoneState:
    """A registered zone and its open over-supply episode, if any."""

    zone: ParkingZone
    cell: str
    parked: int | None  # in the episode: the most bikes counted
    since: datetime | None
    case_number: str | None


def _cell(zone: ParkingZone, resolution: int) -> str:
    return str(heat.cells(np.array([zone.lat]), np.array([zone.lon]), resolution)[0])


def _open_case(
    session: Session, zone: ParkingZone, parked: int, hour: datetime, now: datetime
) -> str:
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
    return case.number


def _parked(session: Session, zones: Sequence[ParkingZone], hour: datetime) -> list[int] | None:
    """Per zone: distinct bikes seen parked within its radius during ``hour`` (one query);
    ``None`` when no bike at all was seen in that hour (no feed yet, not an empty city)."""
    rows = session.execute(
        select(BikeSnapshot.operator, BikeSnapshot.bike_id, BikeSnapshot.lat, BikeSnapshot.lon)
        .where(BikeSnapshot.seen_at >= hour, BikeSnapshot.seen_at < hour + HOUR)
        .distinct()
    ).all()
    if not rows:
        return None
    bikes = np.array([f"{o}/{b}" for o, b, _, _ in rows], dtype=object)
    lat = np.radians(np.array([r[2] for r in rows], dtype=float))
    lon = np.radians(np.array([r[3] for r in rows], dtype=float))
    counts = []
    for zone in zones:
        zlat, zlon = math.radians(zone.lat), math.radians(zone.lon)
        h = (
            np.sin((lat - zlat) / 2) ** 2
            + math.cos(zlat) * np.cos(lat) * np.sin((lon - zlon) / 2) ** 2
        )
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))
        counts.append(len(set(bikes[metres <= zone.radius_m])))
    return counts


def oversupply_cases(
    session: Session,
    caller: Principal,
    zones: Sequence[ParkingZone],
    *,
    hour: datetime,
    resolution: int,
    now: datetime,
) -> list[Oversupply]:
    """Open an operations case (``E0506``, found by data) for each of ``zones`` where more
    bikes were seen parked within its radius in ``hour`` (snapshots) than its capacity.

    A repeat for the same zone and hour is merged by case intake like any duplicate.
    Operators of the operations centre run it; the register's scheduled check
    (``check_zones``) keeps episodes instead.
    """
    check_may_import(caller)
    opened: list[Oversupply] = []
    counts = _parked(session, zones, hour) or [0 for _ in zones]
    for zone, parked in zip(zones, counts, strict=True):
        cell = _cell(zone, resolution)
        if parked > zone.capacity:
            opened.append(
                Oversupply(zone, cell, parked, _open_case(session, zone, parked, hour, now))
            )
    return opened


def _checked(zone: ParkingZone) -> ParkingZone:
    if not zone.name.strip() or len(zone.name) > 64:
        raise Invalid.field("name", "length", "should be 1 to 64 characters")
    if not (math.isfinite(zone.lat) and -90 <= zone.lat <= 90):
        raise Invalid.field("lat", "range", f"should be -90 to 90, got {zone.lat}")
    if not (math.isfinite(zone.lon) and -180 <= zone.lon <= 180):
        raise Invalid.field("lon", "range", f"should be -180 to 180, got {zone.lon}")
    if not 0 <= zone.capacity <= 10_000:
        raise Invalid.field("capacity", "range", f"should be 0 to 10000, got {zone.capacity}")
    if not 5 <= zone.radius_m <= 1_000:
        raise Invalid.field("radius_m", "range", f"should be 5 to 1000, got {zone.radius_m}")
    return ParkingZone(zone.name.strip(), zone.lat, zone.lon, zone.capacity, zone.radius_m)


def register_zones(
    session: Session, caller: Principal, zones: Sequence[ParkingZone], *, now: datetime
) -> int:
    """Add zones to the register, or update those of the same name; all or none."""
    check_may_import(caller)
    checked = [_checked(z) for z in zones]
    held = {z.name: z for z in session.scalars(select(BikeZone))}
    for zone in checked:
        row = held.get(zone.name)
        if row is None:
            row = BikeZone(name=zone.name, created_at=now, active=True)
            session.add(row)
            held[zone.name] = row
        row.kind = zone.kind.value
        row.lat, row.lon, row.capacity, row.active = zone.lat, zone.lon, zone.capacity, True
        row.radius_m = zone.radius_m
    session.flush()
    return len(checked)


def _zone_of(row: BikeZone) -> ParkingZone:
    return ParkingZone(row.name, row.lat, row.lon, row.capacity, row.radius_m)


def list_zones(session: Session, caller: Principal, *, resolution: int) -> list[ZoneState]:
    """The registered zones, those over capacity now (an open episode) first."""
    check_may_see(caller)
    rows = session.scalars(select(BikeZone).where(BikeZone.active).order_by(BikeZone.name)).all()
    episodes = {
        e.zone_id: e for e in session.scalars(select(BikeOversupply).where(BikeOversupply.open))
    }
    states = []
    for row in rows:
        episode = episodes.get(row.id)
        zone = _zone_of(row)
        states.append(
            ZoneState(
                zone,
                _cell(zone, resolution),
                episode.parked if episode else None,
                episode.first_hour if episode else None,
                episode.case_number if episode else None,
            )
        )
    return sorted(states, key=lambda s: s.case_number is None)


def check_zones(
    session: Session, *, hour: datetime, resolution: int, now: datetime
) -> list[Oversupply]:
    """The server's scheduled check of every registered zone for ``hour`` (floored to the
    hour): a zone newly over capacity opens an episode and its case; one still over it
    extends its episode (no new case); one back within it closes its episode. An hour in
    which no parked bike at all was seen (the feeds have not reported yet) changes nothing.
    Returns the episodes opened."""
    hour = hour.replace(minute=0, second=0, microsecond=0)
    rows = session.scalars(select(BikeZone).where(BikeZone.active)).all()
    registered = [_zone_of(row) for row in rows]
    counts = _parked(session, registered, hour)
    if counts is None:
        return []
    episodes = {
        e.zone_id: e for e in session.scalars(select(BikeOversupply).where(BikeOversupply.open))
    }
    opened: list[Oversupply] = []
    for row, zone, parked in zip(rows, registered, counts, strict=True):
        cell = _cell(zone, resolution)
        episode = episodes.get(row.id)
        if parked <= zone.capacity:
            if episode is not None and episode.last_hour < hour:
                episode.open = False
            continue
        if episode is not None and episode.last_hour >= hour - HOUR:
            episode.last_hour = max(episode.last_hour, hour)
            episode.parked = max(episode.parked, parked)
            continue
        if episode is not None:  # a gap of unchecked hours: a new episode
            episode.open = False
        number = _open_case(session, zone, parked, hour, now)
        session.add(
            BikeOversupply(
                zone_id=row.id,
                first_hour=hour,
                last_hour=hour,
                parked=parked,
                case_number=number,
                open=True,
            )
        )
        opened.append(Oversupply(zone, cell, parked, number))
    session.flush()
    return opened


def run_zone_checks(
    session: Session, caller: Principal, *, hour: datetime, resolution: int, now: datetime
) -> list[Oversupply]:
    """``check_zones`` run by an operator of the operations centre (the command's way)."""
    check_may_import(caller)
    return check_zones(session, hour=hour, resolution=resolution, now=now)
