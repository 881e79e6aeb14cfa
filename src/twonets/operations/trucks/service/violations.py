"""Checks over stored positions, and violations recorded once per episode and opened as cases."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from shapely.geometry import LineString, Polygon, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import TwonetsError
from twonets.core.geo import locate_district
from twonets.core.models import Department, DepartmentLevel, Region
from twonets.operations.cases import service as cases
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.operations.trucks import checks
from twonets.operations.trucks.checks import Episode, Fix, Kind, Rules, Scene, ZoneKind
from twonets.operations.trucks.models import (
    Truck,
    TruckPermit,
    TruckPosition,
    TruckViolation,
    TruckZone,
)

log = logging.getLogger(__name__)

# The department function whose inspectors handle muck-truck violations (城管执法).
INSPECTOR_FUNCTION = "urban-management"
# Construction waste (施工废弃料, E0304) is the management element of every truck case.
CASE_CATEGORY = "E0304"
# Kinds that become cases; the others are kept as violations for the figures (speeding goes
# to the traffic police's own systems, as device intake's overspeed alarms do).
CASE_KINDS: Mapping[Kind, tuple[Urgency, str]] = {
    Kind.SUSPECTED_DUMPING: (
        Urgency.URGENT,
        "muck truck {plate} stopped {minutes} min outside "
        "any permitted site: suspected illegal dumping",
    ),
    Kind.OFF_ROUTE: (Urgency.NORMAL, "muck truck {plate} left its permitted route"),
    Kind.NO_GO_ZONE: (Urgency.URGENT, "muck truck {plate} entered no-go zone {zone}"),
    Kind.NO_PERMIT: (Urgency.NORMAL, "muck truck {plate} moving without a valid permit"),
    Kind.OUT_OF_HOURS: (Urgency.NORMAL, "muck truck {plate} moving outside its permitted hours"),
}


def scene(session: Session, *, first_day: date, last_day: date, rules: Rules) -> Scene:
    """The registered permits valid in a span of days (fleet permits for each of the company's
    trucks) and every zone, ready to check tracks against."""
    zones = {
        row.id: checks.Zone(
            row.name,
            ZoneKind(row.kind),
            _polygon(row.geometry),
            None if row.hours is None else checks.Hours.parse(row.hours),
        )
        for row in session.scalars(select(TruckZone))
    }
    plates_of: dict[int, list[str]] = {}
    plate_of: dict[int, str] = {}
    for truck_id, plate, company_id in session.execute(
        select(Truck.id, Truck.plate, Truck.company_id)
    ):
        plates_of.setdefault(company_id, []).append(plate)
        plate_of[truck_id] = plate
    permits = []
    for row in session.scalars(
        select(TruckPermit).where(
            TruckPermit.valid_from <= last_day, TruckPermit.valid_to >= first_day
        )
    ):
        route = shape(row.route)
        assert isinstance(route, LineString)
        plates = [plate_of[row.truck_id]] if row.truck_id else plates_of.get(row.company_id, [])
        for plate in plates:
            permits.append(
                checks.Permit(
                    plate,
                    zones[row.origin_id].name,
                    zones[row.destination_id].name,
                    route,
                    row.corridor_m,
                    row.valid_from,
                    row.valid_to,
                    checks.Hours.parse(row.hours),
                )
            )
    return Scene(permits, list(zones.values()), rules)


def _polygon(geometry: Mapping[str, Any]) -> Polygon:
    polygon = shape(geometry)
    assert isinstance(polygon, Polygon)
    return polygon


def _inspector(session: Session, district: str | None) -> str | None:
    """The department whose inspectors take a violation in ``district``: the district's
    urban-management department, else the city's (home region), else none."""
    found = None
    if district is not None:
        found = session.scalar(
            select(Department.code)
            .where(Department.function == INSPECTOR_FUNCTION, Department.district_code == district)
            .order_by(Department.code)
            .limit(1)
        )
    return found or session.scalar(
        select(Department.code)
        .where(
            Department.function == INSPECTOR_FUNCTION,
            Department.level == DepartmentLevel.CITY.value,
            Department.region_code.in_(select(Region.code).where(Region.home.is_(True))),
        )
        .order_by(Department.code)
        .limit(1)
    )


def check_positions(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    rules: Rules = checks.DEFAULT_RULES,
) -> list[TruckViolation]:
    """Check every truck's stored positions in ``[since, until)``; record each new violation
    episode once and open a case for those that need handling. An episode overlapping one
    already recorded (the same truck and kind) extends it instead: checking the same hours
    again, or a window that cuts an episode, opens nothing new."""
    first = (since - timedelta(days=1)).date()
    last = (until + timedelta(days=1)).date()
    found = scene(session, first_day=first, last_day=last, rules=rules)
    plate_of: dict[int, str] = dict(session.execute(select(Truck.id, Truck.plate)).all())
    tracks: dict[int, list[Fix]] = {}
    for truck_id, t, lon, lat, speed in session.execute(
        select(
            TruckPosition.truck_id,
            TruckPosition.time,
            TruckPosition.lon,
            TruckPosition.lat,
            TruckPosition.speed_kmh,
        )
        .where(TruckPosition.time >= since, TruckPosition.time < until)
        .order_by(TruckPosition.truck_id, TruckPosition.time)
    ):
        tracks.setdefault(truck_id, []).append(Fix(plate_of[truck_id], t, lon, lat, speed))
    recorded = []
    for truck_id, fixes in tracks.items():
        for episode in found.check(fixes):
            row = record_episode(session, truck_id, episode, now=now)
            if row is not None:
                recorded.append(row)
    session.flush()
    return recorded


def record_episode(
    session: Session, truck_id: int, episode: Episode, *, now: datetime
) -> TruckViolation | None:
    """Record one episode as a violation (and its case, for the kinds that need one), or
    extend the recorded one it overlaps (then None)."""
    known = session.scalar(
        select(TruckViolation).where(
            TruckViolation.truck_id == truck_id,
            TruckViolation.kind == episode.kind.value,
            TruckViolation.start_at <= episode.end,
            TruckViolation.end_at >= episode.start,
        )
    )
    if known is not None:
        if episode.end > known.end_at:
            known.end_at = episode.end
        return None
    district = locate_district(episode.lon, episode.lat)
    row = TruckViolation(
        truck_id=truck_id,
        kind=episode.kind.value,
        start_at=episode.start,
        end_at=episode.end,
        lon=episode.lon,
        lat=episode.lat,
        district_code=district,
        evidence=episode.evidence,
        department_code=_inspector(session, district),
        detected_at=now,
    )
    session.add(row)
    session.flush()
    rule = CASE_KINDS.get(episode.kind)
    if rule is not None:
        row.case_number = _open_case(session, row, episode, rule, now=now)
    return row


def _open_case(
    session: Session,
    row: TruckViolation,
    episode: Episode,
    rule: tuple[Urgency, str],
    *,
    now: datetime,
) -> str | None:
    urgency, wording = rule
    report = IntakeReport(
        source_kind=SourceKind.DETECTOR,
        source_ref=f"truck-violation:{row.id}",
        category=CASE_CATEGORY,
        description=wording.format(
            plate=episode.plate,
            minutes=episode.evidence.get("minutes", ""),
            zone=episode.evidence.get("zone", ""),
        ),
        lon=episode.lon,
        lat=episode.lat,
        crs="wgs84",
        urgency=urgency,
        reported_at=min(episode.end, now),
    )
    try:
        with session.begin_nested():
            case = cases.intake(session, report, now=now)
            return case.number
    except TwonetsError as exc:
        log.warning("truck case not opened (%s): %s", report.description, exc.detail)
    return None
