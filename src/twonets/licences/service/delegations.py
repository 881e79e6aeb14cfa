"""Delegations: the departments a region's administrator names to change another
department's licences of a type (never a department of another region)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal, principal_of
from twonets.core.errors import Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import Account, Department, Role
from twonets.licences import catalogue
from twonets.licences.models import (
    LicenceDelegation,
)
from twonets.licences.service.context import CHANGES

# --- delegations --------------------------------------------------------------------------------


def _administered_region(principal: Principal) -> str:
    """The region whose delegations the caller manages: an administrator's own region."""
    if Role.ADMIN not in principal.roles:
        raise Forbidden("only an administrator of the region manages its delegations")
    if principal.region_code is None:
        raise Forbidden("this administrator belongs to no department, so to no region")
    return principal.region_code


def administrator(session: Session, username: str) -> Principal:
    """The principal of an active administrator account, for the command line to act as."""
    account = session.scalar(
        select(Account).where(Account.username == username)  # governance: staff login name
    )
    if account is None or not account.active:
        raise NotFound(f"no active account {username!r}")
    principal = principal_of(account)
    _administered_region(principal)
    return principal


def delegation_json(row: LicenceDelegation) -> dict[str, Any]:
    """A delegation as the API and the command line show it."""
    return {
        "id": row.id,
        "region": row.region_code,
        "type": row.type_code,
        "issuer_department": row.issuer_department_code,
        "delegate_department": row.delegate_department_code,
        "actions": row.actions.split(","),
        "reason": row.reason,
        "granted_by": row.granted_by,
        "granted_at": row.granted_at.isoformat(),
    }


def delegate_changes(
    session: Session,
    principal: Principal,
    *,
    type_code: str,
    issuer_department: str,
    delegate_department: str,
    actions: Collection[str],
    reason: str,
    now: datetime,
) -> LicenceDelegation:
    """Name a department of the region that may change another's licences of a type.

    Set by an administrator of the region; setting it again replaces the actions. The issuer
    must issue that type, and the delegate must be another department of the same region.
    """
    region = _administered_region(principal)
    problems = ProblemList()
    kind = next((t for t in catalogue.TYPES if t.code == type_code), None)
    if kind is None:
        problems.add("type_code", "known", f"no licence type {type_code!r}")
    chosen = sorted(set(actions), key=CHANGES.index) if set(actions) <= set(CHANGES) else []
    if not chosen:
        problems.add("actions", "known", f"choose one or more of {', '.join(CHANGES)}")
    if not reason.strip():
        problems.add("reason", "required", "say which policy names this department")
    issuer = session.scalar(select(Department).where(Department.code == issuer_department))
    delegate = session.scalar(select(Department).where(Department.code == delegate_department))
    if issuer is None:
        problems.add("issuer_department", "exists", f"no department {issuer_department!r}")
    if delegate is None:
        problems.add("delegate_department", "exists", f"no department {delegate_department!r}")
    problems.raise_if_any()
    assert issuer is not None
    assert delegate is not None
    assert kind is not None
    if issuer.region_code != region:
        raise Forbidden(
            f"{issuer.code} is a department of region {issuer.region_code}; an administrator "
            f"of {region} manages the delegations of {region} only"
        )
    if issuer.function != kind.issuer_function:
        raise Invalid.field(
            "issuer_department",
            "issues-type",
            f"{issuer.code} does not issue {kind.name_en} licences "
            f"({kind.issuer_function} departments do)",
        )
    if delegate.region_code != region:
        raise Invalid.field(
            "delegate_department",
            "same-region",
            f"{delegate.code} is a department of region {delegate.region_code}; a delegate "
            f"must be a department of {region}",
        )
    if delegate.code == issuer.code:
        raise Invalid.field(
            "delegate_department", "not-issuer", "the issuing department needs no delegation"
        )
    row = session.scalar(
        select(LicenceDelegation).where(  # governance: the administrator's own region's policy
            LicenceDelegation.type_code == kind.code,
            LicenceDelegation.issuer_department_code == issuer.code,
            LicenceDelegation.delegate_department_code == delegate.code,
        )
    )
    if row is None:
        row = LicenceDelegation(
            region_code=region,
            type_code=kind.code,
            issuer_department_code=issuer.code,
            delegate_department_code=delegate.code,
        )
        session.add(row)
    row.actions = ",".join(chosen)
    row.reason = reason.strip()
    row.granted_by = principal.username
    row.granted_at = now
    session.flush()
    record_event(session, "licences.delegation.set", {"delegation_id": row.id}, now=now)
    return row


def withdraw_delegation(
    session: Session, principal: Principal, *, delegation_id: int, now: datetime
) -> None:
    """End a delegation: the delegate changes none of those licences from now on."""
    region = _administered_region(principal)
    row = session.get(LicenceDelegation, delegation_id)  # governance: the region's policy
    if row is None or row.region_code != region:
        raise NotFound(f"no delegation {delegation_id} in region {region}")
    session.delete(row)
    session.flush()
    record_event(
        session, "licences.delegation.withdrawn", {"delegation_id": delegation_id}, now=now
    )


def list_delegations(session: Session, principal: Principal) -> Sequence[LicenceDelegation]:
    """The delegations of the administrator's region."""
    region = _administered_region(principal)
    return session.scalars(
        select(LicenceDelegation)  # governance: the administrator's own region's policy
        .where(LicenceDelegation.region_code == region)
        .order_by(
            LicenceDelegation.type_code,
            LicenceDelegation.issuer_department_code,
            LicenceDelegation.delegate_department_code,
        )
    ).all()
