"""Time limits at work: reminders before the limit, escalation to the supervising level after.

The scheduled work of the app runs ``check_deadlines`` every few minutes. A request still
with its department (assigned or accepted) whose reminder time has come reminds the
department once; one past its limit is escalated to the supervising level: a district
department's request to the city department of the same function, a city department's to
the city's government services office (the 12345 hub, which supervises handling). The
supervising level has its own limit (``SUPERVISOR_LIMIT_DAYS`` working days); a request
still not answered when it passes goes one level further up the same chain, until the hub,
above which the dispatchers follow it. Each supervising department then sees the request
and finds it in its register of overdue requests, with the level it reached; the holding
department keeps working it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.models import Department, DepartmentLevel
from twonets.requests import categories, city
from twonets.requests.models import Request
from twonets.requests.service import inbox
from twonets.requests.service.common import HELD_STATUSES, _remark

# Working days a supervising level has to get a request answered before it goes further up.
SUPERVISOR_LIMIT_DAYS = 2


@dataclass(frozen=True)
class DeadlineRun:
    """What one run of the deadline check did (``escalated`` counts every level reached)."""

    reminded: int
    escalated: int


def supervisor_of(session: Session, department_id: int) -> int | None:
    """The department that supervises ``department_id``'s handling of requests, if any."""
    found = session.execute(
        select(Department.function, Department.level).where(Department.id == department_id)
    ).one_or_none()
    if found is None:
        return None
    function, level = found
    if str(level) != DepartmentLevel.CITY.value:
        city_same = session.scalar(
            select(Department.id)
            .where(Department.function == function, Department.level == DepartmentLevel.CITY)
            .order_by(Department.id)
            .limit(1)
        )
        if city_same is not None:
            return city_same
    hub = session.scalar(
        select(Department.id)
        .where(
            Department.function == categories.FALLBACK_FUNCTION,
            Department.level == DepartmentLevel.CITY,
        )
        .order_by(Department.id)
        .limit(1)
    )
    return hub if hub != department_id else None


def check_deadlines(session: Session, *, now: datetime) -> DeadlineRun:
    """Remind departments of limits that are near and escalate requests past theirs, once."""
    held = [s.value for s in HELD_STATUSES]
    reminded = escalated = 0
    due = session.scalars(
        select(Request).where(
            Request.status.in_(held),
            Request.remind_at <= now,
            Request.reminded_at.is_(None),
            Request.escalated_at.is_(None),
        )
    ).all()
    for row in due:
        row.reminded_at = now
        if row.deadline_at is not None and row.deadline_at <= now:
            continue  # past the limit already: escalated below, no reminder
        _remark(
            session,
            row,
            action="remind",
            now=now,
            department_id=row.department_id,
            note=f"time limit {row.deadline_at:%Y-%m-%d %H:%M} UTC",
        )
        inbox.notify(
            session, row, action="remind", now=now, actor=None, actor_is_filer=True, kind="reminder"
        )
        reminded += 1
    late = session.scalars(
        select(Request).where(
            Request.status.in_(held),
            Request.deadline_at < now,
            Request.escalated_at.is_(None),
        )
    ).all()
    for row in late:
        supervisor = supervisor_of(session, row.department_id) if row.department_id else None
        _escalate(session, row, supervisor, now=now)
        escalated += 1
    further = session.scalars(
        select(Request).where(
            Request.status.in_(held),
            Request.escalation_due_at <= now,
            Request.escalated_to_id.is_not(None),
        )
    ).all()
    for row in further:
        above = supervisor_of(session, row.escalated_to_id) if row.escalated_to_id else None
        if above is None or above in (row.escalated_to_id, row.department_id):
            row.escalation_due_at = None  # the top of the chain: dispatchers follow it
            continue
        _escalate(session, row, above, now=now)
        escalated += 1
    return DeadlineRun(reminded, escalated)


def _escalate(session: Session, row: Request, supervisor: int | None, *, now: datetime) -> None:
    """Send ``row`` one level up to ``supervisor`` (None: dispatchers follow it)."""
    level = row.escalation_level + 1 if supervisor else row.escalation_level
    row.escalated_at = now
    row.updated_at = now
    if supervisor:
        row.escalated_to_id = supervisor
        row.escalation_level = level
        row.escalation_due_at = city.deadline_after(session, now, SUPERVISOR_LIMIT_DAYS)
    else:
        row.escalation_due_at = None
    if supervisor and level > 1:
        note = f"still not answered at level {level - 1}: escalated to level {level}"
    elif supervisor:
        note = "past its time limit: escalated to the supervising level"
    else:
        note = "past its time limit: no supervising department, dispatchers follow it"
    _remark(
        session,
        row,
        action="escalate",
        now=now,
        department_id=supervisor,
        note=note,
        level=level,
    )
    inbox.notify(
        session,
        row,
        action="escalate",
        now=now,
        actor=None,
        actor_is_filer=False,
        kind="escalation",
        also_departments=[supervisor] if supervisor else [],
    )
