"""Use cases of governance: purposes, policies, the one door for reads, reports, retention.

``read`` is the only way personal data leaves the database for a department: it checks the
purpose, finds the policy of the reader's department (or function, or role) for that purpose
and dataset, selects only the granted fields within the row filter, opens sealed values,
masks each field by its rule, and records one ledger entry per data subject read, all in the
caller's transaction.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import repeat
from operator import itemgetter
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    Invalid,
    NotFound,
    ProblemList,
)
from twonets.core.events import record_event
from twonets.core.models import Department, Role
from twonets.governance import ledger, masking
from twonets.governance.catalogue import Catalogue, Dataset
from twonets.governance.models import (
    DatasetKey,
    GovernanceChange,
    Policy,
    Purpose,
    PurposeStatus,
)
from twonets.governance.models import (
    GranteeKind as GranteeKind,  # re-exported: domains set policies with it
)
from twonets.governance.models import (
    LegalBasis as LegalBasis,  # re-exported: domains define purposes with it
)
from twonets.governance.sealing import Keyring

SUBJECT_ACCESS = "subject.access"
# The rules of a purpose's fields (the API's schema, the pages and the demo all go through
# ``create_purpose``, which checks them).
PURPOSE_CODE_PATTERN = r"[a-z][a-z0-9-]*(\.[a-z0-9-]+)+"
PURPOSE_CODE_MAX = 64
PURPOSE_NAME_MAX = 128
RETENTION_MAX_DAYS = 36_500
REASON_MAX = 2000
# Separation of duties: the roles that grant access (dpo) or administer the platform (admin)
# never read personal data, and are never granted it.
OVERSIGHT_ROLES = frozenset({Role.DPO, Role.ADMIN})
MAX_READ_ROWS = 1000
MAX_EXPORT_ROWS = 100_000
MINOR_AGE = 14


class PurposeState(StrEnum):
    """Whether a purpose grants anything at a given time."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"


KEY_VERSIONS_INFO = "twonets.governance.key_versions"


_KEY_VERSIONS = select(DatasetKey.dataset, DatasetKey.version)


@dataclass
class Governance:
    """What the door needs besides a session: the catalogue and the root secret's keys."""

    catalogue: Catalogue
    root_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        self.signer = ledger.LedgerSigner(self.root_secret)
        self._keyrings: dict[tuple[tuple[str, int], ...], Keyring] = {}

    def keyring(self, session: Session) -> Keyring:
        """The keyring at each dataset's current key version (read once per session: rotation).

        The versions are read on a transaction's first use and kept in ``session.info`` for
        the rest of that transaction (a request, a batch): sealing or opening a thousand
        values reads them once. A new transaction reads them again, and
        ``keys.rotate_dataset_key`` forgets them in its own.
        """
        transaction = session.get_transaction()
        kept = session.info.get(KEY_VERSIONS_INFO)
        if transaction is not None and kept is not None and kept[0] is transaction:
            versions: tuple[tuple[str, int], ...] = kept[1]
        else:
            rows = session.execute(_KEY_VERSIONS).all()
            versions = tuple(sorted((str(d), int(v)) for d, v in rows))
            session.info[KEY_VERSIONS_INFO] = (session.get_transaction(), versions)
        keyring = self._keyrings.get(versions)
        if keyring is None:
            # Derived keys are cached inside a keyring; keep one per set of versions.
            keyring = Keyring(self.root_secret, dict(versions))
            self._keyrings = {versions: keyring}
        return keyring


# --- separation of duties ---------------------------------------------------------------------


def check_officer(principal: Principal) -> None:
    """Only a data protection officer keeps purposes, policies and the ledger's review.

    An administrator is not one: administration and data protection are separate roles.
    """
    if Role.DPO not in principal.roles:
        raise Forbidden(
            "this needs the role dpo (data protection officer); administration is a separate role",
            extra={"rule": "separation-of-duties"},
        )


def check_may_read(principal: Principal) -> None:
    """Refuse a reader holding a role that grants access or administers the platform."""
    held = sorted(r.value for r in principal.roles & OVERSIGHT_ROLES)
    if held:
        raise Forbidden(
            "separation of duties: an account holding the role "
            f"{' and '.join(held)} grants access or administers the platform, and reads no "
            "personal data; read with a member of staff's account",
            extra={"rule": "separation-of-duties", "roles": held},
        )


def grantable_roles() -> list[Role]:
    """The roles a policy may grant reads to: every role but those that grant or administer."""
    return [role for role in Role if role not in OVERSIGHT_ROLES]


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


def _grant_candidates(principal: Principal) -> list[tuple[GranteeKind, str]]:
    """Who a reader's policy may name, in order: its department, its function, its roles."""
    candidates: list[tuple[GranteeKind, str]] = []
    if principal.department_code:
        candidates.append((GranteeKind.DEPARTMENT, principal.department_code))
    if principal.department_function:
        candidates.append((GranteeKind.FUNCTION, principal.department_function))
    candidates.extend((GranteeKind.ROLE, r.value) for r in sorted(principal.roles))
    return candidates


def _policies_of(
    candidates: Sequence[tuple[GranteeKind, str]], purpose_code: str, dataset: str
) -> Select[Any]:
    return select(Policy).where(
        Policy.purpose_code == purpose_code,
        Policy.dataset == dataset,
        or_(*(and_(Policy.grantee_kind == k, Policy.grantee == g) for k, g in candidates)),
    )


def grant_for(
    session: Session, principal: Principal, purpose_code: str, dataset: str
) -> Policy | None:
    """The policy in force for this reader: its department's, else its function's, else a role's."""
    candidates = _grant_candidates(principal)
    if not candidates:
        return None
    # One query for every candidate's versions; the newest version of each is the one in force.
    versions = session.scalars(_policies_of(candidates, purpose_code, dataset)).all()
    return _in_force(candidates, versions)


def _in_force(
    candidates: Sequence[tuple[GranteeKind, str]], versions: Sequence[Policy]
) -> Policy | None:
    newest: dict[tuple[str, str], Policy] = {}
    for policy in versions:
        slot = (str(policy.grantee_kind), policy.grantee)
        if slot not in newest or policy.version > newest[slot].version:
            newest[slot] = policy
    for kind, grantee in candidates:
        found = newest.get((str(kind), grantee))
        if found is not None and not found.revoked:
            return found
    return None


# The statement of ``active_grant`` per number of candidates, built once with parameters
# (building and keying a statement per read costs more than running it).
_GRANT_STATEMENTS: dict[int, Select[Policy, Purpose]] = {}


def _grant_statement(count: int) -> Select[Policy, Purpose]:
    cached = _GRANT_STATEMENTS.get(count)
    if cached is None:
        cached = (
            select(Policy, Purpose)
            .join(Purpose, Purpose.code == Policy.purpose_code)
            .where(
                Policy.purpose_code == bindparam("purpose"),
                Policy.dataset == bindparam("dataset"),
                or_(
                    *(
                        and_(
                            Policy.grantee_kind
                            == bindparam(f"kind{i}", type_=Policy.grantee_kind.type),
                            Policy.grantee == bindparam(f"grantee{i}"),
                        )
                        for i in range(count)
                    )
                ),
            )
        )
        _GRANT_STATEMENTS[count] = cached
    return cached


def active_grant(
    session: Session, principal: Principal, purpose_code: str, dataset: str, now: datetime
) -> Policy | None:
    """``check_purpose_active`` then ``grant_for``, in one query when policies exist: the
    candidates' policy versions with their purpose (the same errors, in the same order)."""
    candidates = _grant_candidates(principal)
    parameters: dict[str, Any] = {"purpose": purpose_code, "dataset": dataset}
    for i, (kind, grantee) in enumerate(candidates):
        parameters[f"kind{i}"] = kind
        parameters[f"grantee{i}"] = grantee
    rows = (
        session.execute(_grant_statement(len(candidates)), parameters).all() if candidates else []
    )
    if not rows:
        check_purpose_active(session, purpose_code, now)
        return None
    _check_purpose_state(rows[0][1], purpose_code, now)
    return _in_force(candidates, [policy for policy, _ in rows])


def holds_policy_for_purpose(session: Session, principal: Principal, purpose_code: str) -> bool:
    """Whether the reader holds a grant in force for ``purpose_code`` on any dataset."""
    datasets = session.scalars(
        select(Policy.dataset).where(Policy.purpose_code == purpose_code).distinct()
    ).all()
    return any(grant_for(session, principal, purpose_code, d) is not None for d in datasets)


# --- the one door -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadQuery:
    """What a reader asks for: fields (default: all granted), equality filters, a page."""

    fields: Sequence[str] | None = None
    where: Mapping[str, Any] = field(default_factory=dict)
    subject_ids: Sequence[int] | None = None
    limit: int = 100
    offset: int = 0


@dataclass
class ReadResult:
    """Masked rows and what was applied to them."""

    dataset: str
    purpose: str
    request_id: str
    fields: list[str]
    masks: dict[str, str]
    rows: list[dict[str, Any]]
    policy_id: int
    policy_version: int


def subject_access_entry(
    principal: Principal,
    *,
    subject_kind: str,
    subject_id: int,
    dataset: str,
    fields: Sequence[str],
    now: datetime,
    request_id: str,
) -> dict[str, Any]:
    """The ledger record of a data subject reading their own records (``subject.access``).

    A resident's own page (their scans, their call-ups, a copy of their data) reads personal
    data without a department or purpose; the read is still recorded, so that their report
    shows it as "your own request". Pass the entries to ``ledger.record_reads``.
    """
    return {
        "read_at": now,
        "actor": principal.username,
        "department_code": None,
        "purpose_code": SUBJECT_ACCESS,
        "dataset": dataset,
        "subject_kind": subject_kind,
        "subject_ids": [subject_id],
        "fields": list(fields),
        "request_id": request_id,
        "kind": "copy",
    }


def _forbid_missing_grant(principal: Principal, purpose_code: str, dataset: str) -> Forbidden:
    who = principal.department_code or principal.username
    return Forbidden(
        f"no grant: {who} holds no policy for purpose {purpose_code} on dataset {dataset}",
        extra={
            "missing_grant": {
                "department": principal.department_code,
                "function": principal.department_function,
                "roles": sorted(r.value for r in principal.roles),
                "purpose": purpose_code,
                "dataset": dataset,
            }
        },
    )


def check_purpose_active(session: Session, purpose_code: str, now: datetime) -> Purpose:
    """The purpose, if it grants anything at ``now``; else ``Forbidden`` saying why not."""
    purpose = session.get(Purpose, purpose_code)
    if purpose is None:
        raise Forbidden(f"no grant: purpose {purpose_code} does not exist")
    return _check_purpose_state(purpose, purpose_code, now)


def _check_purpose_state(purpose: Purpose, purpose_code: str, now: datetime) -> Purpose:
    state = purpose_state(purpose, now)
    if state is PurposeState.EXPIRED:
        assert purpose.valid_until is not None
        raise Forbidden(
            f"purpose {purpose_code} expired on {purpose.valid_until.isoformat()} "
            "and grants nothing"
        )
    if state is not PurposeState.ACTIVE:
        raise Forbidden(f"purpose {purpose_code} is {state} and grants nothing")
    return purpose


def _check_filters(
    purpose: str, dataset: str, granted: Mapping[str, str], where: Mapping[str, Any]
) -> None:
    """A filter may use only a field granted in full.

    Testing a masked field for equality would reveal more than the mask shows (a partial
    phone number tested against every full number is the full number), so it is refused.
    """
    masked = sorted(
        name
        for name in where
        if masking.parse_rule(granted[name]).kind is not masking.MaskKind.KEEP
    )
    if masked:
        raise Forbidden(
            f"the policy for {purpose} on {dataset} grants {', '.join(masked)} only masked: "
            "a filter may use only fields granted in full",
            errors=[
                FieldProblem(
                    f"where.{name}",
                    "granted-in-full",
                    f"{name} is granted masked ({granted[name]}); filter only on fields "
                    "granted in full",
                )
                for name in masked
            ],
            extra={"refused_filters": masked, "rule": "filter-on-fields-granted-in-full"},
        )


def minor_cutoff(now: datetime) -> date:
    """The latest birth date of someone no longer a minor (14 or older) at ``now``."""
    today = now.date()
    try:
        return today.replace(year=today.year - MINOR_AGE)
    except ValueError:  # 29 February
        return today.replace(year=today.year - MINOR_AGE, day=28)


def _build_select(
    target: Dataset,
    columns: Sequence[str],
    policy: Policy,
    principal: Principal,
    query: ReadQuery,
    now: datetime,
) -> Select[Any]:
    table = target.table
    subject = table.c[target.subject_field]
    statement = select(subject.label("_subject"), *(table.c[c] for c in columns))
    row_filter = policy.row_filter or {}
    if row_filter.get("district") == "own":
        if not principal.district_code:
            raise Forbidden(
                "the policy limits reads to the reader's own district, "
                "and this account belongs to no district"
            )
        assert target.district_field is not None
        statement = statement.where(table.c[target.district_field] == principal.district_code)
    for name, value in (row_filter.get("equals") or {}).items():
        statement = statement.where(table.c[name] == value)
    if target.minor_field is not None and row_filter.get("minors") != "include":
        # Minors' data is sensitive: only a policy that names them reads their rows.
        statement = statement.where(table.c[target.minor_field] <= minor_cutoff(now))
    for name, value in query.where.items():
        if name in target.sealed_fields:
            raise Invalid.field(f"where.{name}", "not-sealed", "sealed fields cannot be filtered")
        statement = statement.where(table.c[name] == value)
    if query.subject_ids is not None:
        statement = statement.where(subject.in_(list(query.subject_ids)))
    # Subject first, then the primary key: pages are stable across calls.
    order = [subject, *(c for c in table.primary_key.columns if c is not subject)]
    return statement.order_by(*order).limit(query.limit).offset(query.offset)


def open_and_mask(
    session: Session,
    gov: Governance,
    principal: Principal,
    purpose: str,
    target: Dataset,
    rows: Sequence[Any],
    rules: Mapping[str, masking.MaskRule],
) -> list[dict[str, Any]]:
    """Rows selected as (subject, *fields in ``rules``' order), opened and masked by ``rules``."""
    wanted = list(rules)
    needs_keys = any(f in target.sealed_fields for f in wanted) or any(
        r.kind is masking.MaskKind.PSEUDONYM for r in rules.values()
    )
    keyring = gov.keyring(session) if needs_keys else None
    # Pseudonyms are keyed per department and purpose: two departments cannot join them.
    key = (
        keyring.pseudonym_key(principal.department_code or principal.username, purpose)
        if keyring is not None
        else None
    )
    sealed = set(target.sealed_fields)
    # Work out once per read what each column needs (opening, masking, or nothing), then
    # open and mask a column at a time: one loop per column, not a call per value.
    plan = [
        (
            i,
            name,
            name in sealed,
            None
            if rules[name].kind is masking.MaskKind.KEEP
            else masking.column_masker(rules[name], pseudonym_key=key, field=name),
        )
        for i, name in enumerate(wanted, start=1)
    ]
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    opened: list[Sequence[Any]] = []
    for i, name, is_sealed, mask in plan:
        column: Sequence[Any] = columns[i]
        if is_sealed:
            assert keyring is not None
            column = keyring.unseal_many(target.name, name, column)
        if mask is not None:
            column = mask(column)
        opened.append(column)
    names = ("subject_id", *wanted)
    return list(map(dict, map(zip, repeat(names), zip(columns[0], *opened, strict=True))))


def record_subject_reads(
    session: Session,
    principal: Principal,
    *,
    purpose: str,
    target: Dataset,
    rows: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
    request_id: str,
    kind: str,
    now: datetime,
) -> list[int]:
    """Record one ledger entry per data subject among ``rows`` (however many rows each had)."""
    subjects = list(dict.fromkeys(map(int, map(itemgetter("subject_id"), rows))))
    if subjects:
        ledger.record_reads(
            session,
            [
                {
                    "read_at": now,
                    "actor": principal.username,
                    "department_code": principal.department_code,
                    "purpose_code": purpose,
                    "dataset": target.name,
                    "subject_kind": target.subject_kind,
                    "subject_ids": subjects,
                    "fields": list(fields),
                    "request_id": request_id,
                    "kind": kind,
                }
            ],
        )
    return subjects


def read(
    session: Session,
    gov: Governance,
    principal: Principal,
    *,
    purpose: str,
    dataset: str,
    query: ReadQuery | None = None,
    now: datetime,
    request_id: str | None = None,
    kind: str = "read",
    max_rows: int = MAX_READ_ROWS,
) -> ReadResult:
    """The one door: masked rows of ``dataset`` for ``purpose``, each subject's read recorded."""
    check_may_read(principal)
    query = query or ReadQuery()
    if not 1 <= query.limit <= max_rows:
        raise Invalid.field("limit", "range", f"should be between 1 and {max_rows}")
    target = gov.catalogue.get(dataset)
    policy = active_grant(session, principal, purpose, dataset, now)
    if policy is None:
        raise _forbid_missing_grant(principal, purpose, dataset)
    granted = dict(policy.fields)
    wanted = list(query.fields) if query.fields is not None else list(granted)
    refused = [f for f in wanted if f not in granted]
    refused += [f for f in query.where if f not in granted]
    if refused:
        names = ", ".join(sorted(set(refused)))
        raise Forbidden(
            f"the policy for {purpose} on {dataset} does not grant: {names}",
            extra={"refused_fields": sorted(set(refused))},
        )
    _check_filters(purpose, dataset, granted, query.where)
    rows = session.execute(_build_select(target, wanted, policy, principal, query, now)).all()
    rules = {name: masking.parse_rule(granted[name]) for name in wanted}
    out = open_and_mask(session, gov, principal, purpose, target, rows, rules)
    request_id = request_id or str(uuid.uuid4())
    record_subject_reads(
        session,
        principal,
        purpose=purpose,
        target=target,
        rows=out,
        fields=wanted,
        request_id=request_id,
        kind=kind,
        now=now,
    )
    return ReadResult(
        dataset=dataset,
        purpose=purpose,
        request_id=request_id,
        fields=wanted,
        masks={name: rules[name].spec for name in wanted},
        rows=out,
        policy_id=policy.id,
        policy_version=policy.version,
    )


def export(
    session: Session,
    gov: Governance,
    principal: Principal,
    *,
    purpose: str,
    dataset: str,
    query: ReadQuery,
    now: datetime,
) -> tuple[str, str]:
    """A CSV export through the same door, watermarked with requester and purpose; logged."""
    result = read(
        session,
        gov,
        principal,
        purpose=purpose,
        dataset=dataset,
        query=query,
        now=now,
        kind="export",
        max_rows=MAX_EXPORT_ROWS,
    )
    mark = hmac.new(
        gov.root_secret, f"export:{result.request_id}".encode(), hashlib.sha256
    ).hexdigest()[:16]
    watermark = (
        f"exported by {principal.username} ({principal.department_code}) for {purpose} "
        f"at {now.isoformat()}; request {result.request_id}; mark {mark}"
    )
    buffer = io.StringIO()
    buffer.write(f"# {watermark}\n")
    writer = csv.writer(buffer)
    writer.writerow(["subject_id", *result.fields, "watermark"])
    for row in result.rows:
        writer.writerow([row["subject_id"], *(row[f] for f in result.fields), mark])
    log_change(
        session,
        actor=principal.username,
        action="export.made",
        target=f"{purpose}/{dataset}",
        before=None,
        after={"rows": len(result.rows), "request_id": result.request_id},
        reason=watermark,
        now=now,
    )
    return buffer.getvalue(), watermark
