"""Issuing and changing licences: who may (the issuing department, or a delegate of its
region), under which region's keys, and the history every change leaves."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.core.events import record_event
from twonets.core.ids import InvalidIdentifier
from twonets.core.models import Citizen, Department, Enterprise, Role
from twonets.licences import catalogue
from twonets.licences.dates import add_years
from twonets.licences.identifiers import make_licence_id, validate_licence_id
from twonets.licences.models import (
    Licence,
    LicenceAction,
    LicenceDelegation,
    LicenceHistory,
    LicenceStatus,
)
from twonets.licences.service.context import DATASET, Licensing
from twonets.licences.service.positions import status_positions
from twonets.trust import service as trust


def _require_staff(principal: Principal) -> str:
    """The caller's department, if the caller is staff of one (the role named, not implied)."""
    if Role.STAFF not in principal.roles or principal.department_code is None:
        raise Forbidden(
            "licences are issued and changed by staff of a department (role staff); "
            "administrators administer accounts and settings, they do not issue"
        )
    return principal.department_code


def _issuing_department(
    session: Session, principal: Principal, kind: catalogue.LicenceType
) -> Department:
    code = _require_staff(principal)
    if principal.department_function != kind.issuer_function:
        raise Forbidden(
            f"{kind.name_en} licences are issued by {kind.issuer_function} departments, "
            f"not by {code}"
        )
    department = session.scalar(select(Department).where(Department.code == code))
    assert department is not None
    if not department.credit_code:
        raise Invalid.field(
            "department", "credit-code", f"{department.code} has no credit code to issue under"
        )
    return department


def types_issued_by(principal: Principal) -> list[catalogue.LicenceType]:
    """The licence types the caller may issue: those of its department's function, if staff."""
    if Role.STAFF not in principal.roles or principal.department_function is None:
        return []
    return [t for t in catalogue.TYPES if t.issuer_function == principal.department_function]


def issuing_types(principal: Principal) -> list[catalogue.LicenceType]:
    """The licence types the caller issues; refused when its department issues none."""
    types = types_issued_by(principal)
    if not types:
        raise Forbidden(
            "your department issues no licence types; licences are issued by the staff of "
            "the department whose function issues them (police, market regulation, ...)"
        )
    return types


def _delegated(session: Session, licence: Licence, department_code: str) -> frozenset[str]:
    """What the region's policy lets ``department_code`` change of this licence's kind."""
    row = session.scalar(
        select(LicenceDelegation).where(  # governance: the region's policy, not a person's data
            LicenceDelegation.region_code == licence.region_code,
            LicenceDelegation.type_code == licence.type_code,
            LicenceDelegation.issuer_department_code == licence.issuer_department_code,
            LicenceDelegation.delegate_department_code == department_code,
        )
    )
    return frozenset(row.actions.split(",")) if row is not None else frozenset()


def _check_authority(
    session: Session, principal: Principal, licence: Licence, change: str | None
) -> None:
    """Refuse unless the caller's department issued ``licence`` or is delegated ``change``.

    ``change`` None asks only to see the licence's metadata and history, which any
    delegation allows. A department of another region is never the issuer nor a delegate.
    """
    department = _require_staff(principal)
    if principal.region_code != licence.region_code:
        raise Forbidden(
            f"licence {licence.identifier} is of region {licence.region_code}; a department "
            f"of region {principal.region_code} never changes or sees it"
        )
    if department == licence.issuer_department_code:
        return
    allowed = _delegated(session, licence, department)
    if allowed and (change is None or change in allowed):
        return
    doing = "see" if change is None else change
    raise Forbidden(
        f"only the issuing department {licence.issuer_department_code}, or a department "
        f"that region {licence.region_code} names for {licence.type_code} licences, may "
        f"{doing} licence {licence.identifier}; {department} is neither"
    )


def _record(
    session: Session,
    licence: Licence,
    principal: Principal,
    *,
    action: LicenceAction,
    from_status: LicenceStatus | None,
    reason: str | None,
    now: datetime,
) -> None:
    """Add one entry to the licence's history, in the caller's transaction."""
    session.add(
        LicenceHistory(
            licence_id=licence.id,
            action=action,
            from_status=from_status,
            to_status=licence.status,
            version=licence.version,
            actor=principal.username,
            department_code=principal.department_code,
            reason=reason,
            at=now,
        )
    )


def _holder(
    session: Session, kind: catalogue.LicenceType, claims: dict[str, str]
) -> tuple[int | None, int | None]:
    if kind.holder is catalogue.HolderKind.CITIZEN:
        citizen_id = session.scalar(
            select(Citizen.id).where(Citizen.id_number == claims["id_number"])
        )
        if citizen_id is None:
            raise Invalid.field(
                "claims.id_number", "registered", "no registered resident has this ID number"
            )
        return citizen_id, None
    enterprise_id = session.scalar(
        select(Enterprise.id).where(Enterprise.credit_code == claims["credit_code"])
    )
    if enterprise_id is None:
        raise Invalid.field(
            "claims.credit_code", "registered", "no registered enterprise has this credit code"
        )
    return None, enterprise_id


def _free_position(session: Session, region: str) -> tuple[int, int]:
    """A free (list, index) of the region's current list, or of its next one (``positions``)."""
    return status_positions(session, region, 1)[0]


def issue_licence(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    type_code: str,
    claims: dict[str, Any],
    valid_from: date,
    valid_until: date | None = None,
    now: datetime,
) -> Licence:
    """Issue a licence of ``type_code`` to the holder its claims name.

    The licence is of the issuing department's region and signed under that region's keys;
    the caller does not choose. A platform holding no keys of that region cannot issue.
    """
    _require_staff(principal)
    kind = catalogue.get_type(type_code)
    department = _issuing_department(session, principal, kind)
    region = department.region_code
    if not trust.holds_region(session, region):
        raise Conflict(
            f"this platform holds no signing keys of region {region}, the region of "
            f"{department.code}: its licences are issued where its region's keys are"
        )
    checked = kind.check(claims)
    if valid_until is None and kind.validity_years:
        valid_until = add_years(valid_from, kind.validity_years)
    if valid_until is not None and valid_until <= valid_from:
        raise Invalid.field("valid_until", "after-valid-from", "should be after valid_from")
    citizen_id, enterprise_id = _holder(session, kind, checked)
    if kind.one_per_holder:
        holder = (
            Licence.citizen_id == citizen_id
            if citizen_id is not None
            else Licence.enterprise_id == enterprise_id
        )
        in_force = session.scalar(
            select(Licence.identifier).where(
                Licence.type_code == type_code,
                holder,
                Licence.status.in_([LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED]),
            )
        )
        if in_force is not None:
            raise Conflict(
                f"the holder already has a {kind.name_en} in force ({in_force}); "
                "amend it, or revoke it first"
            )
    assert department.credit_code is not None
    # Concurrent issues by one department take their numbers in turn, not the same max + 1
    # twice: a no-op write to the department's row takes its row lock (PostgreSQL) or the
    # database's write lock (SQLite) before the number is read.
    session.execute(
        update(Department)
        .where(Department.id == department.id)
        .values(code=Department.code)
        .execution_options(synchronize_session=False)
    )
    number = 1 + int(
        session.scalar(
            select(func.max(Licence.number)).where(
                Licence.type_code == type_code,
                Licence.issuer_credit_code == department.credit_code,
            )
        )
        or 0
    )
    status_list, status_index = _free_position(session, region)
    licence = Licence(
        identifier=make_licence_id(type_code, department.credit_code, number, 1),
        type_code=type_code,
        number=number,
        version=1,
        region_code=region,
        issuer_department_code=department.code,
        issuer_credit_code=department.credit_code,
        citizen_id=citizen_id,
        enterprise_id=enterprise_id,
        claims=ctx.keyring(session).seal(
            DATASET, "claims", json.dumps(checked, ensure_ascii=False)
        ),
        status=LicenceStatus.ACTIVE,
        status_list=status_list,
        status_index=status_index,
        valid_from=valid_from,
        valid_until=valid_until,
        issued_at=now,
    )
    session.add(licence)
    session.flush()
    _record(
        session,
        licence,
        principal,
        action=LicenceAction.ISSUED,
        from_status=None,
        reason=None,
        now=now,
    )
    record_event(
        session, "licences.licence.issued", {"licence_id": licence.id, "type": type_code}, now=now
    )
    return licence


def get_licence(session: Session, licence_id: int) -> Licence:
    """One licence by id."""
    licence = session.get(Licence, licence_id)  # governance: issuer's or holder's own record
    if licence is None:
        raise NotFound(f"licence {licence_id} does not exist")
    return licence


def find_issued_licence(session: Session, principal: Principal, identifier: str) -> Licence:
    """A licence by identifier, for the department that issued it (or a delegate)."""
    licence = find_licence(session, identifier)
    _check_authority(session, principal, licence, None)
    return licence


def get_issued_licence(session: Session, principal: Principal, licence_id: int) -> Licence:
    """A licence by id, for the department that issued it (or a delegate)."""
    licence = get_licence(session, licence_id)
    _check_authority(session, principal, licence, None)
    return licence


def find_licence(session: Session, identifier: str) -> Licence:
    """A licence by its structured identifier, checked (type, issuer, check character) first."""
    try:
        normalised = validate_licence_id(identifier)
    except InvalidIdentifier as exc:
        raise Invalid.field("identifier", "licence-identifier", exc.reason) from None
    by_id = select(Licence).where(Licence.identifier == normalised)  # governance: issuer's own
    licence = session.scalar(by_id)
    if licence is None:
        raise NotFound(f"no licence {normalised}")
    return licence


def amend_licence(
    session: Session,
    ctx: Licensing,
    principal: Principal,
    *,
    licence_id: int,
    claims: dict[str, Any],
    reason: str,
    now: datetime,
) -> Licence:
    """A new version with changed claims; the old version stops verifying (superseded)."""
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why the licence is amended")
    old = get_licence(session, licence_id)
    _check_authority(session, principal, old, "amend")
    if old.status not in (LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED):
        raise Conflict(f"licence {old.identifier} is {old.status} and cannot be amended")
    kind = catalogue.get_type(old.type_code)
    checked = kind.check(claims)
    citizen_id, enterprise_id = _holder(session, kind, checked)
    if (citizen_id, enterprise_id) != (old.citizen_id, old.enterprise_id):
        raise Invalid.field("claims", "same-holder", "an amendment cannot change the holder")
    was = old.status
    old.status = LicenceStatus.SUPERSEDED
    old.status_changed_at = now
    old.status_reason = reason
    status_list, status_index = _free_position(session, old.region_code)
    new = Licence(
        identifier=make_licence_id(
            old.type_code, old.issuer_credit_code, old.number, old.version + 1
        ),
        type_code=old.type_code,
        number=old.number,
        version=old.version + 1,
        region_code=old.region_code,
        issuer_department_code=old.issuer_department_code,
        issuer_credit_code=old.issuer_credit_code,
        citizen_id=old.citizen_id,
        enterprise_id=old.enterprise_id,
        claims=ctx.keyring(session).seal(
            DATASET, "claims", json.dumps(checked, ensure_ascii=False)
        ),
        status=LicenceStatus.ACTIVE,
        status_list=status_list,
        status_index=status_index,
        valid_from=old.valid_from,
        valid_until=old.valid_until,
        issued_at=now,
        supersedes_id=old.id,
    )
    session.add(new)
    session.flush()
    _record(
        session,
        old,
        principal,
        action=LicenceAction.SUPERSEDED,
        from_status=was,
        reason=reason,
        now=now,
    )
    _record(
        session,
        new,
        principal,
        action=LicenceAction.AMENDED,
        from_status=None,
        reason=reason,
        now=now,
    )
    record_event(session, "licences.licence.amended", {"licence_id": new.id}, now=now)
    return new


TRANSITIONS = {
    "suspend": ({LicenceStatus.ACTIVE}, LicenceStatus.SUSPENDED, LicenceAction.SUSPENDED),
    "resume": ({LicenceStatus.SUSPENDED}, LicenceStatus.ACTIVE, LicenceAction.RESUMED),
    "revoke": (
        {LicenceStatus.ACTIVE, LicenceStatus.SUSPENDED},
        LicenceStatus.REVOKED,
        LicenceAction.REVOKED,
    ),
}


def change_status(
    session: Session,
    principal: Principal,
    *,
    licence_id: int,
    action: str,
    reason: str,
    now: datetime,
) -> Licence:
    """Suspend, resume or revoke a licence (revocation is final)."""
    if action not in TRANSITIONS:
        raise Invalid.field("action", "known", "should be suspend, resume or revoke")
    if not reason.strip():
        raise Invalid.field("reason", "required", "say why")
    licence = get_licence(session, licence_id)
    _check_authority(session, principal, licence, action)
    allowed, target, recorded = TRANSITIONS[action]
    if licence.status not in allowed:
        raise Conflict(f"licence {licence.identifier} is {licence.status}; cannot {action} it")
    was = licence.status
    licence.status = target
    licence.status_changed_at = now
    licence.status_reason = reason
    _record(session, licence, principal, action=recorded, from_status=was, reason=reason, now=now)
    record_event(session, f"licences.licence.{target}", {"licence_id": licence.id}, now=now)
    return licence


def licence_summary(licence: Licence) -> dict[str, Any]:
    """A licence's metadata, without its claims: what staff and change responses get."""
    kind = catalogue.get_type(licence.type_code)
    return {
        "id": licence.id,
        "identifier": licence.identifier,
        "type": kind.code,
        "type_name": kind.name,
        "type_name_en": kind.name_en,
        "version": licence.version,
        "region": licence.region_code,
        "issuer_department": licence.issuer_department_code,
        "status": str(licence.status),
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "issued_at": licence.issued_at.isoformat(),
        "status_changed_at": (
            licence.status_changed_at.isoformat() if licence.status_changed_at else None
        ),
    }


def history_rows(session: Session, licence: Licence) -> list[tuple[LicenceHistory, str]]:
    """Every entry of every version of ``licence`` (the same type, issuer and number), oldest
    first, with the identifier of the version each entry is about."""
    rows = session.execute(
        select(LicenceHistory, Licence.identifier)  # governance: for the issuer or the holder
        .join(Licence, Licence.id == LicenceHistory.licence_id)
        .where(
            Licence.type_code == licence.type_code,
            Licence.issuer_credit_code == licence.issuer_credit_code,
            Licence.number == licence.number,
        )
        .order_by(LicenceHistory.at, LicenceHistory.id)
    ).all()
    return [(entry, identifier) for entry, identifier in rows]


def history_entry(entry: LicenceHistory, identifier: str, *, with_actor: bool) -> dict[str, Any]:
    """One history entry as JSON; ``with_actor`` names the member of staff (not for holders)."""
    out: dict[str, Any] = {
        "identifier": identifier,
        "version": entry.version,
        "action": str(entry.action),
        "from_status": str(entry.from_status) if entry.from_status is not None else None,
        "to_status": str(entry.to_status),
        "department": entry.department_code,
        "reason": entry.reason,
        "at": entry.at.isoformat(),
    }
    if with_actor:
        out["actor"] = entry.actor
    return out


def licence_history(
    session: Session, principal: Principal, *, licence_id: int
) -> list[dict[str, Any]]:
    """The history of a licence across its versions, for its issuer (or a delegate)."""
    licence = get_issued_licence(session, principal, licence_id)
    return [history_entry(e, i, with_actor=True) for e, i in history_rows(session, licence)]
