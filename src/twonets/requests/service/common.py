"""Statuses, the history, and who may see and work a request: shared by the use cases."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import idempotency
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.models import Department, Region, Role
from twonets.requests import categories, city, routing
from twonets.requests.models import (
    Request,
    RequestContact,
    RequestStep,
)
from twonets.requests.service import inbox

# Below this confidence the classifier's proposal waits for a dispatcher.
CONFIDENCE_THRESHOLD = 0.5
# The purpose under which a department reads a filer's name and contacts.
CONTACT_PURPOSE = "requests.handling"
CONTACT_DATASET = "requests.contact"


class RequestKind(StrEnum):
    """Who filed: an enterprise (企业诉求) or a resident (12345 citizen report)."""

    ENTERPRISE = "enterprise"
    CITIZEN = "citizen"


class RequestStatus(StrEnum):
    """Where a request is."""

    PENDING = "pending"  # 待派单: a dispatcher decides the category or the department
    ASSIGNED = "assigned"  # 已派单: routed to a department
    ACCEPTED = "accepted"  # 办理中: the department is working on it
    ANSWERED = "answered"  # 已答复: the department recorded its answer
    CASE = "case"  # 转城运: a city problem, handled as an operations case
    CLOSED = "closed"  # 办结


OPEN_STATUSES = frozenset(set(RequestStatus) - {RequestStatus.CLOSED})
# Statuses in which the department holding the request may act on it.
HELD_STATUSES = frozenset({RequestStatus.ASSIGNED, RequestStatus.ACCEPTED})


class IllegalStatus(Conflict):
    """The request is not in a status the action may start from."""

    slug = "illegal-request-status"
    title = "Illegal request status"


class IdempotencyKeyReused(Invalid):
    """An ``Idempotency-Key`` sent again with a different body."""

    slug = "idempotency-key-reused"
    title = "Idempotency key reused"


def once(
    session: Session,
    scope: str,
    key: str | None,
    payload: Any,
    write: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``write`` once per ``Idempotency-Key``: a retry gets the first answer back.

    The same key with another body is a mistake of the client, not a clash of state: 422,
    naming the header (as the IETF draft on the header advises).
    """
    try:
        return idempotency.once(session, scope, key, payload, write)
    except Conflict:
        raise IdempotencyKeyReused.field(
            "Idempotency-Key",
            "same-request",
            f"{key!r} was used for a different request; a retry sends the same body",
        ) from None


# A classifier: text -> (category, confidence) candidates, best first.
Classify = Callable[[str], Sequence[tuple[str, float]]]


def default_classify(text: str) -> Sequence[tuple[str, float]]:
    """The trained classifier of ``twonets.requests.classify`` (trained once per process)."""
    from twonets.requests import classify  # scikit-learn and jieba load only when used

    return classify.default_classifier().predict(text)


# --- helpers ----------------------------------------------------------------------------------


def _step(
    session: Session,
    row: Request,
    *,
    action: str,
    to_status: RequestStatus,
    now: datetime,
    actor: Principal | None = None,
    department_id: int | None = None,
    note: str | None = None,
    notify: bool = True,
    **details: Any,
) -> None:
    previous = row.status
    staff = actor is not None and actor.department_id is not None
    session.add(
        RequestStep(
            request_id=row.id,
            at=now,
            action=action,
            from_status=previous or None,
            to_status=to_status.value,
            actor_account_id=actor.account_id if staff and actor else None,
            actor_name=actor.display_name if staff and actor else None,
            department_id=department_id,
            note=note,
            details=details,
        )
    )
    row.status = to_status.value
    row.updated_at = now
    if to_status is RequestStatus.CLOSED:
        row.closed_at = now
    record_event(
        session,
        f"requests.request.{action}",
        {
            "request": row.number,
            "kind": row.kind,
            "category": row.category_code,
            "from": previous or None,
            "to": to_status.value,
            "department": department_id,
        },
        now=now,
    )
    if notify:
        session.flush()
        inbox.notify(
            session,
            row,
            action=action,
            now=now,
            actor=actor,
            actor_is_filer=actor is not None and _is_filer(actor, row, session),
            note=note,
        )


def _remark(
    session: Session,
    row: Request,
    *,
    action: str,
    now: datetime,
    note: str | None = None,
    department_id: int | None = None,
    **details: Any,
) -> None:
    """A history entry that changes no status (a reminder, an escalation)."""
    session.add(
        RequestStep(
            request_id=row.id,
            at=now,
            action=action,
            from_status=row.status,
            to_status=row.status,
            department_id=department_id,
            note=note,
            details=details,
        )
    )
    record_event(
        session,
        f"requests.request.{action}",
        {"request": row.number, "category": row.category_code, "department": department_id},
        now=now,
    )


def start_clock(session: Session, row: Request, now: datetime, *, restart: bool = False) -> None:
    """Set the time limit when a request is first routed (or, ``restart``, reopened).

    The limit is the category's working days for the request's urgency, on the operations
    centre's calendar; the department is reminded one working day before it (half-way, for a
    one-day limit). Re-routing after a decline keeps the limit: the filer's wait does not
    start again. Reopening starts a new limit with its own reminder and escalation.
    """
    if not categories.is_enterprise_category(row.category_code):
        return
    if row.deadline_at is None or restart:
        limit = categories.limit_days(row.category_code, row.urgency or "normal")
        row.deadline_at = city.deadline_after(session, now, limit)
        if limit > 1:
            row.remind_at = city.deadline_after(session, now, limit - 1)
        else:
            row.remind_at = now + (row.deadline_at - now) / 2
        row.reminded_at = None
        row.escalated_at = None
        row.escalated_to_id = None
        row.escalation_level = 0
        row.escalation_due_at = None


def _units(session: Session) -> list[routing.Unit]:
    """The home region's departments: a request to the city is routed within the city (a
    Jiangsu department with the same function is not a candidate)."""
    home = select(Region.code).where(Region.home.is_(True)).scalar_subquery()
    rows = session.execute(
        select(
            Department.id,
            Department.code,
            Department.name,
            Department.function,
            Department.level,
            Department.district_code,
        ).where(Department.region_code == home)
    ).all()
    return [routing.Unit(r[0], r[1], r[2], r[3], str(r[4]), r[5]) for r in rows]


def _department_id(session: Session, code: str) -> int:
    found = session.scalar(select(Department.id).where(Department.code == code.strip()))
    if found is None:
        raise Invalid.field("department_code", "exists", f"no department {code!r}")
    return found


def get_request_row(session: Session, request_id: int) -> Request:
    """One request by its id (no authority check: callers check)."""
    row = session.get(Request, request_id)
    if row is None:
        raise NotFound(f"no request {request_id}")
    return row


def _declined_by(session: Session, request_id: int) -> list[int]:
    return [
        d
        for d in session.scalars(
            select(RequestStep.department_id).where(
                RequestStep.request_id == request_id, RequestStep.action == "decline"
            )
        )
        if d is not None
    ]


# --- authority --------------------------------------------------------------------------------


def _is_filer(caller: Principal, row: Request, session: Session) -> bool:
    if row.kind == RequestKind.ENTERPRISE.value:
        return caller.enterprise_id is not None and caller.enterprise_id == row.enterprise_id
    if caller.citizen_id is None:
        return False
    owner = session.scalar(
        select(RequestContact.id).where(
            RequestContact.request_id == row.id, RequestContact.citizen_id == caller.citizen_id
        )
    )
    return owner is not None


def _require_holder(caller: Principal, row: Request) -> None:
    """Only staff of the department the request is routed to may work it."""
    caller.require(Role.STAFF)
    if caller.department_id is None or caller.department_id != row.department_id:
        raise Forbidden(
            f"request {row.number} is routed to another department; "
            "a department works only the requests routed to it",
            extra={"rule": "routed-department"},
        )


def escalated_to(session: Session, request_id: int) -> set[int]:
    """Every department a request was escalated to, at any level."""
    return {
        d
        for d in session.scalars(
            select(RequestStep.department_id).where(
                RequestStep.request_id == request_id, RequestStep.action == "escalate"
            )
        )
        if d is not None
    }


def _supervises(session: Session, caller: Principal, row: Request) -> bool:
    """Whether ``caller`` is staff of a department ``row`` was escalated to (any level)."""
    if Role.STAFF not in caller.roles or caller.department_id is None:
        return False
    if caller.department_id == row.escalated_to_id:
        return True
    return row.escalation_level > 1 and caller.department_id in escalated_to(session, row.id)


def check_may_see(session: Session, caller: Principal, row: Request) -> None:
    """The filer, the department it is routed to, the supervising departments it was
    escalated to, and dispatchers see a request; no one else."""
    if _is_filer(caller, row, session):
        return
    if caller.has_any({Role.OPERATOR}):
        return
    if (
        Role.STAFF in caller.roles
        and caller.department_id is not None
        and caller.department_id == row.department_id
    ):
        return
    if _supervises(session, caller, row):
        return
    raise Forbidden(
        f"request {row.number} is not yours to see: an enterprise sees its own requests, "
        "a department those routed or escalated to it",
        extra={"rule": "request-visibility"},
    )


def check_may_download(session: Session, caller: Principal, row: Request) -> None:
    """A request's files are fetched by its filer and the departments holding it (the one it
    is routed to and the supervising ones it was escalated to); not by dispatchers, nor any
    other firm or department."""
    if _is_filer(caller, row, session):
        return
    if (
        Role.STAFF in caller.roles
        and caller.department_id is not None
        and caller.department_id == row.department_id
    ):
        return
    if _supervises(session, caller, row):
        return
    raise Forbidden(
        f"the files of request {row.number} are fetched by its filer and the departments "
        "holding it",
        extra={"rule": "attachment-holders"},
    )


def department_of(session: Session, department_id: int | None) -> tuple[str, str] | None:
    """(code, name) of a department, for showing who is responsible."""
    if department_id is None:
        return None
    found = session.execute(
        select(Department.code, Department.name).where(Department.id == department_id)
    ).one_or_none()
    return (found[0], found[1]) if found else None
