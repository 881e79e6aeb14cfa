"""Holders: their records, and revocations of their codes by a scenario's authority.

A holder's codes are revoked per scenario by that scenario's codes authority (see
``twonets.codes.authority``), each revocation and restoration kept in ``code_revocation``
with its reason, who decided and when. A revocation for the identity scenario withholds
every code of the holder: every code vouches for who shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes import token
from twonets.codes.authority import require_authority
from twonets.codes.context import Coding
from twonets.codes.models import CodeHolder, Revocation, Scenario
from twonets.codes.scenarios import IDENTITY, HolderKind
from twonets.codes.service.scenarios import get_scenario
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.models import Citizen, Department, Enterprise

MAX_REASON_CHARS = 500


def holder_of(principal: Principal) -> tuple[str, int]:
    """The kind and id of the holder a principal is (residents and enterprises only)."""
    if principal.citizen_id is not None:
        return HolderKind.CITIZEN.value, principal.citizen_id
    if principal.enterprise_id is not None:
        return HolderKind.ENTERPRISE.value, principal.enterprise_id
    raise Forbidden("only residents and enterprises hold codes")


def ensure_holder(
    session: Session, ctx: Coding, *, kind: str, holder_id: int, now: datetime
) -> CodeHolder:
    """The holder record of a resident or enterprise, made on first use."""
    column = CodeHolder.citizen_id if kind == HolderKind.CITIZEN else CodeHolder.enterprise_id
    holder = session.scalar(select(CodeHolder).where(column == holder_id))  # governance: own
    if holder is not None:
        return holder
    raw = token.holder_token(ctx.token_secret(), region=ctx.region, kind=kind, holder_id=holder_id)
    holder = CodeHolder(
        token=token.token_text(raw),
        region_code=ctx.region,
        citizen_id=holder_id if kind == HolderKind.CITIZEN else None,
        enterprise_id=holder_id if kind == HolderKind.ENTERPRISE else None,
        created_at=now,
    )
    session.add(holder)
    session.flush()
    return holder


# --- revocations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevocationView:
    """A revocation as its holder and the authority read it (no staff account names)."""

    scenario: str
    scenario_name: str
    every_code: bool
    reason: str
    revoked_at: datetime
    department: str
    restored_at: datetime | None = None
    restore_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The revocation as JSON."""
        return {
            "scenario": self.scenario,
            "scenario_name": self.scenario_name,
            "every_code": self.every_code,
            "reason": self.reason,
            "revoked_at": self.revoked_at.isoformat(),
            "department": self.department,
            "restored_at": self.restored_at.isoformat() if self.restored_at else None,
            "restore_reason": self.restore_reason,
        }


def revocations_in_force(
    session: Session, holder_id: int, scenarios: Sequence[str]
) -> list[Revocation]:
    """The holder's revocations for these scenarios that are not restored, oldest first."""
    return list(
        session.scalars(
            select(Revocation)
            .where(
                Revocation.holder_id == holder_id,
                Revocation.restored_at.is_(None),
                Revocation.scenario_code.in_(list(scenarios)),
            )
            .order_by(Revocation.revoked_at)
        )
    )  # governance: the holder's own revocations, for the holder or the deciding authority


def revocation_views(session: Session, rows: Sequence[Revocation]) -> list[RevocationView]:
    """Revocations as the holder and the authority read them (department and scenario names)."""
    codes = {r.revoked_department for r in rows}
    names = dict(
        session.execute(
            select(Department.code, Department.name_en).where(Department.code.in_(codes))
        ).all()
    )
    scenarios = dict(session.execute(select(Scenario.code, Scenario.name_en)).all())
    return [
        RevocationView(
            scenario=r.scenario_code,
            scenario_name=scenarios.get(r.scenario_code, r.scenario_code),
            every_code=r.scenario_code == IDENTITY,
            reason=r.reason,
            revoked_at=r.revoked_at,
            department=names.get(r.revoked_department, "the issuing region"),
            restored_at=r.restored_at,
            restore_reason=r.restore_reason,
        )
        for r in rows
    ]


class CodeWithheld(Conflict):
    """The holder's code for this scenario is revoked: no code is signed, the reason is shown."""

    def __init__(self, revocation: RevocationView) -> None:
        what = (
            "all your codes are"
            if revocation.every_code
            else f"your {revocation.scenario_name} code is"
        )
        super().__init__(
            f"{what} withdrawn by {revocation.department}: {revocation.reason}",
            extra={"revocation": revocation.to_json()},
        )
        self.revocation = revocation


def my_revocations(session: Session, principal: Principal) -> list[RevocationView]:
    """The revocations of the caller's codes in force now, with their reasons."""
    kind, holder_id = holder_of(principal)
    column = CodeHolder.citizen_id if kind == HolderKind.CITIZEN else CodeHolder.enterprise_id
    holder = session.scalar(select(CodeHolder.id).where(column == holder_id))
    if holder is None:
        return []
    rows = session.scalars(
        select(Revocation)
        .where(Revocation.holder_id == holder, Revocation.restored_at.is_(None))
        .order_by(Revocation.revoked_at)
    ).all()  # governance: the caller's own revocations and their reasons
    return revocation_views(session, rows)


def _find_holder(
    session: Session, *, id_number: str | None, credit_code: str | None
) -> tuple[str, int]:
    if bool(id_number) == bool(credit_code):
        raise Invalid.field("id_number", "one-of", "give either id_number or credit_code")
    if id_number:
        found = session.scalar(select(Citizen.id).where(Citizen.id_number == id_number))
        if found is None:
            raise NotFound("no resident with this ID number")
        return HolderKind.CITIZEN.value, found
    found = session.scalar(select(Enterprise.id).where(Enterprise.credit_code == credit_code))
    if found is None:
        raise NotFound("no enterprise with this credit code")
    return HolderKind.ENTERPRISE.value, found


def set_holder_status(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    scenario: str,
    id_number: str | None = None,
    credit_code: str | None = None,
    revoke: bool,
    reason: str,
    now: datetime,
) -> RevocationView:
    """Revoke a holder's codes for one scenario (at once, online) or restore them.

    Only the scenario's codes authority in the holder's region decides; a revocation for the
    identity scenario withholds every code. Each change is kept with its reason, the deciding
    account and department, and the time.
    """
    rule = get_scenario(session, scenario)
    # Who may decide comes before anything about the holder: others learn nothing.
    require_authority(
        principal,
        authority=rule.authority,
        scenario_name=rule.name_en,
        region=principal.region_code or "",
    )
    text = reason.strip()
    if not text:
        raise Invalid.field("reason", "required", "say why (the holder reads it)")
    if len(text) > MAX_REASON_CHARS:
        raise Invalid.field(
            "reason", "max-length", f"should be at most {MAX_REASON_CHARS} characters"
        )
    kind, holder_id = _find_holder(session, id_number=id_number, credit_code=credit_code)
    holder = ensure_holder(session, ctx, kind=kind, holder_id=holder_id, now=now)
    require_authority(
        principal, authority=rule.authority, scenario_name=rule.name_en, region=holder.region_code
    )
    assert principal.department_code is not None  # a codes authority belongs to a department
    current = revocations_in_force(session, holder.id, [scenario])
    if revoke:
        if current:
            raise Conflict(
                f"this holder's {rule.name_en} code is already revoked since "
                f"{current[0].revoked_at:%Y-%m-%d %H:%M} UTC: {current[0].reason}"
            )
        row = Revocation(
            holder_id=holder.id,
            citizen_id=holder.citizen_id,
            scenario_code=scenario,
            reason=text,
            revoked_by=principal.username,
            revoked_department=principal.department_code,
            revoked_at=now,
        )
        session.add(row)
    else:
        if not current:
            raise Conflict(f"this holder's {rule.name_en} code is not revoked")
        row = current[0]
        row.restored_at = now
        row.restored_by = principal.username
        row.restored_department = principal.department_code
        row.restore_reason = text
    session.flush()
    record_event(
        session,
        "codes.holder.revoked" if revoke else "codes.holder.restored",
        {"holder": holder.id, "scenario": scenario, "actor": principal.username},
        now=now,
    )
    return revocation_views(session, [row])[0]
