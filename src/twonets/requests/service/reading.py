"""Lists and views of requests, their history, the filer's contacts through governance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid, NotFound
from twonets.core.models import Department, Role
from twonets.governance.service import Governance, ReadQuery, ReadResult, read
from twonets.requests.models import (
    Delivery,
    Request,
    RequestAttachment,
    RequestContact,
    RequestStep,
)
from twonets.requests.service import inbox
from twonets.requests.service.common import (
    CONTACT_DATASET,
    CONTACT_PURPOSE,
    OPEN_STATUSES,
    RequestKind,
    RequestStatus,
    _require_holder,
    check_may_see,
    get_request_row,
)

# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    """Which requests a list shows."""

    ids: Sequence[int] = ()
    numbers: Sequence[str] = ()
    categories: Sequence[str] = ()
    statuses: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 100


def _filtered(query: Select[Request], where: RequestFilter) -> Select[Request]:
    if where.ids:
        query = query.where(Request.id.in_(list(where.ids)))
    if where.numbers:
        query = query.where(Request.number.in_(list(where.numbers)))
    if where.categories:
        query = query.where(Request.category_code.in_(list(where.categories)))
    if where.statuses:
        query = query.where(Request.status.in_(list(where.statuses)))
    if where.start is not None:
        query = query.where(Request.submitted_at >= where.start)
    if where.end is not None:
        query = query.where(Request.submitted_at <= where.end)
    return query.order_by(Request.submitted_at.desc(), Request.id.desc()).limit(where.limit)


def list_requests(
    session: Session, caller: Principal, where: RequestFilter | None = None
) -> Sequence[Request]:
    """The requests ``caller`` may see: its own, its department's, or (dispatchers) all."""
    where = where or RequestFilter()
    query = select(Request)
    if caller.has_any({Role.OPERATOR}):
        pass
    elif Role.ENTERPRISE in caller.roles and caller.enterprise_id is not None:
        query = query.where(Request.enterprise_id == caller.enterprise_id)
    elif Role.CITIZEN in caller.roles and caller.citizen_id is not None:
        query = query.join(RequestContact, RequestContact.request_id == Request.id).where(
            RequestContact.citizen_id == caller.citizen_id
        )
    elif Role.STAFF in caller.roles and caller.department_id is not None:
        escalated = select(RequestStep.request_id).where(
            RequestStep.action == "escalate", RequestStep.department_id == caller.department_id
        )
        query = query.where(
            or_(
                Request.department_id == caller.department_id,
                Request.escalated_to_id == caller.department_id,
                Request.id.in_(escalated),
            )
        )
    else:
        raise Forbidden("requests are seen by their filers, their departments and dispatchers")
    return session.scalars(_filtered(query, where)).all()


def list_overdue(session: Session, caller: Principal, *, now: datetime) -> Sequence[Request]:
    """The register of overdue requests: past their limit and not yet answered, that
    ``caller`` may see (its own, those escalated to it, or all for dispatchers)."""
    late = [
        r
        for r in list_requests(
            session,
            caller,
            RequestFilter(
                statuses=[RequestStatus.ASSIGNED.value, RequestStatus.ACCEPTED.value], limit=1000
            ),
        )
        if r.deadline_at is not None and r.deadline_at < now
    ]
    return sorted(late, key=lambda r: (r.deadline_at or now, r.id))


def list_public(session: Session, where: RequestFilter) -> Sequence[Request]:
    """Citizen reports as Open311 shows them to anyone (no personal data is in them)."""
    query = select(Request).where(Request.kind == RequestKind.CITIZEN.value)
    return session.scalars(_filtered(query, where)).all()


def get_request(session: Session, caller: Principal, request_id: int) -> Request:
    """One request, for someone who may see it."""
    row = get_request_row(session, request_id)
    check_may_see(session, caller, row)
    return row


def get_public(session: Session, *, number: str | None = None, token: str | None = None) -> Request:
    """One citizen report by its number or its Open311 token, as anyone may see it."""
    query = select(Request).where(Request.kind == RequestKind.CITIZEN.value)
    if number is not None:
        query = query.where(Request.number == number)
    elif token is not None:
        query = query.where(Request.token == token)
    else:
        raise Invalid.field("service_request_id", "required", "name a request")
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no service request {number or token!r}")
    return row


@dataclass(frozen=True)
class HistoryEntry:
    """One step of a request's history as its readers see it."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str
    department_code: str | None
    department_name: str | None
    actor_name: str | None
    note: str | None
    details: dict[str, Any]


def history(session: Session, caller: Principal, request_id: int) -> list[HistoryEntry]:
    """Every status change and routing decision of a request, oldest first.

    The filer sees which department declined and why (the note), as the department does.
    """
    row = get_request(session, caller, request_id)
    rows = session.execute(
        select(RequestStep, Department.code, Department.name)
        .outerjoin(Department, Department.id == RequestStep.department_id)
        .where(RequestStep.request_id == row.id)
        .order_by(RequestStep.at, RequestStep.id)
    ).all()
    return [
        HistoryEntry(
            s.at,
            s.action,
            s.from_status,
            s.to_status,
            code,
            name,
            s.actor_name,
            s.note,
            dict(s.details or {}),
        )
        for s, code, name in rows
    ]


def read_contact(
    session: Session, gov: Governance, caller: Principal, request_id: int, *, now: datetime
) -> ReadResult:
    """The filer's name and contacts, through the one door (the read lands in the ledger)."""
    row = get_request_row(session, request_id)
    if not caller.has_any({Role.OPERATOR}):
        _require_holder(caller, row)
    return read(
        session,
        gov,
        caller,
        purpose=CONTACT_PURPOSE,
        dataset=CONTACT_DATASET,
        query=ReadQuery(where={"request_id": row.id}, limit=1),
        now=now,
    )


def statuses_of_open311(statuses: Sequence[str]) -> list[str]:
    """This platform's statuses that Open311's ``open`` and ``closed`` stand for."""
    found: list[str] = []
    if "open" in statuses:
        found += sorted(s.value for s in OPEN_STATUSES)
    if "closed" in statuses:
        found.append(RequestStatus.CLOSED.value)
    return found


STATUS_NOTES = {
    RequestStatus.PENDING: "等待派单 (awaiting a dispatcher)",
    RequestStatus.ASSIGNED: "已派单 (routed to a department)",
    RequestStatus.ACCEPTED: "办理中 (being handled)",
    RequestStatus.ANSWERED: "已答复 (answered)",
    RequestStatus.CASE: "已转城市运行管理中心立案处置 (handled as a city operations case)",
    RequestStatus.CLOSED: "已办结 (closed)",
}


def status_note(row: Request) -> str:
    """A short note on where a request is, for those who filed it and for Open311."""
    note = STATUS_NOTES[RequestStatus(row.status)]
    return f"{note}; case {row.case_number}" if row.case_number else note


def first_media_url(session: Session, request_id: int) -> str | None:
    """The first linked media of a request (Open311 shows one)."""
    return session.scalar(
        select(RequestAttachment.url)
        .where(RequestAttachment.request_id == request_id, RequestAttachment.url.is_not(None))
        .order_by(RequestAttachment.id)
        .limit(1)
    )


def is_open311_status_closed(row: Request) -> bool:
    """Open311 knows two statuses: a request is closed once it is closed here."""
    return row.status == RequestStatus.CLOSED.value


def list_request_deliveries(
    session: Session, caller: Principal, request_id: int
) -> Sequence[Delivery]:
    """The e-mails and text messages to the filer of a request, for those who may see it."""
    row = get_request(session, caller, request_id)
    return inbox.list_deliveries(session, row.id)
