"""Policies: which department, function or role may read which fields of a dataset for a
purpose, their versions and what changed between them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.errors import (
    Invalid,
    NotFound,
)
from twonets.core.models import Department, Role
from twonets.governance import masking
from twonets.governance.catalogue import Catalogue, Dataset
from twonets.governance.models import (
    GovernanceChange,
    Policy,
)
from twonets.governance.models import (
    GranteeKind as GranteeKind,  # re-exported: domains set policies with it
)
from twonets.governance.models import (
    LegalBasis as LegalBasis,  # re-exported: domains define purposes with it
)
from twonets.governance.service.context import (
    OVERSIGHT_ROLES,
)
from twonets.governance.service.purposes import (
    _check_reason,
    get_purpose,
    log_change,
)

# --- policies ---------------------------------------------------------------------------------


def _policy_json(p: Policy) -> dict[str, Any]:
    return {
        "id": p.id,
        "grantee_kind": str(p.grantee_kind),
        "grantee": p.grantee,
        "purpose_code": p.purpose_code,
        "dataset": p.dataset,
        "version": p.version,
        "fields": dict(p.fields),
        "row_filter": dict(p.row_filter or {}),
        "revoked": p.revoked,
    }


def _check_grantee(session: Session, kind: GranteeKind, grantee: str) -> None:
    if kind is GranteeKind.ROLE and grantee in OVERSIGHT_ROLES:
        raise Invalid.field(
            "grantee",
            "separation-of-duties",
            f"the role {grantee} grants access or administers the platform and may not be "
            "granted reads of personal data",
        )
    if kind is GranteeKind.DEPARTMENT:
        found = session.scalar(select(Department.id).where(Department.code == grantee))
    elif kind is GranteeKind.FUNCTION:
        found = session.scalar(select(Department.id).where(Department.function == grantee).limit(1))
    else:
        found = 1 if grantee in {r.value for r in Role} else None
    if found is None:
        raise Invalid.field("grantee", "exists", f"no {kind} {grantee!r}")


def check_row_filter(dataset: Dataset, row_filter: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a row filter: ``district: own``, ``equals: {field: value}``, ``minors: include``."""
    unknown = set(row_filter) - {"district", "equals", "minors"}
    if unknown:
        raise Invalid.field(
            "row_filter",
            "known-keys",
            f"unknown keys {sorted(unknown)}; use district, equals, minors",
        )
    if "minors" in row_filter:
        if row_filter["minors"] != "include":
            raise Invalid.field("row_filter.minors", "include", "the only value is 'include'")
        if dataset.minor_field is None:
            raise Invalid.field(
                "row_filter.minors", "has-birth-date", f"dataset {dataset.name} has no birth date"
            )
    if "district" in row_filter:
        if row_filter["district"] != "own":
            raise Invalid.field("row_filter.district", "own", "the only district filter is 'own'")
        if dataset.district_field is None:
            raise Invalid.field(
                "row_filter.district", "has-district", f"dataset {dataset.name} has no district"
            )
    equals = row_filter.get("equals", {})
    if not isinstance(equals, dict):
        raise Invalid.field("row_filter.equals", "object", "should map fields to values")
    for name in equals:
        if name not in dataset.fields:
            raise Invalid.field(
                "row_filter.equals", "field-exists", f"dataset {dataset.name} has no field {name!r}"
            )
    return dict(row_filter)


def set_policy(
    session: Session,
    catalogue: Catalogue,
    *,
    actor: str,
    grantee_kind: GranteeKind,
    grantee: str,
    purpose_code: str,
    dataset: str,
    fields: Mapping[str, str],
    row_filter: Mapping[str, Any] | None = None,
    reason: str,
    now: datetime,
) -> Policy:
    """Write a new version of a policy (the previous version stays, superseded)."""
    _check_reason(reason, what="the policy changes")
    target = catalogue.get(dataset)
    get_purpose(session, purpose_code)
    _check_grantee(session, grantee_kind, grantee)
    if not fields:
        raise Invalid.field("fields", "non-empty", "grant at least one field (or revoke)")
    canonical: dict[str, str] = {}
    for name, spec in fields.items():
        if name not in target.fields:
            raise Invalid.field(
                f"fields.{name}", "field-exists", f"dataset {dataset} has no field {name!r}"
            )
        canonical[name] = masking.parse_rule(spec, field=f"fields.{name}").spec
    checked_filter = check_row_filter(target, row_filter or {})
    current = _current_policy_row(session, grantee_kind, grantee, purpose_code, dataset)
    return _write_version(
        session,
        current,
        Policy(
            grantee_kind=grantee_kind,
            grantee=grantee,
            purpose_code=purpose_code,
            dataset=dataset,
            fields=canonical,
            row_filter=checked_filter,
            revoked=False,
            reason=reason,
            created_by=actor,
            created_at=now,
        ),
        action="policy.set",
    )


def revoke_policy(
    session: Session,
    *,
    actor: str,
    grantee_kind: GranteeKind,
    grantee: str,
    purpose_code: str,
    dataset: str,
    reason: str,
    now: datetime,
) -> Policy:
    """Withdraw a grant: a new, revoked version that grants nothing."""
    _check_reason(reason, what="the grant is withdrawn")
    current = _current_policy_row(session, grantee_kind, grantee, purpose_code, dataset)
    if current is None or current.revoked:
        raise NotFound("no grant in force to revoke")
    return _write_version(
        session,
        current,
        Policy(
            grantee_kind=grantee_kind,
            grantee=grantee,
            purpose_code=purpose_code,
            dataset=dataset,
            fields={},
            row_filter={},
            revoked=True,
            reason=reason,
            created_by=actor,
            created_at=now,
        ),
        action="policy.revoked",
    )


def _write_version(
    session: Session, current: Policy | None, policy: Policy, *, action: str
) -> Policy:
    """Add ``policy`` as the next version after ``current`` (superseding it), and log it."""
    policy.version = current.version + 1 if current is not None else 1
    if current is not None:
        current.superseded_at = policy.created_at
    session.add(policy)
    session.flush()
    log_change(
        session,
        actor=policy.created_by,
        action=action,
        target=f"{policy.grantee_kind}:{policy.grantee}/{policy.purpose_code}/{policy.dataset}",
        before=_policy_json(current) if current is not None else None,
        after=_policy_json(policy),
        reason=policy.reason,
        now=policy.created_at,
    )
    return policy


def _current_policy_row(
    session: Session, kind: GranteeKind, grantee: str, purpose_code: str, dataset: str
) -> Policy | None:
    return session.scalar(
        select(Policy)
        .where(
            Policy.grantee_kind == kind,
            Policy.grantee == grantee,
            Policy.purpose_code == purpose_code,
            Policy.dataset == dataset,
        )
        .order_by(Policy.version.desc())
        .limit(1)
    )


def list_policies(session: Session, *, include_history: bool = False) -> Sequence[Policy]:
    """Policies in force (or every version), by purpose, dataset and grantee."""
    query = select(Policy).order_by(
        Policy.purpose_code, Policy.dataset, Policy.grantee_kind, Policy.grantee, Policy.version
    )
    if not include_history:
        query = query.where(Policy.superseded_at.is_(None), Policy.revoked.is_(False))
    return session.scalars(query).all()


def policy_versions(
    session: Session, *, grantee_kind: GranteeKind, grantee: str, purpose_code: str, dataset: str
) -> Sequence[Policy]:
    """Every version of one grant (grantee, purpose, dataset), oldest first."""
    return session.scalars(
        select(Policy)
        .where(
            Policy.grantee_kind == grantee_kind,
            Policy.grantee == grantee,
            Policy.purpose_code == purpose_code,
            Policy.dataset == dataset,
        )
        .order_by(Policy.version)
    ).all()


class DifferenceKind(StrEnum):
    """How one value differs between two versions."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class Difference:
    """One value that differs: ``key`` (and ``item`` within a mapping) went from/to a value."""

    key: str
    kind: DifferenceKind
    before: Any = None
    after: Any = None
    item: str | None = None


# What a newly created thing's audit record shows (the rest is in its own row).
_CREATED_KEYS = ("version", "legal_basis", "retention_days", "fields", "rows")


def change_differences(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[Difference]:
    """What an audited change did: each changed value, mappings compared entry by entry."""
    if after is None:
        return []
    if before is None:
        return [
            Difference(k, DifferenceKind.ADDED, after=after[k]) for k in _CREATED_KEYS if k in after
        ]
    out: list[Difference] = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key == "id":
            continue
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            out.extend(_mapping_differences(key, old, new))
            continue
        out.append(Difference(key, DifferenceKind.CHANGED, before=old, after=new))
    return out


def _mapping_differences(
    key: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Difference]:
    out = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new:
            out.append(Difference(key, DifferenceKind.REMOVED, before=old[name], item=name))
        elif name not in old:
            out.append(Difference(key, DifferenceKind.ADDED, after=new[name], item=name))
        elif old[name] != new[name]:
            out.append(
                Difference(
                    key, DifferenceKind.CHANGED, before=old[name], after=new[name], item=name
                )
            )
    return out


class VersionChange(StrEnum):
    """What a policy version did to the grant before it."""

    FIRST = "first"
    WITHDRAWN = "withdrawn"
    GRANTED_AGAIN = "granted-again"
    CHANGED = "changed"


def version_differences(
    before: Policy | None, after: Policy
) -> tuple[VersionChange, list[Difference]]:
    """What one policy version changed from the one before: fields (by name) and rows."""
    if before is None:
        return VersionChange.FIRST, []
    if after.revoked:
        return VersionChange.WITHDRAWN, []
    if before.revoked:
        return VersionChange.GRANTED_AGAIN, []
    differences: list[Difference] = []
    # The new version's order first, then what it dropped.
    for name in [*after.fields, *(n for n in before.fields if n not in after.fields)]:
        old, new = before.fields.get(name), after.fields.get(name)
        if old == new:
            continue
        if old is None:
            differences.append(Difference("fields", DifferenceKind.ADDED, after=new, item=name))
        elif new is None:
            differences.append(Difference("fields", DifferenceKind.REMOVED, before=old, item=name))
        else:
            differences.append(
                Difference("fields", DifferenceKind.CHANGED, before=old, after=new, item=name)
            )
    if (before.row_filter or {}) != (after.row_filter or {}):
        differences.append(
            Difference(
                "row_filter",
                DifferenceKind.CHANGED,
                before=dict(before.row_filter or {}),
                after=dict(after.row_filter or {}),
            )
        )
    return VersionChange.CHANGED, differences


def list_changes(session: Session, *, limit: int = 100) -> Sequence[GovernanceChange]:
    """The newest governance changes, by when they took effect (newest first).

    Changes are dated by their own ``at``, which need not follow insertion order (the demo
    and imports write backdated changes), so the order is by date, then by insertion.
    """
    return session.scalars(
        select(GovernanceChange)
        .order_by(GovernanceChange.at.desc(), GovernanceChange.id.desc())
        .limit(limit)
    ).all()
