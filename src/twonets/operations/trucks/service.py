"""Muck-truck supervision's use cases: the registry, position history, checks, violations.

Each function works in the caller's transaction and never commits. Who may do what is
decided here:

- **registering** companies, trucks and permits: an operator (``Role.OPERATOR``) of a
  city-level department of the home region; zones (sites, no-go zones) also an operator of a
  district department of the home region, inside that district only;
- **reading tracks** (where a truck was: whereabouts of a vehicle and its crew): operators,
  supervisors and field staff of the home region; city-level staff see every fix, a
  district department's staff only the fixes inside their district.

Positions arrive as device intake's ``ops.device.location`` events (``positions_from_events``
turns their payloads into rows for the trucks registered under the terminal's phone number
or plate); violations found by ``check_positions`` become operations cases through the case
loop's intake, once per episode.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, Polygon, mapping, shape
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, TwonetsError
from twonets.core.geo import haversine_m, locate_district
from twonets.core.models import Department, DepartmentLevel, Region, Role
from twonets.core.service import checked_credit_code
from twonets.operations.cases import service as cases
from twonets.operations.cases.elements import Urgency
from twonets.operations.cases.schemas import IntakeReport, SourceKind
from twonets.operations.trucks import checks, files
from twonets.operations.trucks.checks import Episode, Fix, Kind, Rules, Scene, ZoneKind
from twonets.operations.trucks.models import (
    Truck,
    TruckCompany,
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


# --- authority -------------------------------------------------------------------------------


def _home_region(session: Session) -> str | None:
    return session.scalar(select(Region.code).where(Region.home.is_(True)))


def _in_home_region(session: Session, caller: Principal) -> None:
    if caller.region_code is None or caller.region_code != _home_region(session):
        raise Forbidden("muck-truck supervision belongs to the city's own departments")


def require_registrar(session: Session, caller: Principal, *, district: str | None = None) -> None:
    """Raise ``Forbidden`` unless ``caller`` may register; ``district``: where a zone lies
    (a district department's operator registers zones of its district only)."""
    caller.require(Role.OPERATOR)
    _in_home_region(session, caller)
    if caller.department_level == DepartmentLevel.CITY.value:
        return
    if district is None or caller.district_code != district:
        raise Forbidden(
            "a district department registers only zones inside its own district"
            if district is not None
            else "only a city-level department registers companies, trucks and permits"
        )


def track_scope(session: Session, caller: Principal) -> str | None:
    """The district whose fixes ``caller`` may read (None: every fix), or ``Forbidden``."""
    caller.require(Role.OPERATOR, Role.SUPERVISOR, Role.FIELD)
    _in_home_region(session, caller)
    if caller.department_level == DepartmentLevel.CITY.value:
        return None
    if caller.district_code is None:
        raise Forbidden("tracks are shown to the city's or a district's departments only")
    return caller.district_code


# --- the registry ----------------------------------------------------------------------------


def register_company(
    session: Session, caller: Principal, *, credit_code: str, name: str, now: datetime
) -> TruckCompany:
    """Register a transport enterprise by its unified social credit code."""
    require_registrar(session, caller)
    code = checked_credit_code(credit_code)
    if not name.strip():
        raise Invalid.field("name", "required", "give the company's registered name")
    if session.scalar(select(TruckCompany.id).where(TruckCompany.credit_code == code)):
        raise Conflict(f"company {code} is already registered")
    row = TruckCompany(credit_code=code, name=name.strip(), registered_at=now)
    session.add(row)
    session.flush()
    return row


def register_truck(
    session: Session,
    caller: Principal,
    *,
    plate: str,
    credit_code: str,
    terminal_phone: str | None,
    now: datetime,
) -> Truck:
    """Register a company's truck, with the phone number its terminal reports under."""
    require_registrar(session, caller)
    plate = plate.strip().upper()
    if not 5 <= len(plate) <= 16:
        raise Invalid.field("plate", "plate", "give the vehicle's plate, e.g. 沪D12345")
    phone = (terminal_phone or "").strip() or None
    if phone is not None and not (phone.isdigit() and len(phone) <= 20):
        raise Invalid.field("terminal_phone", "digits", "up to 20 digits, as the terminal sends")
    company = session.scalar(
        select(TruckCompany).where(TruckCompany.credit_code == checked_credit_code(credit_code))
    )
    if company is None:
        raise NotFound(f"no company {credit_code} is registered")
    clash = Truck.plate == plate
    if phone is not None:
        clash = or_(clash, Truck.terminal_phone == phone)
    taken = session.scalar(select(Truck.plate).where(clash))
    if taken is not None:
        raise Conflict(f"truck {taken} already holds that plate or terminal")
    row = Truck(plate=plate, terminal_phone=phone, company_id=company.id, registered_at=now)
    session.add(row)
    session.flush()
    return row


def _zone_district(polygon: Polygon) -> str | None:
    point = polygon.representative_point()
    return locate_district(point.x, point.y)


def register_zones(
    session: Session, caller: Principal, zones: Sequence[checks.Zone], *, now: datetime
) -> list[TruckZone]:
    """Register sites and no-go zones; a name already registered is a conflict."""
    caller.require(Role.OPERATOR)
    names = [z.name for z in zones]
    taken = session.scalars(select(TruckZone.name).where(TruckZone.name.in_(names))).all()
    if taken:
        raise Conflict(f"zones already registered: {', '.join(sorted(taken))}")
    rows = []
    for zone in zones:
        district = _zone_district(zone.polygon)
        require_registrar(session, caller, district=district)
        rows.append(
            TruckZone(
                name=zone.name,
                kind=zone.kind.value,
                district_code=district,
                geometry=dict(mapping(zone.polygon)),
                hours=None if zone.hours is None else str(zone.hours),
                registered_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


@dataclass(frozen=True)
class PermitIn:
    """A permit to register: for one truck (``plate``) or a company's fleet (``company``)."""

    permit: checks.Permit
    company: str | None = None
    number: str | None = None


def register_permits(
    session: Session, caller: Principal, permits: Sequence[PermitIn], *, now: datetime
) -> list[TruckPermit]:
    """Register permits; their origin and destination must be registered sites."""
    require_registrar(session, caller)
    sites = {
        z.name: z
        for z in session.scalars(select(TruckZone).where(TruckZone.kind != ZoneKind.NO_GO.value))
    }
    rows = []
    for index, item in enumerate(permits):
        p = item.permit
        for field, name in (("origin", p.origin), ("destination", p.destination)):
            if name not in sites:
                raise Invalid.field(
                    field, "site", f"permit {index}: {name!r} is not a registered site"
                )
        if item.company is not None:
            code = checked_credit_code(item.company, field="company")
            company_id = session.scalar(
                select(TruckCompany.id).where(TruckCompany.credit_code == code)
            )
            truck_id = None
            if company_id is None:
                raise Invalid.field("company", "registered", f"permit {index}: no company {code}")
        else:
            found = session.execute(
                select(Truck.id, Truck.company_id).where(Truck.plate == p.plate.upper())
            ).first()
            if found is None:
                raise Invalid.field(
                    "plate", "registered", f"permit {index}: no truck {p.plate} is registered"
                )
            truck_id, company_id = found
        rows.append(
            TruckPermit(
                number=item.number or f"P{now:%Y%m%d}{uuid.uuid4().hex[:10].upper()}",
                company_id=company_id,
                truck_id=truck_id,
                origin_id=sites[p.origin].id,
                destination_id=sites[p.destination].id,
                route=dict(mapping(p.route)),
                corridor_m=p.corridor_m,
                hours=str(p.hours),
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                issued_by=caller.username,
                issued_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def import_zones_file(
    session: Session, caller: Principal, path: Path, *, now: datetime
) -> list[TruckZone]:
    """Register the zones of a GeoJSON file (``files.read_zones``)."""
    try:
        zones = files.read_zones(path)
    except files.FormatError as exc:
        raise Invalid.field("zones", "format", str(exc)) from None
    return register_zones(session, caller, zones, now=now)


def import_permits_file(
    session: Session, caller: Principal, path: Path, *, now: datetime
) -> list[TruckPermit]:
    """Register the permits of a GeoJSON file (``files.read_permits``; a feature may name a
    ``company`` credit code instead of a ``plate`` for a fleet permit, and a ``number``)."""
    try:
        items = [
            PermitIn(permit, company, number)
            for permit, company, number in files.read_registry_permits(path)
        ]
    except files.FormatError as exc:
        raise Invalid.field("permits", "format", str(exc)) from None
    return register_permits(session, caller, items, now=now)


def import_trucks_file(
    session: Session, caller: Principal, path: Path, *, now: datetime
) -> list[Truck]:
    """Register companies and trucks of a CSV file ``credit_code,company,plate,terminal_phone``
    (a company is registered on its first row)."""
    try:
        rows = files.read_trucks(path)
    except files.FormatError as exc:
        raise Invalid.field("trucks", "format", str(exc)) from None
    out = []
    for number, row in rows:
        try:
            code = checked_credit_code(row.credit_code)
            exists = session.scalar(select(TruckCompany.id).where(TruckCompany.credit_code == code))
            if exists is None:
                register_company(session, caller, credit_code=code, name=row.company, now=now)
            out.append(
                register_truck(
                    session,
                    caller,
                    plate=row.plate,
                    credit_code=code,
                    terminal_phone=row.terminal_phone,
                    now=now,
                )
            )
        except (Invalid, Conflict, NotFound) as exc:
            raise Invalid.field("trucks", "row", f"{path}: row {number}: {exc.detail}") from None
    return out


# --- positions -------------------------------------------------------------------------------


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


# --- checks and violations -------------------------------------------------------------------


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
            row = _record(session, truck_id, episode, now=now)
            if row is not None:
                recorded.append(row)
    session.flush()
    return recorded


def _record(
    session: Session, truck_id: int, episode: Episode, *, now: datetime
) -> TruckViolation | None:
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


# --- reads for the page ----------------------------------------------------------------------


@dataclass(frozen=True)
class ViolationRow:
    """One violation as the trucks page lists it."""

    plate: str
    company: str
    kind: str
    start: datetime
    end: datetime
    district_code: str | None
    department_code: str | None
    case_number: str | None


@dataclass(frozen=True)
class CompanyScore:
    """A company's fleet and its violations in the period, by kind."""

    credit_code: str
    name: str
    trucks: int
    violations: int
    by_kind: dict[str, int]


@dataclass(frozen=True)
class Overview:
    """What the trucks page shows: the violations the caller may see, and the companies."""

    district: str | None  # the caller's district, when they see only that one
    days: int
    violations: list[ViolationRow]
    companies: list[CompanyScore]
    trucks: int
    permits: int


def overview(session: Session, caller: Principal, *, now: datetime, days: int = 30) -> Overview:
    """Violations of the last ``days`` (newest first; a district's staff see their district's
    only) and each company's count of them, most first."""
    district = track_scope(session, caller)
    since = now - timedelta(days=days)
    query = (
        select(
            Truck.plate,
            TruckCompany.name,
            TruckCompany.credit_code,
            TruckViolation.kind,
            TruckViolation.start_at,
            TruckViolation.end_at,
            TruckViolation.district_code,
            TruckViolation.department_code,
            TruckViolation.case_number,
        )
        .join(Truck, Truck.id == TruckViolation.truck_id)
        .join(TruckCompany, TruckCompany.id == Truck.company_id)
        .where(TruckViolation.start_at >= since)
        .order_by(TruckViolation.start_at.desc(), Truck.plate)
    )
    if district is not None:
        query = query.where(TruckViolation.district_code == district)
    rows = []
    counts: dict[str, dict[str, int]] = {}
    for plate, company, code, kind, start, end, where, department, case in session.execute(query):
        rows.append(ViolationRow(plate, company, kind, start, end, where, department, case))
        by_kind = counts.setdefault(code, {})
        by_kind[kind] = by_kind.get(kind, 0) + 1
    fleets = session.execute(
        select(TruckCompany.credit_code, TruckCompany.name, func.count(Truck.id))
        .outerjoin(Truck, Truck.company_id == TruckCompany.id)
        .group_by(TruckCompany.credit_code, TruckCompany.name)
    ).all()
    companies = [
        CompanyScore(code, name, fleet, sum(counts.get(code, {}).values()), counts.get(code, {}))
        for code, name, fleet in fleets
    ]
    companies.sort(key=lambda c: (-c.violations, c.credit_code))
    return Overview(
        district,
        days,
        rows[:200],
        companies,
        trucks=sum(c.trucks for c in companies),
        permits=session.scalar(
            select(func.count()).select_from(TruckPermit).where(TruckPermit.valid_to >= now.date())
        )
        or 0,
    )


# --- camera and drone sightings ----------------------------------------------------------------


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
    metre at 36 km/h (10 m). None when no truck was there. (The intake of camera and drone
    events over MQTT that will call this is not built yet.)"""
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
