"""What every step of a case shares: the transitions, the step writer, the rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden
from twonets.core.events import record_event
from twonets.core.models import Region, Role
from twonets.operations.cases.models import (
    Case,
    CaseStep,
)
from twonets.operations.cases.schemas import IntakeReport as IntakeReport  # for other domains
from twonets.operations.cases.schemas import SourceKind as SourceKind  # for other domains
from twonets.operations.cases.states import (
    CaseState,
)

# action -> states it may start from
TRANSITIONS: dict[str, frozenset[CaseState]] = {
    "file": frozenset({CaseState.REPORTED}),
    "reject": frozenset({CaseState.REPORTED}),
    "dispatch": frozenset({CaseState.FILED}),
    "accept": frozenset({CaseState.DISPATCHED}),
    "feedback": frozenset({CaseState.DISPATCHED, CaseState.HANDLING}),
    "verify": frozenset({CaseState.HANDLED}),
    "close": frozenset({CaseState.VERIFIED}),
    "evaluate": frozenset({CaseState.CLOSED}),
}

# Reports may be a little ahead of the server's clock (a device's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Rules:
    """Tunable rules of the centre: the duplicate check's radius and window."""

    duplicate_radius_m: float = 50.0
    duplicate_hours: float = 24.0


DEFAULT_RULES = Rules()


class IllegalTransition(Conflict):
    """The case is not in a state the action may start from."""

    slug = "illegal-transition"
    title = "Illegal case transition"


# --- intake --------------------------------------------------------------------------------


def _step(
    session: Session,
    case_row: Case,
    *,
    action: str,
    to_state: CaseState,
    now: datetime,
    actor: Principal | None = None,
    note: str | None = None,
    from_state: str | None = None,
    **details: Any,
) -> None:
    previous = case_row.state if from_state is None else from_state
    session.add(
        CaseStep(
            case_id=case_row.id,
            at=now,
            action=action,
            from_state=previous,
            to_state=to_state.value,
            actor_account_id=actor.account_id if actor else None,
            actor_name=actor.display_name if actor else None,
            note=note,
            details=details,
        )
    )
    case_row.state = to_state.value
    case_row.updated_at = now
    record_event(
        session,
        f"ops.case.{action.replace('_', '-')}",
        {
            "case": case_row.number,
            "category": case_row.category_code,
            "district": case_row.district_code,
            "from": previous,
            "to": to_state.value,
            **details,
        },
        now=now,
    )


def _check(case_row: Case, action: str) -> None:
    allowed = TRANSITIONS[action]
    if CaseState(case_row.state) not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(
            f"case {case_row.number} is {case_row.state}: '{action}' needs state {names}",
            extra={
                "state": case_row.state,
                "action": action,
                "rule": f"{action} needs state {names}",
                "allowed_from": sorted(s.value for s in allowed),
            },
        )


def _region_of(session: Session, caller: Principal) -> str | None:
    """The caller's region (the home region's for an account without a department)."""
    return caller.region_code or session.scalar(select(Region.code).where(Region.home.is_(True)))


def _require_handler(caller: Principal, row: Case) -> None:
    caller.require(Role.FIELD)
    if caller.department_id is None or caller.department_id != row.department_id:
        raise Forbidden(
            f"case {row.number} is a task of another department",
            extra={"rule": "own-department-task"},
        )
