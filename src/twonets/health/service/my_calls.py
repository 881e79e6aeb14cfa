"""A reservist's own call-ups: see them and answer them (accept or refuse) from their login.

A reservist is a resident: their login is their ID number, and the reserve register links
the reservist to that resident (``Reservist.citizen_id``). The caller only ever sees the
calls of the reservist who is themself; the copy is recorded in the ledger as a
subject-access read, so it shows in their own access report like any other read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, NotFound
from twonets.governance import ledger
from twonets.governance.service import subject_access_entry
from twonets.health.models import (
    Assignment,
    AssignmentStatus,
    Mobilisation,
    MobilisationStatus,
    Reservist,
)
from twonets.health.service.common import RESERVIST_DATASET
from twonets.health.service.mobilisations import respond

# What a call-up can be, as its reservist sees it.
PENDING = "pending"  # notified, the mobilisation still open: waiting for an answer
WITHDRAWN = "withdrawn"  # never answered, and the mobilisation was stood down
MY_CALLS_LIMIT = 100


def _own_reservist(session: Session, principal: Principal) -> int | None:
    """The reservist id of the resident calling, if they are in the reserve."""
    if principal.citizen_id is None:
        raise Forbidden("only a resident answers their own call-ups; log in with your ID number")
    return session.scalar(select(Reservist.id).where(Reservist.citizen_id == principal.citizen_id))


def _state(status: str, mobilisation_status: str) -> str:
    if status == AssignmentStatus.NOTIFIED:
        return PENDING if mobilisation_status == MobilisationStatus.OPEN else WITHDRAWN
    return status


def _call_json(assignment: Assignment, mobilisation: Mobilisation) -> dict[str, Any]:
    where = next(
        ((d["lon"], d["lat"]) for d in mobilisation.demand if d["centre"] == assignment.centre),
        (None, None),
    )
    state = _state(assignment.status, mobilisation.status)
    return {
        "id": assignment.id,
        "mobilisation_id": mobilisation.id,
        "mobilisation": mobilisation.name,
        "mobilisation_status": mobilisation.status,
        "centre": assignment.centre,
        "lon": where[0],
        "lat": where[1],
        "specialty": assignment.specialty,
        "distance_km": assignment.distance_km,
        "round": assignment.round,
        "status": state,
        "answerable": state == PENDING,
        "notified_at": assignment.notified_at.isoformat(),
        "responded_at": assignment.responded_at.isoformat() if assignment.responded_at else None,
    }


def my_calls(session: Session, principal: Principal, *, now: datetime) -> dict[str, Any]:
    """The call-ups of the reservist who is the caller, newest first.

    Returns ``{"in_reserve": bool, "calls": [...]}``; each call names the mobilisation, the
    centre (with its place), the specialty, when it was sent and its state: ``pending``,
    ``accepted``, ``refused`` or ``withdrawn`` (the mobilisation closed before an answer).
    """
    reservist_id = _own_reservist(session, principal)
    if reservist_id is None:
        return {"in_reserve": False, "calls": []}
    rows = session.execute(
        select(Assignment, Mobilisation)
        .join(Mobilisation, Mobilisation.id == Assignment.mobilisation_id)
        .where(Assignment.reservist_id == reservist_id)
        .order_by(Assignment.notified_at.desc(), Assignment.id.desc())
        .limit(MY_CALLS_LIMIT)
    ).all()  # governance: the caller's own call-ups; recorded below as a subject-access read
    calls = [_call_json(a, m) for a, m in rows]
    if calls and principal.citizen_id is not None:
        ledger.record_reads(
            session,
            [
                subject_access_entry(
                    principal,
                    subject_kind="citizen",
                    subject_id=principal.citizen_id,
                    dataset=RESERVIST_DATASET,
                    fields=["specialty"],
                    now=now,
                    request_id=f"health-calls-{now.timestamp():.0f}-{principal.citizen_id}",
                )
            ],
        )
    return {"in_reserve": True, "calls": calls}


def answer_my_call(
    session: Session, principal: Principal, *, call_id: int, accept: bool, now: datetime
) -> dict[str, Any]:
    """Accept or refuse one of the caller's own call-ups; returns the call as it now stands.

    Only the reservist called answers here (a planner taking an answer by phone uses
    ``respond``). A call answered already, or withdrawn with its mobilisation, is a
    ``Conflict`` naming its state; a refusal frees the post for the next re-plan, which
    never calls a refuser again.
    """
    reservist_id = _own_reservist(session, principal)
    assignment = session.get(Assignment, call_id)
    if assignment is None:
        raise NotFound(f"call-up {call_id} does not exist")
    if reservist_id is None or assignment.reservist_id != reservist_id:
        raise Forbidden("this call-up is not yours: only the reservist called answers it")
    mobilisation = session.get(Mobilisation, assignment.mobilisation_id)
    assert mobilisation is not None  # a foreign key
    state = _state(assignment.status, mobilisation.status)
    if state == WITHDRAWN:
        raise Conflict(
            f"call-up {call_id} was withdrawn: the mobilisation {mobilisation.name!r} is closed",
            extra={"state": state},
        )
    if state != PENDING:
        when = assignment.responded_at.date().isoformat() if assignment.responded_at else ""
        raise Conflict(
            f"call-up {call_id} was already answered: {state}" + (f" on {when}" if when else ""),
            extra={"state": state},
        )
    answered = respond(session, principal, assignment_id=call_id, accept=accept, now=now)
    return _call_json(answered, mobilisation)


def pending_call_count(session: Session, principal: Principal) -> int | None:
    """How many of the caller's call-ups wait for an answer; None if they are not a reservist.

    A resident's start page asks this to show "My call-ups" only to reservists. It reads no
    personal field (a count of the caller's own open calls), so it is not a ledger read.
    """
    if principal.citizen_id is None:
        return None
    reservist_id = _own_reservist(session, principal)
    if reservist_id is None:
        return None
    waiting = session.scalar(
        select(func.count())
        .select_from(Assignment)
        .join(Mobilisation, Mobilisation.id == Assignment.mobilisation_id)
        .where(
            Assignment.reservist_id == reservist_id,
            Assignment.status == AssignmentStatus.NOTIFIED,
            Mobilisation.status == MobilisationStatus.OPEN,
        )
    )
    return int(waiting or 0)
