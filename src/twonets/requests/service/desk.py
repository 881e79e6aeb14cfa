"""The staff's desks: a department's work list and the dispatcher's queue of waiting requests.

A department's staff see the requests routed to their department that are theirs to work
(routed, being handled) or waiting for the filer (answered), the late ones first. A
dispatcher (an operator) sees the requests waiting for a decision: those the classifier was
not sure enough of, and those every proposed department declined; for each, the
classifier's candidate categories with their confidence, the department the rules would
propose for each (past those that declined), and who declined it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import Department, Enterprise, Role
from twonets.requests import categories, routing
from twonets.requests.models import Request, RequestStep
from twonets.requests.service.common import (
    RequestStatus,
    _declined_by,
    _units,
)

# What a department's work list shows: its own work, then what waits for the filer.
WORK_STATUSES = (RequestStatus.ASSIGNED, RequestStatus.ACCEPTED, RequestStatus.ANSWERED)
LIMIT = 500


@dataclass(frozen=True)
class WorkItem:
    """One request on a department's work list."""

    request: Request
    overdue: bool


def list_work(session: Session, caller: Principal, *, now: datetime) -> list[WorkItem]:
    """The requests routed to the caller's department: late first, then by time limit."""
    caller.require(Role.STAFF)
    if caller.department_id is None:
        raise Forbidden(
            "the work list is a department's: this account belongs to none",
            extra={"rule": "routed-department"},
        )
    answered = case((Request.status == RequestStatus.ANSWERED.value, 1), else_=0)
    rows = session.scalars(
        select(Request)
        .where(
            Request.department_id == caller.department_id,
            Request.status.in_([s.value for s in WORK_STATUSES]),
        )
        .order_by(answered, Request.deadline_at.is_(None), Request.deadline_at, Request.id)
        .limit(LIMIT)
    ).all()
    items = [
        WorkItem(
            r,
            overdue=r.status != RequestStatus.ANSWERED.value
            and r.deadline_at is not None
            and r.deadline_at < now,
        )
        for r in rows
    ]
    # The late ones first, each group in the order of its limit.
    return sorted(items, key=lambda i: not i.overdue)


@dataclass(frozen=True)
class Candidate:
    """A category the classifier proposed, its confidence, and where the rules would send it."""

    category: str
    confidence: float | None  # None: the filer chose the category
    department_code: str | None
    department_name: str | None


@dataclass(frozen=True)
class Decline:
    """A department that declined the request, and its reason."""

    department_name: str | None
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Waiting:
    """A request in the dispatcher's queue, and why it waits."""

    request: Request
    # "declined": every proposed department declined it; "unsure": the classifier's confidence
    # was below the threshold (CONFIDENCE_THRESHOLD).
    reason: str
    candidates: list[Candidate]
    declines: list[Decline]


def _candidates(session: Session, row: Request) -> list[tuple[str, float | None]]:
    details = session.scalar(
        select(RequestStep.details)
        .where(RequestStep.request_id == row.id, RequestStep.action == "classify")
        .order_by(RequestStep.id.desc())
        .limit(1)
    )
    found: list[tuple[str, float | None]] = [
        (str(c), float(p)) for c, p in (details or {}).get("candidates", [])
    ]
    return found or [(row.category_code, None)]  # the filer chose: the one candidate


def _declines(session: Session, row: Request) -> list[Decline]:
    rows = session.execute(
        select(Department.name, RequestStep.note, RequestStep.at)
        .outerjoin(Department, Department.id == RequestStep.department_id)
        .where(RequestStep.request_id == row.id, RequestStep.action == "decline")
        .order_by(RequestStep.at, RequestStep.id)
    ).all()
    return [Decline(name, note, at) for name, note, at in rows]


def list_waiting(session: Session, caller: Principal) -> list[Waiting]:
    """The dispatcher's queue: pending enterprise requests, the oldest first."""
    caller.require(Role.OPERATOR)
    rows = session.scalars(
        select(Request)
        .where(Request.status == RequestStatus.PENDING.value)
        .order_by(Request.submitted_at, Request.id)
        .limit(LIMIT)
    ).all()
    units = _units(session) if rows else []
    waiting = []
    for row in rows:
        declines = _declines(session, row)
        industry = None
        if row.enterprise_id is not None:
            industry = session.scalar(
                select(Enterprise.industry).where(Enterprise.id == row.enterprise_id)
            )
        excluded = _declined_by(session, row.id)
        candidates = []
        for code, confidence in _candidates(session, row):
            unit = None
            if categories.is_enterprise_category(code):
                category = categories.get_category(code)
                proposals = routing.propose(
                    units,
                    function=category.department_function,
                    level=category.level,
                    district_code=row.district_code,
                    industry=industry,
                    excluded=excluded,
                )
                unit = proposals[0].unit if proposals else None
            candidates.append(
                Candidate(
                    code, confidence, unit.code if unit else None, unit.name if unit else None
                )
            )
        reason = "declined" if declines else "unsure"
        waiting.append(Waiting(row, reason, candidates, declines))
    return waiting


def list_departments(session: Session, caller: Principal) -> list[tuple[str, str]]:
    """(code, name) of every department a dispatcher may send a request to."""
    caller.require(Role.OPERATOR)
    return [
        (code, name)
        for code, name in session.execute(
            select(Department.code, Department.name).order_by(Department.code)
        ).all()
    ]
