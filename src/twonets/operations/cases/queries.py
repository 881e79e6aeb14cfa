"""Reads of cases for the API and pages: lists, tasks, one case as JSON, visibility."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid, NotFound
from twonets.core.models import Department, District, Role
from twonets.operations.cases.models import Case, CasePhoto, CaseReport, CaseStep, Category
from twonets.operations.cases.photos import photo_path
from twonets.operations.cases.states import (
    CLOCK_STATES,
    OPEN_STATES,
    CaseState,
    get_case,
    is_overdue,
)


@dataclass(frozen=True)
class CaseFilter:
    """Filters of the case list."""

    district: str | None = None
    category: str | None = None
    major: str | None = None
    state: str | None = None
    overdue: bool | None = None
    department_id: int | None = None
    open_only: bool = False
    limit: int = 100
    offset: int = 0


def list_cases(session: Session, flt: CaseFilter, *, now: datetime) -> tuple[list[Case], int]:
    """Cases matching the filter, newest first, and how many match in all."""
    conditions: list[Any] = []
    if flt.district:
        conditions.append(Case.district_code == flt.district)
    if flt.category:
        conditions.append(Case.category_code == flt.category.upper())
    if flt.major:
        conditions.append(Case.category_code.startswith(flt.major.upper()))
    if flt.state:
        try:
            conditions.append(Case.state == CaseState(flt.state).value)
        except ValueError:
            raise Invalid.field(
                "state", "case-state", f"one of {', '.join(s.value for s in CaseState)}"
            ) from None
    if flt.open_only:
        conditions.append(Case.state.in_([s.value for s in OPEN_STATES]))
    if flt.department_id is not None:
        conditions.append(Case.department_id == flt.department_id)
    overdue = and_(Case.state.in_([s.value for s in CLOCK_STATES]), Case.deadline_at < now)
    if flt.overdue is True:
        conditions.append(overdue)
    elif flt.overdue is False:
        conditions.append(~overdue)
    if not 1 <= flt.limit <= 1000:
        raise Invalid.field("limit", "range", "should be 1 to 1000")
    total = session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0
    rows = session.scalars(
        select(Case)
        .where(*conditions)
        .order_by(Case.reported_at.desc(), Case.id.desc())
        .limit(flt.limit)
        .offset(flt.offset)
    ).all()
    return list(rows), int(total)


def _to_verify(caller: Principal) -> list[Any]:
    caller.require(Role.SUPERVISOR)
    conditions: list[Any] = [Case.state == CaseState.HANDLED.value]
    if caller.district_code is not None:
        conditions.append(Case.district_code == caller.district_code)
    return conditions


def cases_to_verify(session: Session, caller: Principal) -> list[Case]:
    """A supervisor's work: handled cases waiting for verification on site (of their district,
    or all at city level), the longest waiting first."""
    conditions = _to_verify(caller)
    return list(session.scalars(select(Case).where(*conditions).order_by(Case.handled_at, Case.id)))


def count_to_verify(session: Session, caller: Principal) -> int:
    """How many cases ``cases_to_verify`` would list (a start page's figure)."""
    conditions = _to_verify(caller)
    return int(session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0)


def last_feedback(session: Session, rows: Sequence[Case]) -> dict[int, str | None]:
    """The handler's note of each case's latest feedback (what the supervisor checks)."""
    notes: dict[int, str | None] = {row.id: None for row in rows}
    if notes:
        for case_id, note in session.execute(
            select(CaseStep.case_id, CaseStep.note)
            .where(CaseStep.case_id.in_(notes), CaseStep.action == "feedback")
            .order_by(CaseStep.id)
        ):
            notes[case_id] = note
    return notes


def _tasks(caller: Principal) -> list[Any] | None:
    caller.require(Role.FIELD)
    if caller.department_id is None:
        return None
    return [
        Case.department_id == caller.department_id,
        Case.state.in_([s.value for s in CLOCK_STATES]),
        or_(Case.handler_account_id.is_(None), Case.handler_account_id == caller.account_id),
    ]


def my_tasks(session: Session, caller: Principal) -> list[Case]:
    """A handler's tasks: cases of their department waiting for or under handling."""
    conditions = _tasks(caller)
    if conditions is None:
        return []
    ordered = select(Case).where(*conditions).order_by(Case.deadline_at, Case.id)
    return list(session.scalars(ordered))


def count_my_tasks(session: Session, caller: Principal) -> int:
    """How many tasks ``my_tasks`` would list (a start page's figure)."""
    conditions = _tasks(caller)
    if conditions is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(Case).where(*conditions)) or 0)


def cases_json(session: Session, rows: Sequence[Case], *, now: datetime) -> list[dict[str, Any]]:
    """Cases as the API and pages list them, their photos found in one query."""
    photos: dict[int, list[int]] = {row.id: [] for row in rows}
    if photos:
        for case_id, photo_id in session.execute(
            select(CasePhoto.case_id, CasePhoto.id)
            .where(CasePhoto.case_id.in_(photos))
            .order_by(CasePhoto.id)
        ):
            photos[case_id].append(photo_id)
    return [case_json(session, row, now=now, photos=photos[row.id]) for row in rows]


def case_json(
    session: Session,
    row: Case,
    *,
    now: datetime,
    history: bool = False,
    photos: Sequence[int] | None = None,
) -> dict[str, Any]:
    """A case as the API and pages show it (``photos``: its photo ids, when already known)."""
    category = session.get(Category, row.category_code)
    district = session.get(District, row.district_code)
    department = session.get(Department, row.department_id) if row.department_id else None
    merged = session.get(Case, row.merged_into_id) if row.merged_into_id else None
    if photos is None:
        photos = session.scalars(
            select(CasePhoto.id).where(CasePhoto.case_id == row.id).order_by(CasePhoto.id)
        ).all()
    out: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "state": row.state,
        "category": row.category_code,
        "category_name": category.name if category else "",
        "category_name_en": category.name_en if category else "",
        "kind": category.kind if category else "",
        "district_code": row.district_code,
        "district_name": district.name if district else row.district_code,
        "lon": row.lon,
        "lat": row.lat,
        "address": row.address,
        "description": row.description,
        "urgency": row.urgency,
        "source_kind": row.source_kind,
        "source_ref": row.source_ref,
        "component_identifier": row.component_identifier,
        "reported_at": row.reported_at,
        "filed_at": row.filed_at,
        "dispatched_at": row.dispatched_at,
        "deadline_at": row.deadline_at,
        "handled_at": row.handled_at,
        "verified_at": row.verified_at,
        "closed_at": row.closed_at,
        "department_code": department.code if department else None,
        "department_name": department.name if department else None,
        "merged_into": merged.number if merged else None,
        "report_count": row.report_count,
        "rework_count": row.rework_count,
        "overdue": is_overdue(row, now),
        "breached": row.breached or is_overdue(row, now),
        "evaluation": row.evaluation,
        "photos": list(photos),
        "history": None,
    }
    if history:
        out["history"] = [
            {
                "at": s.at,
                "action": s.action,
                "from_state": s.from_state,
                "to_state": s.to_state,
                "actor": s.actor_name,
                "note": s.note,
                "details": s.details,
            }
            for s in session.scalars(
                select(CaseStep).where(CaseStep.case_id == row.id).order_by(CaseStep.id)
            )
        ]
    return out


def get_photo(
    session: Session, caller: Principal, photo_id: int, photo_dir: Path
) -> tuple[Path, str]:
    """A photo's file and content type, for someone who may see its case."""
    photo = session.get(CasePhoto, photo_id)
    if photo is None:
        raise NotFound(f"no photo {photo_id}")
    visible_case(session, caller, photo.case_id)
    path = photo_path(photo_dir, photo.sha256, photo.content_type)
    if not path.exists():
        raise NotFound(f"photo {photo_id} is recorded but its file is missing")
    return path, photo.content_type


def visible_case(session: Session, caller: Principal, case_id: int) -> Case:
    """A case the caller may see: operators and staff see all; supervisors those of their
    district (all, at city level); field staff their department's; residents the cases they
    reported."""
    row = get_case(session, case_id)
    if caller.has_any({Role.OPERATOR, Role.STAFF}):
        return row
    if caller.has_any({Role.SUPERVISOR}) and caller.district_code in {None, row.district_code}:
        return row
    if caller.has_any({Role.FIELD}) and caller.department_id == row.department_id:
        return row
    if caller.citizen_id is not None and session.scalar(
        select(CaseReport.id)
        .where(CaseReport.case_id == row.id, CaseReport.reporter_citizen_id == caller.citizen_id)
        .limit(1)
    ):
        return row
    raise NotFound(f"no case {case_id}")


def my_reports(session: Session, caller: Principal) -> list[Case]:
    """The cases a resident reported (a merged report shows as its own merged case)."""
    if caller.citizen_id is None:
        raise Forbidden("only residents have reports of their own")
    return list(
        session.scalars(
            select(Case)
            .join(CaseReport, CaseReport.case_id == Case.id)
            .where(CaseReport.reporter_citizen_id == caller.citizen_id)
            .order_by(Case.reported_at.desc())
        )
    )
