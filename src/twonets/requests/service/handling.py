"""The dispatcher and the department: assign, accept, decline, answer; dialogue; cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, Invalid
from twonets.core.events import record_event
from twonets.core.models import Role
from twonets.requests import categories, city
from twonets.requests.models import (
    Request,
    RequestMessage,
)
from twonets.requests.service import inbox
from twonets.requests.service.answers import check_may_ask_department
from twonets.requests.service.common import (
    HELD_STATUSES,
    IllegalStatus,
    RequestKind,
    RequestStatus,
    _department_id,
    _is_filer,
    _require_holder,
    _step,
    get_request_row,
    start_clock,
)
from twonets.requests.service.intake import (
    _check_category,
    _forward,
    _route,
)
from twonets.requests.service.reading import (
    get_request,
)

# --- the dispatcher and the department -------------------------------------------------------


def assign_request(
    session: Session,
    caller: Principal,
    request_id: int,
    *,
    now: datetime,
    category: str | None = None,
    department_code: str | None = None,
    note: str | None = None,
) -> Request:
    """派单: a dispatcher decides the category and/or the department of a waiting request."""
    caller.require(Role.OPERATOR)
    row = get_request_row(session, request_id)
    if row.status != RequestStatus.PENDING.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: a dispatcher decides only pending requests",
            extra={"status": row.status, "rule": "assign needs status pending"},
        )
    if category:
        _check_category(session, category.strip(), RequestKind(row.kind))
        row.category_code = category.strip()
    if department_code:
        if not categories.is_enterprise_category(row.category_code):
            raise Invalid.field(
                "department_code", "case-loop", "city problems are dispatched as cases"
            )
        department_id = _department_id(session, department_code)
        row.department_id = department_id
        start_clock(session, row, now)
        _step(
            session,
            row,
            action="assign",
            to_status=RequestStatus.ASSIGNED,
            now=now,
            actor=caller,
            department_id=department_id,
            note=note or "decided by a dispatcher",
            category=row.category_code,
        )
        return row
    _forward(session, row, now=now)
    return row


def accept_request(
    session: Session, caller: Principal, request_id: int, *, now: datetime
) -> Request:
    """受理: the department routed to takes the request on."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status != RequestStatus.ASSIGNED.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: accepting needs status assigned",
            extra={"status": row.status, "rule": "accept needs status assigned"},
        )
    _step(
        session,
        row,
        action="accept",
        to_status=RequestStatus.ACCEPTED,
        now=now,
        actor=caller,
        department_id=row.department_id,
    )
    return row


def decline_request(
    session: Session, caller: Principal, request_id: int, *, reason: str, now: datetime
) -> Request:
    """退回: the department says "not ours" with a reason; the request is routed on."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status not in {s.value for s in HELD_STATUSES}:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: declining needs status assigned or accepted",
            extra={"status": row.status, "rule": "decline needs status assigned or accepted"},
        )
    if not reason or not reason.strip():
        raise Invalid.field("reason", "required", "say why the request is not yours")
    declining = row.department_id
    _step(
        session,
        row,
        action="decline",
        to_status=RequestStatus.PENDING,
        now=now,
        actor=caller,
        department_id=declining,
        note=reason.strip(),
    )
    row.department_id = None
    _route(session, row, now=now)
    return row


def answer_request(
    session: Session, caller: Principal, request_id: int, *, answer: str, now: datetime
) -> Request:
    """答复: the department records its answer; the filer confirms or reopens it."""
    row = get_request_row(session, request_id)
    _require_holder(caller, row)
    if row.status not in {s.value for s in HELD_STATUSES}:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: answering needs status assigned or accepted",
            extra={"status": row.status, "rule": "answer needs status assigned or accepted"},
        )
    if not answer or not answer.strip():
        raise Invalid.field("answer", "required", "write the answer to the request")
    _step(
        session,
        row,
        action="answer",
        to_status=RequestStatus.ANSWERED,
        now=now,
        actor=caller,
        department_id=row.department_id,
        note=answer.strip(),
    )
    return row


# --- closure: the filer confirms, reopens, rates ---------------------------------------------


def _require_filer(session: Session, caller: Principal, row: Request) -> None:
    if not _is_filer(caller, row, session):
        raise Forbidden(
            f"request {row.number} is not yours: only its filer confirms, reopens or rates it",
            extra={"rule": "filer-only"},
        )


def confirm_request(
    session: Session, caller: Principal, request_id: int, *, now: datetime
) -> Request:
    """办结: the filer accepts the department's answer; the request closes."""
    row = get_request_row(session, request_id)
    _require_filer(session, caller, row)
    if row.status != RequestStatus.ANSWERED.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: confirming needs status answered",
            extra={"status": row.status, "rule": "confirm needs status answered"},
        )
    _step(session, row, action="confirm", to_status=RequestStatus.CLOSED, now=now, actor=caller)
    return row


def reopen_request(
    session: Session, caller: Principal, request_id: int, *, reason: str, now: datetime
) -> Request:
    """Marked fixed, not fixed: back to the same department, with its history and a new limit.

    A request answered at once from the knowledge base has no department yet: reopening it
    asks for one (``ask_department``).
    """
    row = get_request_row(session, request_id)
    _require_filer(session, caller, row)
    if row.answer_id is not None and row.department_id is None:
        return ask_department(session, caller, request_id, reason=reason, now=now)
    if row.status != RequestStatus.ANSWERED.value or row.department_id is None:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: reopening needs status answered",
            extra={"status": row.status, "rule": "reopen needs status answered"},
        )
    if not reason or not reason.strip():
        raise Invalid.field("reason", "required", "say what is still not solved")
    start_clock(session, row, now, restart=True)
    _step(
        session,
        row,
        action="reopen",
        to_status=RequestStatus.ASSIGNED,
        now=now,
        actor=caller,
        department_id=row.department_id,
        note=reason.strip(),
    )
    return row


def ask_department(
    session: Session,
    caller: Principal,
    request_id: int,
    *,
    now: datetime,
    reason: str | None = None,
) -> Request:
    """After an answer from the knowledge base, the filer asks a department to answer: the
    request is routed as usual (or waits for a dispatcher when no department is left)."""
    row = get_request_row(session, request_id)
    _require_filer(session, caller, row)
    check_may_ask_department(row)
    _step(
        session,
        row,
        action="ask-department",
        to_status=RequestStatus.PENDING,
        now=now,
        actor=caller,
        note=(reason or "").strip() or None,
    )
    _forward(session, row, now=now)
    return row


def rate_request(
    session: Session,
    caller: Principal,
    request_id: int,
    *,
    score: int,
    now: datetime,
    note: str | None = None,
) -> Request:
    """满意度: the filer rates a closed request once, from 1 to 5."""
    row = get_request_row(session, request_id)
    _require_filer(session, caller, row)
    if row.status != RequestStatus.CLOSED.value:
        raise IllegalStatus(
            f"request {row.number} is {row.status}: rating needs status closed",
            extra={"status": row.status, "rule": "rate needs status closed"},
        )
    if row.rating is not None:
        raise IllegalStatus(f"request {row.number} is rated already", extra={"rule": "rate-once"})
    if not 1 <= score <= 5:
        raise Invalid.field("score", "range", f"should be 1 to 5, got {score}")
    row.rating = score
    row.rating_note = (note or "").strip()[:500] or None
    row.updated_at = now
    record_event(session, "requests.request.rate", {"request": row.number, "score": score}, now=now)
    return row


# --- dialogue ---------------------------------------------------------------------------------


class Side(StrEnum):
    """Who wrote a message: the filer, or the department working the request."""

    FILER = "filer"
    DEPARTMENT = "department"


def post_message(
    session: Session, caller: Principal, request_id: int, *, body: str, now: datetime
) -> RequestMessage:
    """A message on a request, from its filer or from the department it is routed to."""
    row = get_request_row(session, request_id)
    if _is_filer(caller, row, session):
        side = Side.FILER
    else:
        _require_holder(caller, row)
        side = Side.DEPARTMENT
    if not body or not body.strip():
        raise Invalid.field("body", "required", "write a message")
    if row.status == RequestStatus.CLOSED.value:
        raise IllegalStatus(f"request {row.number} is closed", extra={"status": row.status})
    message = RequestMessage(
        request_id=row.id,
        at=now,
        side=side.value,
        author_account_id=caller.account_id,
        department_id=row.department_id if side is Side.DEPARTMENT else None,
        body=body.strip(),
    )
    session.add(message)
    row.updated_at = now
    session.flush()
    inbox.notify(
        session,
        row,
        action="message",
        now=now,
        actor=caller,
        actor_is_filer=side is Side.FILER,
        note=message.body[:200],
        kind="message",
    )
    record_event(
        session,
        "requests.message.posted",
        {"request": row.number, "side": side.value, "department": row.department_id},
        now=now,
    )
    session.flush()
    return message


def list_messages(session: Session, caller: Principal, request_id: int) -> Sequence[RequestMessage]:
    """The dialogue on a request, oldest first, for those who may see the request."""
    row = get_request(session, caller, request_id)
    return session.scalars(
        select(RequestMessage)
        .where(RequestMessage.request_id == row.id)
        .order_by(RequestMessage.at, RequestMessage.id)
    ).all()


# --- following the case ---------------------------------------------------------------------


def follow_case(session: Session, topic: str, payload: dict[str, Any], *, now: datetime) -> int:
    """Keep requests in step with their operations case (a handler of ``ops.case.*``).

    A merge points the request at the case it was merged into; a closed or rejected case
    closes the request. Idempotent: events may come twice. Returns the requests changed.
    """
    number = str(payload.get("case") or "")
    if not number:
        return 0
    rows = session.scalars(select(Request).where(Request.case_number == number)).all()
    changed = 0
    for row in rows:
        if topic.endswith(".merge") and payload.get("into"):
            row.case_number = str(payload["into"])
            row.updated_at = now
            changed += 1
        elif payload.get("to") in city.CLOSED_CASE_STATES and row.status != "closed":
            _step(
                session,
                row,
                action="case-" + str(payload["to"]),
                to_status=RequestStatus.CLOSED,
                now=now,
                note=f"operations case {number} is {payload['to']}",
                case=number,
            )
            changed += 1
    return changed
