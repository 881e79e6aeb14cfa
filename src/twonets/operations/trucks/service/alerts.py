"""Smart push: a violation becomes alerts to the inspectors responsible, escalated for repeat
offenders, and a notice to the truck's company; who reads and acknowledges them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, NotFound
from twonets.core.models import Department, DepartmentLevel, Enterprise, Region, Role
from twonets.operations.trucks.models import Truck, TruckAlert, TruckCompany, TruckViolation
from twonets.operations.trucks.service.authority import track_scope
from twonets.operations.trucks.service.violations import INSPECTOR_FUNCTION

# A truck with this many violations in the ``REPEAT_DAYS`` before a new one is a repeat
# offender: the alert also goes to the city's inspectors.
REPEAT_OFFENDER = 2
REPEAT_DAYS = 30
WORDING = "muck truck {plate} ({company}): {kind} at {district}{repeat}"


@dataclass(frozen=True)
class AlertRow:
    """An alert as the page and the API show it."""

    id: int
    audience: str
    plate: str
    company: str
    kind: str
    message: str
    lon: float
    lat: float
    start: datetime
    case_number: str | None
    prior_violations: int
    created_at: datetime
    read_at: datetime | None


def _city_inspectors(session: Session) -> str | None:
    return session.scalar(
        select(Department.code)
        .where(
            Department.function == INSPECTOR_FUNCTION,
            Department.level == DepartmentLevel.CITY.value,
            Department.region_code.in_(select(Region.code).where(Region.home.is_(True))),
        )
        .order_by(Department.code)
        .limit(1)
    )


def push_alerts(session: Session, violation: TruckViolation, *, now: datetime) -> list[TruckAlert]:
    """The alerts of a new violation: its department's inspectors; the city's as well when the
    truck is a repeat offender; the truck's company."""
    truck = session.get(Truck, violation.truck_id)
    assert truck is not None
    company = session.get(TruckCompany, truck.company_id)
    assert company is not None
    prior = (
        session.scalar(
            select(func.count())
            .select_from(TruckViolation)
            .where(
                TruckViolation.truck_id == truck.id,
                TruckViolation.id != violation.id,
                TruckViolation.start_at >= violation.start_at - timedelta(days=REPEAT_DAYS),
                TruckViolation.start_at <= violation.start_at,
            )
        )
        or 0
    )
    message = WORDING.format(
        plate=truck.plate,
        company=company.name,
        kind=violation.kind,
        district=violation.district_code or "-",
        repeat=f"; {prior} violations in {REPEAT_DAYS} days" if prior else "",
    )[:256]
    audiences: list[tuple[str, str | None, int | None]] = [
        ("inspector", violation.department_code, None)
    ]
    if prior >= REPEAT_OFFENDER:
        city = _city_inspectors(session)
        if city is not None and city != violation.department_code:
            audiences.append(("escalation", city, None))
    audiences.append(("company", None, company.id))
    alerts = [
        TruckAlert(
            violation_id=violation.id,
            audience=audience,
            department_code=department,
            company_id=company_id,
            prior_violations=prior,
            message=message,
            created_at=now,
        )
        for audience, department, company_id in audiences
    ]
    session.add_all(alerts)
    session.flush()
    return alerts


def _scope(session: Session, caller: Principal) -> tuple[str | None, int | None]:
    """The department or the company whose alerts ``caller`` reads, or ``Forbidden``."""
    if caller.enterprise_id is not None:
        caller.require(Role.ENTERPRISE)
        code = session.scalar(
            select(Enterprise.credit_code).where(Enterprise.id == caller.enterprise_id)
        )
        company = session.scalar(select(TruckCompany.id).where(TruckCompany.credit_code == code))
        if company is None:
            raise Forbidden("alerts go to transport companies with registered trucks")
        return None, company
    track_scope(session, caller)
    if caller.department_code is None:
        raise Forbidden("alerts go to a department's staff")
    return caller.department_code, None


def list_alerts(
    session: Session, caller: Principal, *, now: datetime, days: int = 7, limit: int = 100
) -> list[AlertRow]:
    """The alerts of the caller's department (operations staff) or of the caller's company
    (an enterprise account), newest first."""
    department, company = _scope(session, caller)
    query = (
        select(TruckAlert, TruckViolation, Truck.plate, TruckCompany.name)
        .join(TruckViolation, TruckViolation.id == TruckAlert.violation_id)
        .join(Truck, Truck.id == TruckViolation.truck_id)
        .join(TruckCompany, TruckCompany.id == Truck.company_id)
        .where(TruckAlert.created_at >= now - timedelta(days=days))
        .order_by(TruckAlert.created_at.desc(), TruckAlert.id.desc())
        .limit(limit)
    )
    if company is not None:
        query = query.where(TruckAlert.company_id == company, TruckAlert.audience == "company")
    else:
        query = query.where(TruckAlert.department_code == department)
    return [
        AlertRow(
            alert.id,
            alert.audience,
            plate,
            name,
            violation.kind,
            alert.message,
            violation.lon,
            violation.lat,
            violation.start_at,
            violation.case_number,
            alert.prior_violations,
            alert.created_at,
            alert.read_at,
        )
        for alert, violation, plate, name in session.execute(query)
    ]


def company_notices_waiting(session: Session, caller: Principal) -> int | None:
    """Unread notices of the caller's transport company; None for any other account."""
    if caller.enterprise_id is None or Role.ENTERPRISE not in caller.roles:
        return None
    code = session.scalar(
        select(Enterprise.credit_code).where(Enterprise.id == caller.enterprise_id)
    )
    company = session.scalar(select(TruckCompany.id).where(TruckCompany.credit_code == code))
    if company is None:
        return None
    unread = select(func.count()).where(
        TruckAlert.company_id == company,
        TruckAlert.audience == "company",
        TruckAlert.read_at.is_(None),
    )
    return int(session.scalar(unread) or 0)


def acknowledge_alert(
    session: Session, caller: Principal, alert_id: int, *, now: datetime
) -> TruckAlert:
    """An inspector of the alert's department (or the company it notified) marks it read."""
    alert = session.get(TruckAlert, alert_id)
    if alert is None:
        raise NotFound(f"no truck alert {alert_id}")
    department, company = _scope(session, caller)
    if company is not None:
        if alert.company_id != company:
            raise Forbidden("this alert went to another company")
    else:
        caller.require(Role.OPERATOR, Role.FIELD, Role.SUPERVISOR)
        if alert.department_code != department:
            raise Forbidden("this alert went to another department's inspectors")
    if alert.read_at is None:
        alert.read_at = now
        alert.read_by = caller.username
    return alert
