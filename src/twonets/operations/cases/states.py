"""The states of a case and the lookups every part of the loop shares."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import NotFound
from twonets.operations.cases.models import Case


class CaseState(StrEnum):
    """Where a case is in its loop."""

    REPORTED = "reported"  # taken in, awaiting filing
    FILED = "filed"  # 立案: accepted as a case, awaiting dispatch
    DISPATCHED = "dispatched"  # 派遣: sent to a department, clock running
    HANDLING = "handling"  # a handler took it on
    HANDLED = "handled"  # 反馈: the handler reported it solved, awaiting verification
    VERIFIED = "verified"  # 核查: someone else confirmed on site
    CLOSED = "closed"  # 结案
    MERGED = "merged"  # a duplicate of an open case, counted there
    REJECTED = "rejected"  # 不予立案: not a case for the city


OPEN_STATES = frozenset(
    {
        CaseState.REPORTED,
        CaseState.FILED,
        CaseState.DISPATCHED,
        CaseState.HANDLING,
        CaseState.HANDLED,
        CaseState.VERIFIED,
    }
)
CLOCK_STATES = frozenset({CaseState.DISPATCHED, CaseState.HANDLING})
# States a filed case has left behind: filing, rejection and merging decide whether it counts.
COUNTED_STATES = frozenset(
    set(CaseState) - {CaseState.REPORTED, CaseState.MERGED, CaseState.REJECTED}
)


def get_case(session: Session, case_id: int) -> Case:
    """One case by its id."""
    row = session.get(Case, case_id)
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def get_case_by_number(session: Session, number: str) -> Case:
    """One case by its number."""
    row = session.scalar(select(Case).where(Case.number == number.strip()))
    if row is None:
        raise NotFound(f"no case {number!r}")
    return row


def is_overdue(row: Case, now: datetime) -> bool:
    """Whether the case is being handled past its time limit."""
    return row.state in CLOCK_STATES and row.deadline_at is not None and row.deadline_at < now
