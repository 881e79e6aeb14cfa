"""Dispatch: the responsible department, the deadline, acceptance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Invalid
from twonets.core.models import Department, DepartmentLevel, Region, Role
from twonets.operations.cases import catalogue, worktime
from twonets.operations.cases.models import (
    Case,
    Category,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.service.common import (
    _check,
    _region_of,
    _require_handler,
    _step,
)
from twonets.operations.cases.states import (
    CaseState,
    get_case,
)


def responsible_department(session: Session, case_row: Case, category: Category) -> Department:
    """The dispatch rule: the district's department of the category's function, else the
    city's, else the district's operations centre."""
    function = category.department_function
    found = (
        session.scalar(
            select(Department)
            .where(
                Department.function == function, Department.district_code == case_row.district_code
            )
            .order_by(Department.code)
            .limit(1)
        )
        or session.scalar(
            select(Department)
            .where(
                Department.function == function,
                Department.level == DepartmentLevel.CITY.value,
                Department.region_code.in_(select(Region.code).where(Region.home.is_(True))),
            )
            .order_by(Department.code)
            .limit(1)
        )
        or session.scalar(
            select(Department)
            .where(
                Department.function == "operations",
                Department.district_code == case_row.district_code,
            )
            .limit(1)
        )
    )
    if found is None:
        raise Conflict(
            f"no department of function {function!r} in district {case_row.district_code} "
            "or the city, and no district operations centre: name one",
            extra={"field": "department_code", "rule": "dispatch-rule"},
        )
    return found


def dispatch_departments(session: Session, caller: Principal) -> list[Department]:
    """The departments an operator may dispatch to: those of the operator's own region (the
    home region's for an account without one), city level first."""
    caller.require(Role.OPERATOR)
    region = _region_of(session, caller)
    return list(
        session.scalars(
            select(Department)
            .where(Department.region_code == region)
            .order_by(Department.level, Department.code)
        )
    )


def _deadline(session: Session, row: Case, category: Category, now: datetime) -> datetime:
    hours = float(category.limits_hours[row.urgency])
    return worktime.add_working_hours(now, hours, catalogue.calendar(session))


def dispatch_case(
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    now: datetime,
    department_code: str | None = None,
    note: str | None = None,
) -> Case:
    """派遣: send a filed case to the responsible department; its time limit starts."""
    caller.require(Role.OPERATOR)
    row = get_case(session, case_id)
    _check(row, "dispatch")
    category = catalogue.get_category(session, row.category_code)
    if department_code:
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise Invalid.field("department_code", "exists", f"no department {department_code!r}")
        if department.region_code != _region_of(session, caller):
            raise Invalid.field(
                "department_code",
                "own-region",
                f"{department.name} is a department of another region",
            )
    else:
        department = responsible_department(session, row, category)
    row.department_id = department.id
    row.dispatched_at = now
    row.deadline_at = _deadline(session, row, category, now)
    _step(
        session,
        row,
        action="dispatch",
        to_state=CaseState.DISPATCHED,
        now=now,
        actor=caller,
        note=note,
        department=department.code,
        deadline=row.deadline_at.isoformat(),
    )
    return row


def accept_case(session: Session, caller: Principal, case_id: int, *, now: datetime) -> Case:
    """A handler of the department takes the task on."""
    row = get_case(session, case_id)
    _require_handler(caller, row)
    _check(row, "accept")
    row.handler_account_id = caller.account_id
    _step(session, row, action="accept", to_state=CaseState.HANDLING, now=now, actor=caller)
    return row
