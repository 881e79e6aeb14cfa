"""The registry: transport companies, trucks, zones and permits, by hand or from files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shapely.geometry import Polygon, mapping
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Invalid, NotFound
from twonets.core.geo import locate_district
from twonets.core.models import Role
from twonets.core.service import checked_credit_code
from twonets.operations.trucks import checks, files
from twonets.operations.trucks.checks import ZoneKind
from twonets.operations.trucks.models import (
    Truck,
    TruckCompany,
    TruckPermit,
    TruckZone,
)
from twonets.operations.trucks.service.authority import require_registrar


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
