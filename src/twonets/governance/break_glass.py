"""Break-glass reads: a read outside every policy, for an emergency, reviewed afterwards.

A policy cannot foresee every emergency: an unconscious patient whose next of kin must be
called, a missing child. Then a member of staff may *break the glass*: read the fields they
name, of at most ``MAX_SUBJECTS`` data subjects they name, for a purpose they work under,
beyond what their policy grants, giving a reason. The rules:

- **Who.** A member of staff whose department, function or role holds a policy in force for
  the purpose (on any dataset): people who already work under that purpose, extending their
  reach for one case. Never an account holding ``dpo`` or ``admin`` (separation of duties),
  never a resident, and never under a purpose that is suspended or has ended.
- **What.** Public and personal fields in full. Sensitive fields (health, whereabouts,
  biometrics, ...; sealed at rest) only where the reader's own policy for that purpose and
  dataset grants them, masked as it says; rows of children under 14 only where it includes
  them. Breaking the glass widens *which* ordinary fields and records one sees, not the
  protection of sensitive data.
- **Recorded.** Each subject read is a ledger entry of kind ``break-glass`` (hashed into the
  leaf like every entry, so the flag cannot be removed unnoticed); the residents see it in
  their report. A ``BreakGlassRead`` row keeps the reason for the data protection officer,
  whose overview lists every unreviewed one until the officer marks it reviewed with a note.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound, ProblemList
from twonets.core.events import record_event
from twonets.core.models import AccountKind
from twonets.core.privacy import DataClass
from twonets.governance import masking
from twonets.governance.models import BreakGlassRead
from twonets.governance.service import (
    REASON_MAX,
    Governance,
    check_may_read,
    check_officer,
    check_purpose_active,
    grant_for,
    holds_policy_for_purpose,
    log_change,
    minor_cutoff,
    open_and_mask,
    record_subject_reads,
)

KIND = "break-glass"
MAX_SUBJECTS = 5
# Enough for a sentence that says what the emergency is ("unconscious patient at ...").
MIN_REASON = 20
MIN_NOTE = 5
# A subject may have many rows (scans, visits): a break-glass read is for a case, not a list.
MAX_ROWS = 200
_KEEP = masking.MaskRule(masking.MaskKind.KEEP)


@dataclass
class BreakGlassResult:
    """What a break-glass read returned, and the record the officer will review."""

    id: int
    request_id: str
    dataset: str
    purpose: str
    fields: list[str]
    masks: dict[str, str]
    rows: list[dict[str, Any]]


def _check_request(
    reason: str, subject_ids: Sequence[int], fields: Sequence[str], known: Sequence[str]
) -> list[int]:
    """The request's own rules, every broken one named; the distinct subjects."""
    problems = ProblemList()
    if len(reason.strip()) < MIN_REASON:
        problems.add(
            "reason",
            "length",
            f"say what the emergency is, in at least {MIN_REASON} characters",
        )
    elif len(reason) > REASON_MAX:
        problems.add("reason", "length", f"should be {REASON_MAX} characters at most")
    subjects = list(dict.fromkeys(int(s) for s in subject_ids))
    if not 1 <= len(subjects) <= MAX_SUBJECTS:
        problems.add(
            "subject_ids",
            "range",
            f"name 1 to {MAX_SUBJECTS} people or firms (a break-glass read is for one case)",
        )
    if not fields:
        problems.add("fields", "non-empty", "name the fields the emergency needs")
    for name in fields:
        if name not in known:
            problems.add(f"fields.{name}", "field-exists", f"the dataset has no field {name!r}")
    problems.raise_if_any()
    return subjects


def check_may_break_glass(
    session: Session, principal: Principal, *, purpose: str, now: datetime
) -> None:
    """Refuse anyone but staff holding a policy in force for ``purpose`` (never dpo or admin)."""
    check_may_read(principal)
    if principal.kind is not AccountKind.STAFF or principal.department_code is None:
        raise Forbidden(
            "break-glass: only a member of a department's staff may break the glass",
            extra={"rule": "break-glass-staff"},
        )
    check_purpose_active(session, purpose, now)
    if not holds_policy_for_purpose(session, principal, purpose):
        raise Forbidden(
            f"break-glass: {principal.department_code} holds no policy for purpose {purpose}; "
            "only staff who work under a purpose may break the glass for it",
            extra={"rule": "break-glass-holds-purpose", "purpose": purpose},
        )


def break_glass_read(
    session: Session,
    gov: Governance,
    principal: Principal,
    *,
    purpose: str,
    dataset: str,
    subject_ids: Sequence[int],
    fields: Sequence[str],
    reason: str,
    now: datetime,
    request_id: str | None = None,
) -> BreakGlassResult:
    """Read named fields of a few named subjects outside the policy; flagged for review."""
    check_may_break_glass(session, principal, purpose=purpose, now=now)
    target = gov.catalogue.get(dataset)
    subjects = _check_request(reason, subject_ids, fields, list(target.fields))
    policy = grant_for(session, principal, purpose, dataset)
    granted = dict(policy.fields) if policy is not None else {}
    wanted = list(dict.fromkeys(fields))
    sensitive = [f for f in wanted if target.fields[f].data_class is DataClass.SENSITIVE]
    refused = [f for f in sensitive if f not in granted]
    if refused:
        raise Forbidden(
            f"break-glass: {', '.join(refused)} "
            f"{'is' if len(refused) == 1 else 'are'} sensitive, and read only as the "
            f"policy for {purpose} on {dataset} grants; it does not",
            extra={"refused_fields": refused, "rule": "break-glass-sensitive"},
        )
    rules = {
        name: masking.parse_rule(granted[name]) if name in sensitive else _KEEP for name in wanted
    }
    table = target.table
    subject = table.c[target.subject_field]
    statement = select(subject, *(table.c[name] for name in wanted)).where(subject.in_(subjects))
    minors_included = policy is not None and (policy.row_filter or {}).get("minors") == "include"
    if target.minor_field is not None and not minors_included:
        # Children's data is sensitive: the glass does not open it either.
        statement = statement.where(table.c[target.minor_field] <= minor_cutoff(now))
    order = [subject, *(c for c in table.primary_key.columns if c is not subject)]
    rows = session.execute(statement.order_by(*order).limit(MAX_ROWS)).all()
    out = open_and_mask(session, gov, principal, purpose, target, rows, rules)
    request_id = request_id or str(uuid.uuid4())
    read_ids = record_subject_reads(
        session,
        principal,
        purpose=purpose,
        target=target,
        rows=out,
        fields=wanted,
        request_id=request_id,
        kind=KIND,
        now=now,
    )
    # The officer reviews what was asked for, even where no record was found.
    record = BreakGlassRead(
        request_id=request_id,
        read_at=now,
        actor=principal.username,
        department_code=principal.department_code,
        purpose_code=purpose,
        dataset=dataset,
        subject_kind=target.subject_kind,
        subject_ids=read_ids or subjects,
        fields=wanted,
        reason=reason.strip(),
        reviewed_at=None,
        reviewed_by=None,
        review_note="",
    )
    session.add(record)
    session.flush()
    record_event(session, "governance.break-glass.read", {"id": record.id}, now=now)
    return BreakGlassResult(
        id=record.id,
        request_id=request_id,
        dataset=dataset,
        purpose=purpose,
        fields=wanted,
        masks={name: rule.spec for name, rule in rules.items()},
        rows=out,
    )


def list_break_glass(
    session: Session, *, pending_only: bool = False, actor: str | None = None, limit: int = 100
) -> Sequence[BreakGlassRead]:
    """Break-glass reads (of one reader, if named), unreviewed first, newest first within each."""
    query = select(BreakGlassRead)
    if actor is not None:
        query = query.where(BreakGlassRead.actor == actor)
    if pending_only:
        query = query.where(BreakGlassRead.reviewed_at.is_(None))
    reviewed_last = BreakGlassRead.reviewed_at.is_not(None)
    return session.scalars(
        query.order_by(
            reviewed_last, BreakGlassRead.read_at.desc(), BreakGlassRead.id.desc()
        ).limit(limit)
    ).all()


def count_unreviewed(session: Session) -> int:
    """How many break-glass reads wait for the officer's review."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BreakGlassRead)
            .where(BreakGlassRead.reviewed_at.is_(None))
        )
        or 0
    )


def review_break_glass(
    session: Session, principal: Principal, *, read_id: int, note: str, now: datetime
) -> BreakGlassRead:
    """The data protection officer marks a break-glass read reviewed, with a note."""
    check_officer(principal)
    note = note.strip()
    if len(note) < MIN_NOTE:
        raise Invalid.field(
            "note", "length", f"say what the review found, in at least {MIN_NOTE} characters"
        )
    if len(note) > REASON_MAX:
        raise Invalid.field("note", "length", f"should be {REASON_MAX} characters at most")
    record = session.get(BreakGlassRead, read_id)
    if record is None:
        raise NotFound(f"break-glass read {read_id} does not exist")
    if record.reviewed_at is not None:
        raise Conflict(f"break-glass read {read_id} was already reviewed by {record.reviewed_by}")
    record.reviewed_at = now
    record.reviewed_by = principal.username
    record.review_note = note
    session.flush()
    log_change(
        session,
        actor=principal.username,
        action="break-glass.reviewed",
        target=f"break-glass/{read_id}",
        before=None,
        after={
            "read_by": record.actor,
            "purpose": record.purpose_code,
            "request_id": record.request_id,
        },
        reason=note,
        now=now,
    )
    return record
