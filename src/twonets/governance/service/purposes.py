"""Purposes: why the city may process personal data, with their legal basis and retention."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import (
    Conflict,
    Invalid,
    NotFound,
    ProblemList,
)
from twonets.core.events import record_event
from twonets.core.models import Department
from twonets.governance.models import (
    GovernanceChange,
    Purpose,
    PurposeStatus,
)
from twonets.governance.models import (
    GranteeKind as GranteeKind,  # re-exported: domains set policies with it
)
from twonets.governance.models import (
    LegalBasis as LegalBasis,  # re-exported: domains define purposes with it
)
from twonets.governance.service.context import (
    PURPOSE_CODE_MAX,
    PURPOSE_CODE_PATTERN,
    PURPOSE_NAME_MAX,
    REASON_MAX,
    RETENTION_MAX_DAYS,
    PurposeState,
)

# --- purposes ---------------------------------------------------------------------------------


def purpose_state(purpose: Purpose, now: datetime) -> PurposeState:
    """Whether ``purpose`` grants anything at ``now``."""
    if purpose.status == PurposeStatus.SUSPENDED:
        return PurposeState.SUSPENDED
    if now < purpose.valid_from:
        return PurposeState.NOT_YET_VALID
    if purpose.valid_until is not None and now >= purpose.valid_until:
        return PurposeState.EXPIRED
    return PurposeState.ACTIVE


def _purpose_json(p: Purpose) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "legal_basis": str(p.legal_basis),
        "owner_department_code": p.owner_department_code,
        "valid_from": p.valid_from.isoformat(),
        "valid_until": p.valid_until.isoformat() if p.valid_until else None,
        "retention_days": p.retention_days,
        "status": str(p.status),
    }


def log_change(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
    now: datetime,
) -> None:
    """Record a governance change in ``gov_change`` (and announce it as an event)."""
    session.add(
        GovernanceChange(
            at=now,
            actor=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            reason=reason,
        )
    )
    record_event(session, f"governance.{action}", {"target": target}, now=now)


def _check_reason(reason: str, *, what: str) -> None:
    """A reason is required for every change, and kept short enough to read."""
    if not reason.strip():
        raise Invalid.field("reason", "required", f"say why {what}")
    if len(reason) > REASON_MAX:
        raise Invalid.field("reason", "length", f"should be {REASON_MAX} characters at most")


def check_purpose_fields(
    session: Session,
    *,
    code: str,
    name: str,
    legal_basis: LegalBasis | str,
    owner_department_code: str,
    valid_from: datetime,
    valid_until: datetime | None,
    retention_days: int,
) -> ProblemList:
    """Every rule a new purpose must meet, each broken one recorded (none raised yet)."""
    problems = ProblemList()
    if len(code) > PURPOSE_CODE_MAX or not re.fullmatch(PURPOSE_CODE_PATTERN, code):
        problems.add(
            "code",
            "pattern",
            "use lower-case words joined by dots, such as housing.group-rental "
            f"({PURPOSE_CODE_MAX} characters at most)",
        )
    if not name.strip() or len(name) > PURPOSE_NAME_MAX:
        problems.add("name", "length", f"give a name of 1 to {PURPOSE_NAME_MAX} characters")
    if legal_basis not in set(LegalBasis):
        bases = ", ".join(b.value for b in LegalBasis)
        problems.add("legal_basis", "known", f"choose a legal basis of PIPL Art. 13 ({bases})")
    if valid_until is not None and valid_until <= valid_from:
        problems.add(
            "valid_until", "after-valid-from", "should be after the day the purpose starts"
        )
    if isinstance(retention_days, bool) or not 0 <= retention_days <= RETENTION_MAX_DAYS:
        problems.add(
            "retention_days",
            "range",
            f"should be a whole number of days from 0 to {RETENTION_MAX_DAYS}",
        )
    if (
        session.scalar(select(Department.id).where(Department.code == owner_department_code))
        is None
    ):
        problems.add("owner_department_code", "exists", f"no department {owner_department_code!r}")
    return problems


def create_purpose(
    session: Session,
    *,
    actor: str,
    code: str,
    name: str,
    legal_basis: LegalBasis | str,
    owner_department_code: str,
    valid_from: datetime,
    valid_until: datetime | None,
    retention_days: int,
    description: str = "",
    now: datetime,
) -> Purpose:
    """Declare a purpose: its code, name, legal basis, owner, window and retention are checked."""
    check_purpose_fields(
        session,
        code=code,
        name=name,
        legal_basis=legal_basis,
        owner_department_code=owner_department_code,
        valid_from=valid_from,
        valid_until=valid_until,
        retention_days=retention_days,
    ).raise_if_any()
    if session.get(Purpose, code) is not None:
        raise Conflict(f"purpose {code!r} already exists")
    purpose = Purpose(
        code=code,
        name=name.strip(),
        description=description,
        legal_basis=LegalBasis(legal_basis),
        owner_department_code=owner_department_code,
        valid_from=valid_from,
        valid_until=valid_until,
        retention_days=retention_days,
        status=PurposeStatus.ACTIVE,
        created_at=now,
        updated_at=now,
    )
    session.add(purpose)
    session.flush()
    log_change(
        session,
        actor=actor,
        action="purpose.created",
        target=code,
        before=None,
        after=_purpose_json(purpose),
        reason="",
        now=now,
    )
    return purpose


def get_purpose(session: Session, code: str) -> Purpose:
    """One purpose by code."""
    purpose = session.get(Purpose, code)
    if purpose is None:
        raise NotFound(f"purpose {code!r} does not exist")
    return purpose


def list_purposes(session: Session) -> Sequence[Purpose]:
    """Every purpose, by code."""
    return session.scalars(select(Purpose).order_by(Purpose.code)).all()


def change_purpose(
    session: Session,
    *,
    actor: str,
    code: str,
    status: PurposeStatus | None = None,
    valid_until: datetime | None = None,
    end_now: bool = False,
    reason: str,
    now: datetime,
) -> Purpose:
    """Suspend, resume or end a purpose (ending sets its validity to stop at ``now``)."""
    _check_reason(reason, what="the purpose changes")
    if status is not None and status not in set(PurposeStatus):
        raise Invalid.field("status", "known", "should be active or suspended")
    purpose = get_purpose(session, code)
    before = _purpose_json(purpose)
    if status is not None:
        purpose.status = PurposeStatus(status)
    if end_now:
        purpose.valid_until = now
    elif valid_until is not None:
        if valid_until <= purpose.valid_from:
            raise Invalid.field(
                "valid_until", "after-valid-from", "should be after the day the purpose starts"
            )
        purpose.valid_until = valid_until
    purpose.updated_at = now
    session.flush()
    log_change(
        session,
        actor=actor,
        action="purpose.changed",
        target=code,
        before=before,
        after=_purpose_json(purpose),
        reason=reason,
        now=now,
    )
    return purpose
