"""What the muck-trucks page reads: recent violations, each company's count and score, and
the permits' routes and zones for its map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.operations.trucks.models import (
    Truck,
    TruckCompany,
    TruckPermit,
    TruckViolation,
    TruckZone,
)
from twonets.operations.trucks.service.authority import track_scope


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
    lon: float = 0.0
    lat: float = 0.0


# Points a violation costs its company's score, by kind: what harms most costs most.
PENALTY = {
    "suspected_dumping": 20,
    "no_go_zone": 15,
    "no_permit": 10,
    "off_route": 8,
    "out_of_hours": 5,
    "speeding": 5,
    "silent": 5,
}


def company_score(by_kind: dict[str, int], trucks: int) -> int:
    """100 less the points of the period's violations per truck of the fleet, at least 0: a
    large fleet is not punished for its size, and one dumping a month costs a one-truck
    company 20 points."""
    points = sum(PENALTY.get(kind, 5) * n for kind, n in by_kind.items())
    return max(0, round(100 - points / max(trucks, 1)))


@dataclass(frozen=True)
class CompanyScore:
    """A company's fleet, its violations in the period by kind, and its score (0-100)."""

    credit_code: str
    name: str
    trucks: int
    violations: int
    by_kind: dict[str, int]
    score: int = 100


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
            TruckViolation.lon,
            TruckViolation.lat,
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
    for (
        plate,
        company,
        code,
        kind,
        start,
        end,
        where,
        department,
        case,
        lon,
        lat,
    ) in session.execute(query):
        rows.append(
            ViolationRow(plate, company, kind, start, end, where, department, case, lon, lat)
        )
        by_kind = counts.setdefault(code, {})
        by_kind[kind] = by_kind.get(kind, 0) + 1
    fleets = session.execute(
        select(TruckCompany.credit_code, TruckCompany.name, func.count(Truck.id))
        .outerjoin(Truck, Truck.company_id == TruckCompany.id)
        .group_by(TruckCompany.credit_code, TruckCompany.name)
    ).all()
    companies = [
        CompanyScore(
            code,
            name,
            fleet,
            sum(counts.get(code, {}).values()),
            counts.get(code, {}),
            company_score(counts.get(code, {}), fleet),
        )
        for code, name, fleet in fleets
    ]
    companies.sort(key=lambda c: (c.score, -c.violations, c.credit_code))
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


def permit_map(session: Session, caller: Principal, *, now: datetime) -> dict[str, object]:
    """The permits in force (their routes, buffered to their corridors' width by the map) and
    the zones, as a GeoJSON FeatureCollection in WGS-84, for those who may read tracks."""
    track_scope(session, caller)
    features: list[dict[str, object]] = []
    for number, route, corridor, hours in session.execute(
        select(TruckPermit.number, TruckPermit.route, TruckPermit.corridor_m, TruckPermit.hours)
        .where(TruckPermit.valid_from <= now.date(), TruckPermit.valid_to >= now.date())
        .order_by(TruckPermit.number)
    ):
        features.append(
            {
                "type": "Feature",
                "geometry": route,
                "properties": {
                    "layer": "permit",
                    "number": number,
                    "corridor_m": corridor,
                    "hours": hours,
                },
            }
        )
    for name, kind, geometry, hours in session.execute(
        select(TruckZone.name, TruckZone.kind, TruckZone.geometry, TruckZone.hours).order_by(
            TruckZone.name
        )
    ):
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {"layer": "zone", "name": name, "kind": kind, "hours": hours},
            }
        )
    return {"type": "FeatureCollection", "features": features}
