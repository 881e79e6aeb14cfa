"""Scenarios: the defaults, an administrator's changes, and the scenario a holder sees first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes.context import Coding
from twonets.codes.models import Scenario
from twonets.codes.scenarios import ANY_RESIDENT, DEFAULTS, DISCLOSABLE, HolderKind
from twonets.core.auth import Principal
from twonets.core.errors import Forbidden, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Citizen, Department, Enterprise, Role
from twonets.governance.service import get_purpose as _get_purpose

# The scenario a holder sees first when opening their code, in order of preference: the
# first one in use that the holder may hold. Residents: the health status while it is in
# use (the code most often asked for), else what fits their age; enterprises: identity.
_FIRST_FOR_MINORS = ("health", "education", "library", "identity")
_FIRST_FOR_ADULTS = ("health", "identity", "library", "sports")
_FIRST_FOR_ELDERS = ("health", "elderly-care", "identity", "library")
_FIRST_FOR_ENTERPRISES = ("identity", "resume")


def ensure_scenarios(session: Session, *, now: datetime) -> int:
    """Write the default scenarios that are missing; returns how many were added."""
    have = set(session.scalars(select(Scenario.code)))
    added = 0
    for default in DEFAULTS:
        if default.code in have:
            continue
        session.add(
            Scenario(
                code=default.code,
                name=default.name,
                name_en=default.name_en,
                holder_kinds=[str(k) for k in default.holder_kinds],
                disclosed=list(default.disclosed),
                verifiers=list(default.verifiers),
                purpose_code=default.purpose_code,
                retention_days=default.retention_days,
                authority=default.authority,
                health=default.health,
                active=True,
                updated_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def list_scenarios(session: Session) -> Sequence[Scenario]:
    """Every scenario, by code."""
    return session.scalars(select(Scenario).order_by(Scenario.code)).all()


def get_scenario(session: Session, code: str) -> Scenario:
    """One scenario by code."""
    found = session.get(Scenario, code)
    if found is None:
        known = ", ".join(s.code for s in list_scenarios(session)) or "none"
        raise NotFound(f"scenario {code!r} does not exist; known: {known}")
    return found


def put_scenario(
    session: Session,
    ctx: Coding,
    *,
    actor: str,
    code: str,
    name: str,
    name_en: str,
    holder_kinds: Sequence[str],
    disclosed: Sequence[str],
    verifiers: Sequence[str],
    purpose_code: str,
    retention_days: int,
    authority: str,
    health: bool,
    active: bool,
    now: datetime,
) -> Scenario:
    """Create or change a scenario (administrators); every field is checked before writing."""
    problems = ProblemList()
    if not code or len(code) > 32 or not all(c.isalnum() or c in "-_" for c in code):
        problems.add("code", "pattern", "1 to 32 letters, digits, '-' or '_'")
    kinds = {k.value for k in HolderKind}
    if not holder_kinds or not set(holder_kinds) <= kinds:
        problems.add("holder_kinds", "choice", f"a non-empty subset of {', '.join(sorted(kinds))}")
    unknown = [d for d in disclosed if d not in DISCLOSABLE]
    if unknown:
        problems.add(
            "disclosed",
            "choice",
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(DISCLOSABLE)}",
        )
    named = set(verifiers) - {ANY_RESIDENT}
    known = set(session.scalars(select(Department.code).where(Department.code.in_(named))))
    known.update(
        session.scalars(select(Enterprise.credit_code).where(Enterprise.credit_code.in_(named)))
    )
    for i, verifier in enumerate(verifiers):
        if verifier != ANY_RESIDENT and verifier not in known:
            problems.add(
                f"verifiers[{i}]",
                "exists",
                f"{verifier!r} is neither a department code, a registered enterprise's "
                f"credit code, nor {ANY_RESIDENT!r}",
            )
    if not 1 <= retention_days <= 3650:
        problems.add("retention_days", "range", "should be between 1 and 3650")
    if not name.strip() or not name_en.strip():
        problems.add("name", "required", "a scenario needs a name and an English name")
    functions = set(session.scalars(select(Department.function).distinct()))
    if authority not in functions:
        problems.add(
            "authority",
            "exists",
            f"no department has the function {authority!r}; the authority is a department "
            f"function, one of {', '.join(sorted(functions)) or 'none yet'}",
        )
    try:
        _get_purpose(session, purpose_code)
    except NotFound:
        problems.add(
            "purpose_code", "exists", f"no purpose {purpose_code!r}; a DPO declares it first"
        )
    problems.raise_if_any()
    row = session.get(Scenario, code)
    before = None
    if row is None:
        row = Scenario(code=code)
        session.add(row)
    else:
        before = {
            "verifiers": list(row.verifiers),
            "disclosed": list(row.disclosed),
            "authority": row.authority,
        }
    row.name, row.name_en = name.strip(), name_en.strip()
    row.holder_kinds = sorted(set(holder_kinds))
    row.disclosed = list(dict.fromkeys(disclosed))
    row.verifiers = list(dict.fromkeys(verifiers))
    row.purpose_code = purpose_code
    row.retention_days = retention_days
    row.authority = authority
    row.health = health
    row.active = active
    row.updated_at = now
    session.flush()
    record_event(
        session,
        "codes.scenario.changed",
        {"scenario": code, "actor": actor, "before": before},
        now=now,
    )
    ctx._scenarios = None
    return row


def scenarios_decided_by(session: Session, principal: Principal) -> Sequence[Scenario]:
    """The scenarios whose holders this principal decides about (as their codes authority)."""
    if Role.CODES_AUTHORITY not in principal.roles or not principal.department_function:
        return []
    return session.scalars(
        select(Scenario)
        .where(Scenario.authority == principal.department_function)
        .order_by(Scenario.code)
    ).all()


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def default_scenario(
    session: Session, ctx: Coding, principal: Principal, *, now: datetime
) -> str | None:
    """The scenario a holder's page opens with: health while in use, else by age and kind."""
    rules = ctx.scenarios(session, now)
    order: tuple[str, ...]
    if principal.citizen_id is not None:
        kind = HolderKind.CITIZEN.value
        birth = session.scalar(
            select(Citizen.birth_date).where(Citizen.id == principal.citizen_id)
        )  # governance: the holder's own birth date, to choose the holder's own first code
        age = _age(birth, now.date()) if birth is not None else 30
        order = (
            _FIRST_FOR_MINORS if age < 18 else _FIRST_FOR_ELDERS if age >= 60 else _FIRST_FOR_ADULTS
        )
    elif principal.enterprise_id is not None:
        kind, order = HolderKind.ENTERPRISE.value, _FIRST_FOR_ENTERPRISES
    else:
        raise Forbidden("only residents and enterprises hold codes")
    usable = sorted(
        code for code, rule in rules.items() if rule.active and kind in rule.holder_kinds
    )
    preferred = [code for code in order if code in usable]
    chosen = preferred or usable
    return chosen[0] if chosen else None
