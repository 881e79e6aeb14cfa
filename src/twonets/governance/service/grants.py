"""Grants: the policy in force for a reader, a purpose and a dataset."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, and_, bindparam, null, or_, select, union_all
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import (
    Forbidden,
)
from twonets.core.prepared import Prepared
from twonets.governance.models import (
    GRANT_STAMP_ID,
    DatasetKey,
    GrantStamp,
    Policy,
    Purpose,
)
from twonets.governance.models import (
    GranteeKind as GranteeKind,  # re-exported: domains set policies with it
)
from twonets.governance.models import (
    LegalBasis as LegalBasis,  # re-exported: domains define purposes with it
)
from twonets.governance.service.context import (
    KeptGrants,
    PurposeState,
    keep_key_versions,
    kept_key_versions,
)
from twonets.governance.service.purposes import (
    purpose_state,
)


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


def _grant_rows(
    session: Session,
    candidates: Sequence[tuple[GranteeKind, str]],
    purpose_code: str,
    dataset: str,
) -> Sequence[Row[Policy, Purpose]]:
    """The candidates' policy versions for the purpose and dataset, each with the purpose."""
    if not candidates:
        return []
    parameters: dict[str, Any] = {"purpose": purpose_code, "dataset": dataset}
    for i, (kind, grantee) in enumerate(candidates):
        parameters[f"kind{i}"] = kind
        parameters[f"grantee{i}"] = grantee
    return session.execute(_grant_statement(len(candidates)), parameters).all()


def active_grant(
    session: Session, principal: Principal, purpose_code: str, dataset: str, now: datetime
) -> Policy | None:
    """``check_purpose_active`` then ``grant_for``, in one query when policies exist: the
    candidates' policy versions with their purpose (the same errors, in the same order)."""
    candidates = _grant_candidates(principal)
    rows = _grant_rows(session, candidates, purpose_code, dataset)
    if not rows:
        check_purpose_active(session, purpose_code, now)
        return None
    _check_purpose_state(rows[0][1], purpose_code, now)
    return _in_force(candidates, [policy for policy, _ in rows])


_STAMPS = cast(Table, GrantStamp.__table__)
_KEYS = cast(Table, DatasetKey.__table__)
_STAMP_ONLY = select(_STAMPS.c.stamp).where(_STAMPS.c.id == bindparam("stamp_id"))
# Run on every read, on the driver (``prepared``): the stamp alone, or the stamp (its row
# first, with no dataset) and the datasets' key versions after it, in one statement.
_STAMP = Prepared(_STAMP_ONLY)
_STAMP_AND_KEYS = Prepared(
    union_all(
        select(_STAMPS.c.stamp, null().label("dataset"), null().label("version")).where(
            _STAMPS.c.id == bindparam("stamp_id")
        ),
        select(null(), _KEYS.c.dataset, _KEYS.c.version),
    )
)


def _read_stamp(session: Session, with_key_versions: bool) -> str | None:
    """The grant stamp; the key versions too, kept for the transaction, if asked and unread.

    The session is flushed first, as the ORM does before a query: a policy written and not
    yet flushed has stamped, and the read must see it.
    """
    if session.autoflush:
        session.flush()
    if not with_key_versions or kept_key_versions(session) is not None:
        stamps = [stamp for (stamp,) in _STAMP.rows(session, stamp_id=GRANT_STAMP_ID)]
    else:
        rows = _STAMP_AND_KEYS.rows(session, stamp_id=GRANT_STAMP_ID)
        keep_key_versions(session, [(d, v) for _, d, v in rows if d is not None])
        stamps = [stamp for stamp, d, _ in rows if d is None]
    return None if not stamps or stamps[0] is None else str(stamps[0])


def kept_grant(
    session: Session,
    kept: KeptGrants,
    principal: Principal,
    purpose_code: str,
    dataset: str,
    now: datetime,
    *,
    with_key_versions: bool = False,
) -> Policy | None:
    """``active_grant``, kept across transactions while the grant stamp stays the same.

    One single-row read of the stamp per call; the grant query only when the stamp is new to
    ``kept`` (a purpose or a policy was written since, here or in another process) or the
    database has no stamp. The purpose's window is checked at ``now`` on every call. The
    policy returned is a detached copy: read it, never change or add it. With
    ``with_key_versions`` (a read of sealed fields) the datasets' key versions are read in
    the same statement, unless this transaction has read them, and kept for it
    (``Governance.keyring`` then reads nothing).
    """
    stamp = _read_stamp(session, with_key_versions)
    if stamp is None:
        return active_grant(session, principal, purpose_code, dataset, now)
    candidates = _grant_candidates(principal)
    key = (purpose_code, dataset, tuple(candidates))
    found: tuple[Purpose | None, Policy | None] | None = kept.get(stamp, key)
    if found is None:
        found = _work_out(session, candidates, purpose_code, dataset)
        kept.put(stamp, key, found)
    purpose, policy = found
    if purpose is None:
        raise Forbidden(f"no grant: purpose {purpose_code} does not exist")
    _check_purpose_state(purpose, purpose_code, now)
    return policy


def _work_out(
    session: Session,
    candidates: Sequence[tuple[GranteeKind, str]],
    purpose_code: str,
    dataset: str,
) -> tuple[Purpose | None, Policy | None]:
    """The purpose and the policy in force (detached copies), as ``active_grant`` finds them."""
    rows = _grant_rows(session, candidates, purpose_code, dataset)
    if rows:
        purpose: Purpose | None = rows[0][1]
        policy = _in_force(candidates, [p for p, _ in rows])
    else:
        purpose, policy = session.get(Purpose, purpose_code), None
    return _purpose_copy(purpose), _policy_copy(policy)


def _purpose_copy(purpose: Purpose | None) -> Purpose | None:
    """What ``purpose_state`` reads of a purpose, in an object of no session."""
    if purpose is None:
        return None
    return Purpose(
        code=purpose.code,
        status=purpose.status,
        valid_from=purpose.valid_from,
        valid_until=purpose.valid_until,
    )


def _policy_copy(policy: Policy | None) -> Policy | None:
    """What the door reads of a policy, in an object of no session."""
    if policy is None:
        return None
    return Policy(
        id=policy.id,
        grantee_kind=policy.grantee_kind,
        grantee=policy.grantee,
        purpose_code=policy.purpose_code,
        dataset=policy.dataset,
        version=policy.version,
        fields=dict(policy.fields),
        row_filter=dict(policy.row_filter or {}),
        revoked=policy.revoked,
    )


def holds_policy_for_purpose(session: Session, principal: Principal, purpose_code: str) -> bool:
    """Whether the reader holds a grant in force for ``purpose_code`` on any dataset."""
    datasets = session.scalars(
        select(Policy.dataset).where(Policy.purpose_code == purpose_code).distinct()
    ).all()
    return any(grant_for(session, principal, purpose_code, d) is not None for d in datasets)


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
