"""The health status: facts from health departments, the colour they give, and appeals.

The colour is an automated decision (PIPL Art. 24): the holder sees why (the rules in
``health_rules``), may appeal, and the codes authority of the health scenario decides (see
``twonets.codes.authority``); the decision is recorded, and an upheld appeal sets the colour
from the holder's next code on. Health staff report the facts the colour comes from.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes import health_rules
from twonets.codes.authority import is_authority, require_authority
from twonets.codes.context import Coding
from twonets.codes.models import AppealStatus, HealthAppeal, HealthInput, Scenario
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Citizen, Role
from twonets.governance.sealing import Keyring
from twonets.governance.service import ReadQuery, read

APPEAL_DATASET = "codes.health_appeal"
INPUT_DATASET = "codes.health_input"
APPEAL_PURPOSE = "codes.health-appeal"
HEALTH_FUNCTION = "health"


def _require_health_staff(principal: Principal) -> None:
    # Membership, not Principal.require: no other role (administrator included) stands in.
    if Role.STAFF not in principal.roles or principal.department_function != HEALTH_FUNCTION:
        raise Forbidden("only staff of a health department may do this")


def _require_appeal_authority(session: Session, ctx: Coding, principal: Principal) -> None:
    """Appeals are decided by the codes authority of a health scenario, in this region.

    The colour is computed here, from facts this region's health departments report, so the
    authority of this platform's region decides, whichever region signs the holder's codes.
    """
    rules = session.execute(
        select(Scenario.authority, Scenario.name_en)
        .where(Scenario.health.is_(True))
        .order_by(Scenario.code)
    ).all()
    if not rules:
        raise Forbidden("no scenario carries a health status, so no one decides appeals")
    if any(is_authority(principal, authority=a, region=ctx.region) for a, _ in rules):
        return
    authority, name = rules[0]
    require_authority(principal, authority=authority, scenario_name=name, region=ctx.region)
    raise Forbidden(f"only the codes authority of {name} codes decides appeals")


def record_health_fact(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    id_number: str,
    kind: str,
    value: str,
    observed_at: datetime,
    now: datetime,
) -> HealthInput:
    """A health department reports a test result, a contact flag or travel of a resident."""
    _require_health_staff(principal)
    problem = health_rules.check_fact(kind, value.strip())
    if problem is not None:
        raise Invalid.field("kind" if "kind should" in problem else "value", "choice", problem)
    if observed_at > now + timedelta(minutes=5):
        raise Invalid.field("observed_at", "not-future", "should not be in the future")
    if principal.department_code is None:
        raise Forbidden("the reporting account belongs to no department")
    citizen = session.scalar(select(Citizen.id).where(Citizen.id_number == id_number))
    if citizen is None:
        raise NotFound("no resident with this ID number")
    keyring = ctx.keyring(session, now)
    fact = HealthInput(
        citizen_id=citizen,
        kind=keyring.seal(INPUT_DATASET, "kind", kind),
        value=keyring.seal(INPUT_DATASET, "value", value.strip()),
        observed_at=observed_at,
        source_department_code=principal.department_code,
        recorded_at=now,
    )
    session.add(fact)
    session.flush()
    record_event(session, "codes.health.reported", {"input": fact.id}, now=now)
    return fact


def _facts(
    session: Session, ctx: Coding, citizen_id: int, now: datetime
) -> list[health_rules.Fact]:
    keyring = ctx.keyring(session, now)
    since = now - timedelta(days=30)
    rows = session.execute(
        select(HealthInput.kind, HealthInput.value, HealthInput.observed_at).where(
            HealthInput.citizen_id == citizen_id, HealthInput.observed_at >= since
        )
    ).all()  # governance: the holder's own facts, to compute the holder's own status
    return [
        health_rules.Fact(
            health_rules.FactKind(keyring.unseal(INPUT_DATASET, "kind", row.kind)),
            keyring.unseal(INPUT_DATASET, "value", row.value),
            row.observed_at,
        )
        for row in rows
    ]


def _decision(session: Session, ctx: Coding, citizen_id: int, now: datetime) -> Any:
    upheld = session.execute(
        select(HealthAppeal.decided_colour, HealthAppeal.decided_at, HealthAppeal.decision)
        .where(
            HealthAppeal.citizen_id == citizen_id,
            HealthAppeal.status == AppealStatus.UPHELD,
        )
        .order_by(HealthAppeal.decided_at.desc())
        .limit(1)
    ).first()  # governance: the holder's own appeal decision, for the holder's own status
    if upheld is None or upheld.decided_at is None or upheld[0] is None:
        return None
    keyring = ctx.keyring(session, now)
    return health_rules.Decision(
        health_rules.Colour(keyring.unseal(APPEAL_DATASET, "decided_colour", upheld[0])),
        upheld.decided_at,
        keyring.unseal(APPEAL_DATASET, "decision", upheld.decision or ""),
    )


def health_status(
    session: Session, ctx: Coding, *, citizen_id: int, now: datetime
) -> health_rules.Assessment:
    """A resident's colour now and why (from reported facts and any upheld appeal)."""
    return health_rules.assess(
        _facts(session, ctx, citizen_id, now),
        now=now,
        decision=_decision(session, ctx, citizen_id, now),
    )


def my_health(
    session: Session, ctx: Coding, principal: Principal, *, now: datetime
) -> dict[str, Any]:
    """The caller's health status, its explanation, and their appeals."""
    if principal.citizen_id is None:
        raise Forbidden("only residents have a health status")
    assessment = health_status(session, ctx, citizen_id=principal.citizen_id, now=now)
    keyring = ctx.keyring(session, now)
    appeals = session.scalars(
        select(HealthAppeal)
        .where(HealthAppeal.citizen_id == principal.citizen_id)
        .order_by(HealthAppeal.filed_at.desc())
    ).all()  # governance: the caller's own appeals
    return {
        "colour": assessment.colour.value,
        "reasons": list(assessment.reasons),
        "automated": True,
        "appeals": [_appeal_json(a, keyring) for a in appeals],
    }


def _appeal_json(appeal: HealthAppeal, keyring: Keyring) -> dict[str, Any]:
    def opened(name: str, value: str | None) -> str | None:
        return keyring.unseal(APPEAL_DATASET, name, value) if value else None

    return {
        "id": appeal.id,
        "filed_at": appeal.filed_at.isoformat(),
        "colour_at_filing": opened("colour_at_filing", appeal.colour_at_filing),
        "reasons_at_filing": json.loads(
            opened("reasons_at_filing", appeal.reasons_at_filing) or "[]"
        ),
        "statement": opened("statement", appeal.statement),
        "status": str(appeal.status),
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
        "decided_colour": opened("decided_colour", appeal.decided_colour),
        "decision": opened("decision", appeal.decision),
    }


def file_appeal(
    session: Session, ctx: Coding, principal: Principal, *, statement: str, now: datetime
) -> HealthAppeal:
    """The caller contests their automated health status (PIPL Art. 24); the authority decides."""
    if principal.citizen_id is None:
        raise Forbidden("only residents have a health status to appeal")
    text = statement.strip()
    if len(text) < 10:
        raise Invalid.field("statement", "min-length", "say in at least 10 characters why")
    if len(text) > 2000:
        raise Invalid.field("statement", "max-length", "should be at most 2000 characters")
    pending = session.scalar(
        select(HealthAppeal.id).where(
            HealthAppeal.citizen_id == principal.citizen_id,
            HealthAppeal.status == AppealStatus.PENDING,
        )
    )
    if pending is not None:
        raise Conflict(f"appeal {pending} is still pending: it is decided first")
    assessment = health_status(session, ctx, citizen_id=principal.citizen_id, now=now)
    keyring = ctx.keyring(session, now)
    appeal = HealthAppeal(
        citizen_id=principal.citizen_id,
        filed_at=now,
        colour_at_filing=keyring.seal(APPEAL_DATASET, "colour_at_filing", assessment.colour),
        reasons_at_filing=keyring.seal(
            APPEAL_DATASET, "reasons_at_filing", json.dumps(list(assessment.reasons))
        ),
        statement=keyring.seal(APPEAL_DATASET, "statement", text),
        status=AppealStatus.PENDING,
    )
    session.add(appeal)
    session.flush()
    record_event(session, "codes.appeal.filed", {"appeal": appeal.id}, now=now)
    return appeal


def list_appeals(
    session: Session, ctx: Coding, principal: Principal, *, status: str, now: datetime
) -> list[dict[str, Any]]:
    """Appeals for their deciders, read through governance (purpose ``codes.health-appeal``)."""
    _require_appeal_authority(session, ctx, principal)
    if status not in {s.value for s in AppealStatus}:
        raise Invalid.field("status", "choice", "pending, upheld or rejected")
    result = read(
        session,
        ctx.gov,
        principal,
        purpose=APPEAL_PURPOSE,
        dataset=APPEAL_DATASET,
        query=ReadQuery(where={"status": status}, limit=200),
        now=now,
    )
    rows = sorted(result.rows, key=lambda r: str(r.get("filed_at")))
    for row in rows:
        if isinstance(row.get("reasons_at_filing"), str):
            with contextlib.suppress(ValueError):
                row["reasons_at_filing"] = json.loads(row["reasons_at_filing"])
    return rows


def decide_appeal(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    appeal_id: int,
    uphold: bool,
    colour: str | None,
    reason: str,
    now: datetime,
) -> HealthAppeal:
    """The health codes authority decides an appeal; an upheld one sets the next code's colour."""
    _require_appeal_authority(session, ctx, principal)
    problems = ProblemList()
    if not reason.strip():
        problems.add("reason", "required", "the holder reads the reason: give one")
    decided: health_rules.Colour | None = None
    if uphold:
        try:
            decided = health_rules.Colour(colour or "")
        except ValueError:
            problems.add("colour", "choice", "an upheld appeal sets green, yellow or red")
    problems.raise_if_any()
    appeal = session.get(HealthAppeal, appeal_id)  # governance: the decision writes, reads none
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} does not exist")
    if appeal.status != AppealStatus.PENDING:
        raise Conflict(f"appeal {appeal_id} was already decided ({appeal.status})")
    keyring = ctx.keyring(session, now)
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
    appeal.decided_by = principal.username
    appeal.decided_at = now
    appeal.decided_colour = (
        keyring.seal(APPEAL_DATASET, "decided_colour", decided.value) if decided else None
    )
    appeal.decision = keyring.seal(APPEAL_DATASET, "decision", reason.strip())
    session.flush()
    record_event(
        session,
        "codes.appeal.decided",
        {"appeal": appeal.id, "upheld": uphold, "by": principal.username},
        now=now,
    )
    return appeal
